"""The ledger's anchors in the reports bucket, and the gate every deleting workflow passes: an
anchor no database role can remove, and no purge on a ledger that fails verification unless an
operator says why."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.ledger_anchors import ANCHOR_PREFIX, read_anchors, write_anchor
from governance.ledger_audit import LedgerBroken, ledger_state, require_intact_ledger
from governance.storage import list_keys

pytestmark = pytest.mark.integration


def append(conn, count: int) -> None:
    for index in range(count):
        ledger.append(conn, ledger.LedgerEntry(workflow="retention_purge", action="purge_completed",
                                               run_id=f"run-{index}"))
    conn.commit()


def tamper(db_url: str, statement: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")
        admin.execute(statement)


def test_a_verified_head_is_anchored_as_a_locked_object_until_seven_years_later(conn, s3, buckets):
    """The head goes to ledger-anchors/ in the reports bucket, in COMPLIANCE mode, retained until the time it was
    verified plus exactly seven years (set as a date: some servers count a year as 365 days), and S3 refuses
    to delete it."""
    append(conn, 3)
    before = datetime.now(UTC).replace(microsecond=0)
    state = ledger_state(conn, s3, workflow="test", run_id="r1")
    assert (state["chain_ok"], state["head_seq"], state["anchor"]["locked"]) == (True, 3, True)
    [key] = list(list_keys(s3, buckets.reports, ANCHOR_PREFIX))
    assert key == f"{ANCHOR_PREFIX}000000000003-{state['head_hash']}-signed-000000000001.json"
    version = s3.head_object(Bucket=buckets.reports, Key=key)
    assert version["ObjectLockMode"] == "COMPLIANCE"
    retain_until = version["ObjectLockRetainUntilDate"]
    assert before + relativedelta(years=7) <= retain_until <= datetime.now(UTC) + relativedelta(years=7)
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=buckets.reports, Key=key, VersionId=version["VersionId"])
    assert ledger_state(conn, s3, workflow="test", run_id="r2")["anchor"]["written"] is False  # one anchor per head


def test_removing_report_rows_does_not_hide_the_removal_of_ledger_rows(conn, db_url, s3, buckets):
    """Once, anchors lived in report_index, and a role with plain grants deleted them before deleting the newest
    ledger rows. Anchors are objects now: with every report row and the last two entries gone, verification
    still fails at the first missing entry."""
    append(conn, 5)
    assert ledger_state(conn, s3, workflow="test", run_id="r1")["chain_ok"]
    tamper(db_url, "DELETE FROM governance.report_index")
    tamper(db_url, "DELETE FROM governance.audit_ledger WHERE seq >= 4")
    state = ledger_state(conn, s3, workflow="test", run_id="r2")
    assert (state["chain_ok"], state["first_broken_seq"], state["anchors_checked"]) == (False, 4, 1)
    assert state["reason"].startswith(ledger.REASON_ROW_MISSING)
    assert state["anchor"] is None  # a broken head is never anchored


def test_a_forged_anchor_makes_verification_fail_with_a_reason(conn, s3, buckets):
    """An anchor for an existing seq with another hash (someone wrote to the bucket) is a failed verification."""
    append(conn, 2)
    ledger_state(conn, s3, workflow="test", run_id="r1")
    write_anchor(s3, buckets.reports, seq=2, entry_hash="ab" * 32, signed_from=1, verified_at=datetime.now(UTC),
                 workflow="x", run_id="x")
    state = ledger_state(conn, s3, workflow="test", run_id="r2")
    assert (state["chain_ok"], state["first_broken_seq"]) == (False, 2)
    assert state["reason"].startswith(ledger.REASON_ANCHOR_CONFLICT)


def test_anchors_in_a_bucket_without_object_lock_are_written_unlocked_and_say_so(conn, s3, buckets, monkeypatch):
    """Where the bucket has no Object Lock the anchor is still written, and the state says it is not locked."""
    import uuid

    plain = f"reports-plain-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=plain)
    monkeypatch.setenv("REPORTS_BUCKET", plain)
    append(conn, 1)
    state = ledger_state(conn, s3, workflow="test", run_id="r1")
    assert state["anchor"] == {"key": f"{ANCHOR_PREFIX}000000000001-{state['head_hash']}-signed-000000000001.json",
                               "locked": False, "written": True}
    assert read_anchors(s3, plain).pairs == [(1, state["head_hash"])]


def test_a_deleting_workflow_does_not_start_on_a_broken_ledger_unless_overridden(conn, db_url, s3, buckets):
    """The gate passes an intact ledger; refuses a broken one naming the break; refuses an override without a real
    reason; and with one, records the override in the ledger before anything is deleted."""
    append(conn, 3)
    assert require_intact_ledger(conn, s3, workflow="retention_purge", run_id="r1")["chain_ok"]
    tamper(db_url, "UPDATE governance.audit_ledger SET counts = '{\"rows_deleted\": 1}' WHERE seq = 2")
    with pytest.raises(LedgerBroken, match=r"fails verification at seq 2: content changed.*ledger_override_reason"):
        require_intact_ledger(conn, s3, workflow="retention_purge", run_id="r2")
    with pytest.raises(LedgerBroken, match="must say why, in at least 10 characters"):
        require_intact_ledger(conn, s3, workflow="retention_purge", run_id="r2", override_reason="ok")
    state = require_intact_ledger(conn, s3, workflow="retention_purge", run_id="r2",
                                  override_reason="INC-7: restored row 2 from backup, reviewed by DPO")
    assert state["override_reason"].startswith("INC-7")
    conn.rollback()
    [override] = ledger.entries_for_run(conn, "retention_purge", "r2")
    assert override["action"] == "ledger_override"
    assert override["details"]["first_broken_seq"] == 2


def test_signatures_cleared_after_an_anchor_recorded_them_fail_verification(conn, db_url, s3, buckets):
    """The anchor keeps the first signed seq: once a head was anchored with signatures, a ledger whose signatures
    were all cleared fails, where a ledger that was never signed would pass."""
    append(conn, 3)
    assert ledger_state(conn, s3, workflow="test", run_id="r1")["chain_ok"]
    tamper(db_url, "UPDATE governance.audit_ledger SET entry_mac = NULL")
    state = ledger_state(conn, s3, workflow="test", run_id="r2")
    assert (state["chain_ok"], state["first_broken_seq"]) == (False, 1)
    assert state["reason"].startswith(ledger.REASON_SIGNATURE)


def test_the_verification_report_names_the_reports_whose_heads_it_checked_and_when_each_was_written(conn, s3,
                                                                                                   buckets):
    """Each anchored head the chain is checked against is listed, newest first, with when it was anchored and the
    indexed reports that recorded the same head (id, workflow, object key, created_at as the index holds it); an
    anchor no report recorded says so, and a report that recorded another hash for the same entry is not listed."""
    from governance.ledger_audit import verification_report
    from governance.reports import publish, readable_time, render_html
    from tests.report_checks import opens_with_summary

    append(conn, 3)
    purge_state = ledger_state(conn, s3, workflow="retention_purge", run_id="p1")
    for suffix in ("json", "html"):
        publish(conn, s3, workflow="retention_purge", run_id="p1", report_type="retention_purge",
                object_key=f"retention_purge/2026-11-24/p1/retention_purge.{suffix}", body=suffix.encode(),
                summary={"status": "ok", "ledger_head": purge_state["head"]})
    publish(conn, s3, workflow="elsewhere", run_id="x", report_type="x", object_key="x/x.json", body=b"x",
            summary={"ledger_head": {"seq": 3, "hash": "ef" * 32}})  # the same entry, another hash: not a match
    append(conn, 2)
    assert ledger_state(conn, s3, workflow="moderation_log_archival", run_id="a1")["head_seq"] == 5  # no report
    document = verification_report(conn, s3, "v1")
    heads = document["checked_against"]
    assert [(head["seq"], head["hash"]) for head in heads] == [(5, document["head"]["hash"]),
                                                               (3, purge_state["head_hash"])]
    assert heads[0]["reports"] == []
    indexed = conn.execute("SELECT report_id, object_key, created_at FROM governance.report_index"
                           " WHERE workflow = 'retention_purge' ORDER BY report_id").fetchall()
    assert [(r["report_id"], r["object_key"], r["created_at"], r["workflow"]) for r in heads[1]["reports"]] == [
        (report_id, key, created_at, "retention_purge") for report_id, key, created_at in indexed]
    assert all(head["anchored_at"] is not None for head in heads)
    assert "recorded by 2 reports listed below" in document["summary"]
    html = render_html("ledger_verification.html.j2", report=document).decode()
    assert opens_with_summary(document, html)
    for report_id, key, created_at in indexed:
        assert f"retention_purge, report {report_id} <code>{key}</code>, written {readable_time(created_at)}" in html
    assert "x/x.json" not in html
    assert "no indexed report records this head" in html
