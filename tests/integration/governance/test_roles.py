"""Least privilege in the database: the application cannot touch the governance schema, and the workflows
can append evidence but never rewrite it (include/sql/schema/roles.sql and grants.sql)."""

from __future__ import annotations

import psycopg
import pytest

from governance import ledger

pytestmark = pytest.mark.integration

WRITES = {
    "audit_ledger": "INSERT INTO governance.audit_ledger (seq, recorded_at, workflow, action, prev_hash, entry_hash)"
                    " VALUES (99, now(), 'x', 'purge_completed', repeat('0', 64), repeat('1', 64))",
    "report_index": "INSERT INTO governance.report_index (workflow, run_id, report_type, bucket, object_key,"
                    " content_type, sha256, size_bytes) VALUES ('x', 'x', 'x', 'b', 'k', 't', repeat('0', 64), 0)",
    "legal_holds": "INSERT INTO governance.legal_holds (user_id, reason, placed_by) VALUES (1, 'x', 'x')",
    "rule_runs": "INSERT INTO governance.rule_runs (workflow, run_id, rule) VALUES ('x', 'x', 'x')",
    "release a hold": "UPDATE governance.legal_holds SET released_at = now()",
    "drop the anchors' old home": "DELETE FROM governance.report_index",
}


def as_role(db_url: str, role: str, statement: str) -> None:
    """Run `statement` with exactly the privileges of `role`."""
    with psycopg.connect(db_url) as conn:
        conn.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(role)))
        conn.execute(statement)


@pytest.mark.parametrize("what", sorted(WRITES))
def test_the_application_role_cannot_write_any_governance_table(db_url, what):
    """app_writer, the application's own role, is refused every write to the governance schema."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(db_url, "app_writer", WRITES[what])


@pytest.mark.parametrize("statement", [
    "UPDATE governance.report_index SET sha256 = repeat('f', 64)",
    "DELETE FROM governance.report_index",
    "UPDATE governance.audit_ledger SET counts = '{}'",
    "DELETE FROM governance.audit_ledger",
    "TRUNCATE governance.audit_ledger",
    "INSERT INTO governance.legal_holds (user_id, reason, placed_by) VALUES (1, 'x', 'x')",
    "UPDATE governance.legal_holds SET released_at = now()",
    "INSERT INTO app.users (user_id, email) VALUES (1, 'x@example.com')",
])
def test_the_workflow_role_cannot_rewrite_evidence_place_holds_or_add_application_data(db_url, statement):
    """governance_workflow appends to the ledger and the report index, and may never change either; holds are
    the legal team's; it never writes application rows, only deletes and pseudonymises them."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        as_role(db_url, "governance_workflow", statement)


def test_the_workflow_role_appends_and_the_auditor_role_only_reads(db_url, workflow_url, conn):
    """The workflows' log-in role can append a signed entry; the auditor role reads everything and writes nothing."""
    with psycopg.connect(workflow_url) as work:
        ledger.append(work, ledger.LedgerEntry(workflow="retention_purge", action="purge_completed"))
        work.commit()
    with psycopg.connect(db_url) as audit:
        audit.execute("SET ROLE governance_auditor")
        assert audit.execute("SELECT count(*) FROM governance.audit_ledger").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            audit.execute(WRITES["legal_holds"])


def test_the_view_role_places_and_releases_holds_and_nothing_else(db_url, conn):
    """governance_steward (the Governance view) places and releases holds with their ledger entries; it
    cannot delete a hold, rewrite the ledger, read an email, or change application rows."""
    from governance.holds import place_hold, release_hold
    from scripts import stack

    conn.execute("INSERT INTO app.users (user_id, email) VALUES (31, 'steward@example.com')")
    conn.commit()
    with psycopg.connect(db_url.replace("postgres@", f"{stack.VIEW_ROLE}@", 1), autocommit=True) as view:
        hold = place_hold(view, user_id=31, reason="litigation", reference="CASE-1", placed_by="tester")
        assert release_hold(view, hold_id=hold.hold_id, reason="closed", reference="CASE-1", released_by="tester") == 31
    assert [row[0] for row in conn.execute("SELECT action FROM governance.audit_ledger ORDER BY seq")] == [
        "legal_hold_placed", "legal_hold_released"]
    for statement in ("DELETE FROM governance.legal_holds", "UPDATE governance.legal_holds SET user_id = 1",
                      "UPDATE governance.audit_ledger SET counts = '{}'", "SELECT email FROM app.users",
                      "DELETE FROM app.users", "DELETE FROM governance.report_index"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(db_url, "governance_steward", statement)
