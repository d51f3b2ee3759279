"""retention_purge run as a user runs it: `airflow dags test`, real database, real S3, logs at INFO."""

import json
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.storage import list_keys
from tests.conftest import LEDGER_KEY
from tests.dags.conftest import METADATA_DB, airflow_dags_test
from tests.factories import CUTOFF

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUN_DATE = CUTOFF.isoformat()
ASSET = "retention_purge_completed"
PLANTED_EMAIL = "leaky.person@example.com"
PLANTED_IP = "203.0.113.77"


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


def asset_events(stack_env) -> int:
    """How many times the purge's Asset was updated, in the tests' Airflow metadata database."""
    from scripts import stack

    with psycopg.connect(stack.SETTINGS.dsn(METADATA_DB)) as meta:
        return meta.execute("SELECT count(*) FROM asset_event AS e JOIN asset AS a ON a.id = e.asset_id"
                            " WHERE a.name = %s", (ASSET,)).fetchone()[0]


def artifacts(conn, s3, buckets, result, airflow_env) -> dict[str, str]:
    """Everything a run leaves behind, as text: its output, its task logs, reports, ledger, run records."""
    conn.rollback()
    reports = "\n".join(s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read().decode("utf-8", "replace")
                        for key in list_keys(s3, buckets.reports))
    logs = "\n".join(path.read_text(errors="replace") for path in Path(airflow_env["AIRFLOW_HOME"]).rglob("*.log"))
    return {
        "output": result.stdout + result.stderr,
        "task logs": logs,
        "reports": reports,
        "ledger": json.dumps([list(map(str, row)) for row in conn.execute("SELECT * FROM governance.audit_ledger")]),
        "rule_runs": json.dumps([list(map(str, row)) for row in conn.execute("SELECT * FROM governance.rule_runs")]),
    }


def test_scheduled_style_run_purges_reports_ledgers_and_updates_the_asset(airflow_env, stack_env, data, conn, s3,
                                                                          buckets):
    """A real run deletes what is due, keeps the held account, writes JSON and HTML reports, indexes them,
    leaves a verified and anchored ledger, and updates the Asset the data-quality checks follow."""
    rows = seed_due_rows(data)
    events = asset_events(stack_env)
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
    totals = document["totals"]
    assert f"erased 1 account, and deleted {totals['rows_deleted']} rows" in document["summary"]
    html = s3.get_object(Bucket=buckets.reports, Key=reports[0][0])["Body"].read().decode()
    assert html.index('class="summary"') < html.index("<table")
    assert document["ledger"]["chain_ok"] is True
    assert document["ledger"]["anchor"]["locked"] is True
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok
    assert asset_events(stack_env) == events + 1
    # The log says what ran, per rule, in words: no dict dumps.
    assert "rule deleted_accounts: completed; due 1, held 1" in result.stdout + result.stderr
    assert "Returned value was" not in result.stdout + result.stderr  # the summary line says it, readably


def test_manual_run_defaults_to_a_dry_run_preview(airflow_env, stack_env, data, conn, buckets, s3):
    """Triggered by hand with the form's defaults, the purge deletes nothing, writes a preview report, and
    does not update the Asset (nothing was purged for the checks to look at)."""
    seed_due_rows(data)
    events = asset_events(stack_env)
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users").fetchone() == (3,)
    keys = list_keys(s3, buckets.reports)
    assert any(key.endswith("retention_purge_preview.html") for key in keys)
    assert conn.execute("SELECT count(*) FROM governance.audit_ledger").fetchone() == (0,)
    assert asset_events(stack_env) == events


def test_a_broken_rule_fails_the_run_but_the_others_still_purge(airflow_env, stack_env, data, conn):
    """When one rule's column is missing, the run exits non-zero naming it, the other rules still ran,
    and the Asset is not updated."""
    old_session = seed_due_rows(data)["session"]
    conn.execute("ALTER TABLE app.payments RENAME COLUMN billing_country TO country_code")
    conn.commit()
    events = asset_events(stack_env)
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert result.returncode != 0
    assert "column app.payments.billing_country does not exist" in result.stdout + result.stderr
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.sessions WHERE session_id = %s", (old_session,)).fetchone() == (0,)
    state, failure = conn.execute("SELECT state, error FROM governance.rule_runs WHERE rule = 'payments'").fetchone()
    assert state == "refused"
    assert "billing_country" in failure["reason"]
    assert asset_events(stack_env) == events


