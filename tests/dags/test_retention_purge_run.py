"""retention_purge run as a user runs it: `airflow dags test`, real database, real S3."""

import json
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.storage import list_keys
from tests.dags.conftest import airflow_dags_test
from tests.factories import CUTOFF

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUN_DATE = CUTOFF.isoformat()


def seed_due_rows(data):
    """An account erased long ago, a user-deleted generation, an old session, and a held person."""
    erased = data.user(deleted_at=CUTOFF - timedelta(days=45))
    data.generation(erased)
    living = data.user()
    deleted_generation = data.generation(living, deleted_at=CUTOFF - timedelta(days=2))
    old_session = data.session(living, created_at=CUTOFF - relativedelta(years=2))
    held = data.user(deleted_at=CUTOFF - timedelta(days=45))
    data.hold(held)
    data.commit()
    return {"erased": erased, "living": living, "held": held, "generation": deleted_generation, "session": old_session}


def test_scheduled_style_run_purges_reports_and_ledgers(airflow_env, data, conn, s3, buckets):
    """A real run deletes what is due, keeps the held account, writes JSON and HTML reports, indexes them,
    and leaves a verified ledger; `airflow dags test` exits 0."""
    rows = seed_due_rows(data)
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conn.rollback()
    users = conn.execute("SELECT user_id FROM app.users ORDER BY user_id").fetchall()
    assert users == [(rows["living"],), (rows["held"],)]
    assert conn.execute("SELECT count(*) FROM app.generations WHERE generation_id = %s",
                        (rows["generation"],)).fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE session_id = %s",
                        (rows["session"],)).fetchone() == (0,)
    reports = conn.execute("SELECT object_key, sha256 FROM governance.report_index ORDER BY object_key").fetchall()
    assert [key.rsplit("/", 1)[1] for key, _ in reports] == ["retention_purge.html", "retention_purge.json"]
    assert {key for key, _ in reports} <= set(list_keys(s3, buckets.reports))
    document = json.loads(s3.get_object(Bucket=buckets.reports, Key=reports[1][0])["Body"].read())
    by_rule = {rule["rule"]: rule for rule in document["rules"]}
    assert by_rule["deleted_accounts"]["rows_deleted"] == 2  # the user and the generation
    assert by_rule["deleted_accounts"]["held"] == 1
    assert document["status"] == "ok"
    assert document["ledger"]["chain_ok"] is True
    assert ledger.verify(conn).ok
    # No email or IP in what the run leaves behind: the report, the ledger, the task logs.
    ledger_text = json.dumps([list(row) for row in conn.execute("SELECT counts, details FROM governance.audit_ledger")])
    for artifact in (json.dumps(document), ledger_text, result.stdout + result.stderr):
        assert "@example.com" not in artifact
        assert "198.51.100.7" not in artifact


def test_manual_run_defaults_to_a_dry_run_preview(airflow_env, data, conn, buckets, s3):
    """Triggered by hand with the form's defaults, the purge deletes nothing and writes a preview report."""
    seed_due_rows(data)
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users").fetchone() == (3,)
    keys = list_keys(s3, buckets.reports)
    assert any(key.endswith("retention_purge_preview.html") for key in keys)
    assert conn.execute("SELECT count(*) FROM governance.audit_ledger").fetchone() == (0,)


def test_a_broken_rule_fails_the_run_but_the_others_still_purge(airflow_env, data, conn):
    """When one rule's column is missing, the run exits non-zero naming it, and the other rules still ran."""
    old_session = seed_due_rows(data)["session"]
    conn.execute("ALTER TABLE app.payments RENAME COLUMN billing_country TO country_code")
    conn.commit()
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert result.returncode != 0
    assert "column app.payments.billing_country does not exist" in result.stdout + result.stderr
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE session_id = %s", (old_session,)).fetchone() == (0,)
    error = conn.execute("SELECT error FROM governance.purge_runs WHERE rule = 'payments'").fetchone()[0]
    assert "billing_country" in error