def test_a_database_error_that_quotes_personal_data_leaves_it_nowhere(airflow_env, data, conn, s3, buckets):
    """PostgreSQL's error text can carry row values. A rule that fails on such an error records and logs its
    class, SQLSTATE and step; the planted email and raw IP appear in no output, task log, report, ledger
    entry or run record, even with logs at INFO."""
    assert airflow_env["AIRFLOW__LOGGING__LOGGING_LEVEL"] == "INFO"
    user = data.user()
    conn.execute("UPDATE app.users SET email = %s WHERE user_id = %s", (PLANTED_EMAIL, user))
    data.session(user, created_at=CUTOFF - relativedelta(years=2))
    conn.execute("UPDATE app.sessions SET user_agent = %s WHERE user_id = %s", (f"curl from {PLANTED_IP}", user))
    # An application trigger that refuses the delete and quotes the row, as real ones do.
    conn.execute("""
        CREATE FUNCTION app.refuse_session_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'session % of % may not be deleted', OLD.user_agent,
                (SELECT email FROM app.users WHERE user_id = OLD.user_id)
                USING DETAIL = 'Failing row contains (' || OLD.user_agent || ')';
        END $$;
        CREATE TRIGGER refuse_delete BEFORE DELETE ON app.sessions FOR EACH ROW
            EXECUTE FUNCTION app.refuse_session_delete();
    """)
    data.commit()
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE,
                               "-c", json.dumps({"dry_run": False, "rules": ["sessions"]}))
    assert result.returncode != 0
    left = artifacts(conn, s3, buckets, result, airflow_env)
    assert "RaiseException (P0001) in step delete rows" in left["output"]
    for name, text in left.items():
        assert PLANTED_EMAIL not in text, name
        assert PLANTED_IP not in text, name


@pytest.mark.parametrize(("conf", "message"), [
    ({"dry_run": False, "max_rows_per_rules": 1}, "unknown field 'max_rows_per_rules' (did you mean"),
    ({"dry_run": False, "batch_size": 2.0}, "batch_size: 2.0 must be an integer from 1 to 100000"),
])
def test_a_bad_run_configuration_fails_at_once_and_deletes_nothing(airflow_env, data, conn, conf, message):
    """A typo or a wrong type fails the run at the first task, naming the field in one line ahead of the
    traceback, without the retries that made a parameter error take ten minutes; nothing is deleted and the
    ledger stays empty."""
    seed_due_rows(data)
    started = time.monotonic()
    result = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE, "-c", json.dumps(conf))
    assert result.returncode != 0
    assert time.monotonic() - started < 120
    output = result.stdout + result.stderr
    assert message in output
    assert output.index(message) < output.index("Task failed with exception")  # the reason first, in one line
    assert "up_for_retry" not in output.lower()
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM governance.audit_ledger").fetchone() == (0,)


def test_a_run_dated_in_the_future_is_refused(airflow_env, data, conn):
    """`airflow dags test retention_purge 2036-01-01` once purged tax-retained payments ten years early; now
    it is refused before anything is read."""
    seed_due_rows(data)
    payment = data.payment(data.user(), country="DE", created_at=CUTOFF - relativedelta(years=2))
    data.commit()
    result = airflow_dags_test(airflow_env, "retention_purge", "2036-01-01", "-c", json.dumps({"dry_run": False}))
    assert result.returncode != 0
    assert "a run dated in the future is refused" in result.stdout + result.stderr
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users").fetchone() == (4,)
    assert conn.execute("SELECT count(*) FROM app.payments WHERE payment_id = %s", (payment,)).fetchone() == (1,)


def test_a_broken_ledger_stops_the_purge_until_an_operator_overrides_it(airflow_env, data, conn, db_url):
    """After the newest ledger entries were removed behind an anchor, the purge refuses to start; with a
    reason, it purges, and the ledger records the override and its reason."""
    seed_due_rows(data)
    with psycopg.connect(db_url, autocommit=True) as admin:
        for index in range(3):
            ledger.append(admin, ledger.LedgerEntry(workflow="retention_purge", action="purge_completed",
                                                    run_id=f"earlier-{index}"))
    verified = airflow_dags_test(airflow_env, "audit_ledger_verification", RUN_DATE)  # anchors head #3
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SET session_replication_role = replica")
        admin.execute("DELETE FROM governance.audit_ledger WHERE seq = 3")

    refused = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert refused.returncode != 0
    assert "the audit ledger fails verification at seq 3" in refused.stdout + refused.stderr
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users").fetchone() == (3,)

    reason = "INC-2041: seq 3 lost in the 2026-11 restore; DPO approved purging"
    overridden = airflow_dags_test(airflow_env, "retention_purge", RUN_DATE,
                                   "-c", json.dumps({"dry_run": False, "ledger_override_reason": reason}))
    assert overridden.returncode == 0, overridden.stdout[-3000:] + overridden.stderr[-3000:]
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM app.users").fetchone() == (2,)
    override = conn.execute("SELECT details FROM governance.audit_ledger WHERE action = 'ledger_override'").fetchone()
    assert override[0]["reason"] == reason
    assert override[0]["first_broken_seq"] == 3
