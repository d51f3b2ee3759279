"""dsr_export, dsr_erasure and dsr_deadlines run as the privacy team runs them: `airflow dags test`, real
database, real S3. Afterwards a scan of every table, bucket, log and report finds nothing of the erased person
but what the law keeps, pseudonymised."""

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.pseudonyms import pseudonym
from governance.storage import list_keys
from tests.conftest import LEDGER_KEY, PSEUDONYM_KEY
from tests.dags.conftest import airflow_dags_test
from tests.factories import CUTOFF
from tests.integration.governance.test_erasure import columns_holding, everything_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUN_DATE = CUTOFF.isoformat()
PERSON = 731_904_562  # distinctive: a scan for it finds nothing by chance


def run(env, dag_id, conf=None, date=RUN_DATE):
    args = [date] + (["-c", json.dumps(conf)] if conf is not None else [])
    return airflow_dags_test(env, dag_id, *args)


def output(result) -> str:
    return result.stdout + result.stderr


def everything_in_bucket(s3, bucket) -> str:
    return "".join(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode(errors="replace")
                   for key in list_keys(s3, bucket))


def person_with_everything(data):
    person = data.user(user_id=PERSON)
    everything_of(data, person)
    data.payment(person, country="RU", created_at=CUTOFF - timedelta(days=400))
    data.moderation(person, severity="critical", created_at=CUTOFF - relativedelta(months=4))
    return person


def test_the_erasure_end_to_end_twice_leaves_nothing_of_the_person_but_what_the_law_keeps(
    airflow_env, data, conn, s3, buckets
):
    """By email: the person's rows, every version of their media and the bundle of their earlier export go,
    payments, moderation events and disclosures stay pseudonymised; the certificate says what went and what
    stayed, why and until when, and names no one. A second submission does nothing. Then no table (the
    requests included), bucket, report or log line holds the person's id or email, and their pseudonym only
    where the law keeps the rows."""
    person = person_with_everything(data)
    bystander = data.user()
    everything_of(data, bystander)
    data.commit()
    archival = run(airflow_env, "moderation_log_archival", {"dry_run": False})  # the critical event moves
    assert archival.returncode == 0, output(archival)[-3000:]
    email = f"user{person}@example.com"
    exported = run(airflow_env, "dsr_export", {"request_id": "DSR-2026-0041", "user_id": person})
    assert exported.returncode == 0, output(exported)[-3000:]
    assert list(list_keys(s3, buckets.exports))
    conf = {"request_id": "DSR-2026-0042", "email": email, "channel": "web_form"}

    first = run(airflow_env, "dsr_erasure", conf)
    assert first.returncode == 0, output(first)[-3000:]
    # The copy made for the person's access request goes with the account, every version.
    versions = s3.list_object_versions(Bucket=buckets.exports)
    assert not versions.get("Versions")
    assert not versions.get("DeleteMarkers")
    assert columns_holding(conn, person) == []
    assert "users.user_id" in columns_holding(conn, bystander)
    assert not [key for key in list_keys(s3, buckets.media) if f"/{person}/" in key]
    assert [key for key in list_keys(s3, buckets.media) if f"/{bystander}/" in key]

    [certificate_key] = [key for key in list_keys(s3, buckets.reports, "dsr_erasure/") if key.endswith(".json")]
    certificate = json.loads(s3.get_object(Bucket=buckets.reports, Key=certificate_key)["Body"].read())
    erased = {item["category"]: item["rows_deleted"] for item in certificate["erased"]}
    assert erased == {"account_data": 1, "device_data": 1, "usage_statistics": 1, "cookies": 1, "generations": 1,
                      "uploads": 1}
    kept = {item["category"]: item for item in certificate["retained"]}
    assert {name: item["rows"] for name, item in kept.items()} == {
        "payment_data": 2, "moderation_logs": 2, "disclosures": 1, "moderation_logs_archived": 1}
    assert kept["payment_data"]["until"].startswith(f"{(CUTOFF - timedelta(days=60)).year + 10}")  # DE: 10 years
    assert "Tax and accounting law" in kept["payment_data"]["why"]
    assert certificate["media"]["objects_deleted"] == 2
    assert certificate["verification"]["tables_still_naming_the_person"] == 0
    assert certificate["on_time"] is True
    assert certificate["export_bundles_deleted"] == 1

    second = run(airflow_env, "dsr_erasure", conf)
    assert second.returncode == 0, output(second)[-3000:]
    assert "nothing is done again" in output(second)
    completed = [e for e in ledger.entries_for_run(conn, "dsr_erasure", "request:DSR-2026-0042")
                 if e["action"] == "erasure_completed"]
    assert len(completed) == 1
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok

    # The scan: the person's id and email are nowhere; their pseudonym only on the rows the law keeps.
    kept_by = pseudonym(PSEUDONYM_KEY.encode(), "users", person)
    conn.rollback()
    governance = json.dumps([list(row) for table in ("dsr_requests", "audit_ledger", "report_index", "rule_runs")
                             for row in conn.execute(f"SELECT * FROM governance.{table}")], default=str)  # noqa: S608
    reports = everything_in_bucket(s3, buckets.reports)
    logs = output(exported) + output(first) + output(second)
    app_text = json.dumps([list(row) for (table,) in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'app'").fetchall()
        for row in conn.execute(f"SELECT * FROM app.{table}")], default=str)  # noqa: S608
    for where, text in (("app schema", app_text), ("governance schema", governance), ("reports", reports),
                        ("logs", logs)):
        assert email not in text, where
        assert not re.search(rf"(^|\D){person}(\D|$)", text), where
    assert kept_by not in reports
    assert kept_by not in logs
    for table in ("payments", "moderation_events", "disclosures"):
        assert conn.execute(f"SELECT count(*) FROM app.{table} WHERE user_pseudonym = %s",  # noqa: S608
                            (kept_by,)).fetchone()[0] >= 1, table


def test_an_erasure_of_a_person_under_legal_hold_is_refused_and_the_reason_recorded(airflow_env, data, conn, s3,
                                                                                     buckets):
    """A held person is not erased: the run fails naming the hold, nothing changes, and the request is
    recorded as refused, with the reason, in the request and the ledger."""
    person = person_with_everything(data)
    data.hold(person)
    data.commit()
    result = run(airflow_env, "dsr_erasure", {"request_id": "DSR-HOLD-1", "user_id": person})
    assert result.returncode != 0
    assert "under an active legal hold" in output(result)
    assert "users.user_id" in columns_holding(conn, person)
    assert len([key for key in list_keys(s3, buckets.media) if f"/{person}/" in key]) == 2
    status, refusal = conn.execute("SELECT status, refusal FROM governance.dsr_requests").fetchone()
    assert status == "refused"
    assert refusal["reason"] == "legal_hold"
    actions = [row[0] for row in conn.execute("SELECT action FROM governance.audit_ledger ORDER BY seq")]
    assert "erasure_refused" in actions
    assert "dsr_request_refused" in actions


@pytest.mark.parametrize(("conf", "message"), [
    ({"request_id": "DSR-E1", "email": "not-an-email"}, "email"),
    ({"request_id": "DSR-E4", "user_id": "BOTH"}, "user_id and email name different accounts"),
    ({"request_id": "DSR-E5", "user_id": PERSON, "emial": "x@example.org"}, "unknown field 'emial'"),
])
def test_bad_requests_fail_clearly_and_change_nothing(conf, message, airflow_env, data, conn):
    """A malformed email (the form's schema), a user id and an email of two people, a misspelt field: each
    fails at the form or the first task, naming the problem, and nothing is registered or erased (an unknown
    person: tests/integration/governance/test_dsr.py)."""
    person = data.user(user_id=PERSON)
    other = data.user()
    data.commit()
    if conf.get("user_id") == "BOTH":
        conf = {**conf, "user_id": person, "email": f"user{other}@example.com"}
    result = run(airflow_env, "dsr_erasure", conf)
    assert result.returncode != 0
    assert message in output(result)
    assert conn.execute("SELECT count(*) FROM governance.dsr_requests").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM app.users").fetchone()[0] == 2


def test_the_export_end_to_end_twice_and_a_reused_request_id_for_someone_else(airflow_env, data, conn, s3, buckets):
    """The bundle reaches the exports bucket with every category and the archived events, a receipt reaches
    the report index; a second submission does the work once; the same id for another person is refused."""
    person = person_with_everything(data)
    other = data.user()
    everything_of(data, other)
    data.commit()
    assert run(airflow_env, "moderation_log_archival", {"dry_run": False}).returncode == 0
    conf = {"request_id": "DSR-X-1", "user_id": person}
    first = run(airflow_env, "dsr_export", conf)
    assert first.returncode == 0, output(first)[-3000:]
    [key] = list_keys(s3, buckets.exports)
    bundle = zipfile.ZipFile(io.BytesIO(s3.get_object(Bucket=buckets.exports, Key=key)["Body"].read()))
    archived = json.loads(bundle.read("data/moderation_logs_archived.json"))["rows"]
    assert len(archived) == 1
    assert json.loads(bundle.read("data/account_data.json"))["rows"][0]["email"] == f"user{person}@example.com"
    assert f"user{other}@example.com" not in b"".join(bundle.read(n) for n in bundle.namelist()).decode()
    assert f"user{person}@example.com" not in output(first)
    receipts = [row[0] for row in conn.execute(
        "SELECT object_key FROM governance.report_index WHERE workflow = 'dsr_export'")]
    assert len(receipts) == 2  # JSON and HTML
    assert f"user{person}@example.com" not in everything_in_bucket(s3, buckets.reports)

    second = run(airflow_env, "dsr_export", conf)
    assert second.returncode == 0, output(second)[-3000:]
    versions = s3.list_object_versions(Bucket=buckets.exports)["Versions"]
    assert len(versions) == 1  # no second bundle
    reused = run(airflow_env, "dsr_export", {"request_id": "DSR-X-1", "user_id": other})
    assert reused.returncode != 0
    assert "already registered for a different person" in output(reused)


def test_the_daily_check_fails_on_a_request_near_its_deadline_and_lists_it_in_the_report_index(
    airflow_env, data, conn, s3, buckets
):
    """A request received 28 days before the run (GDPR: one month) is flagged: the check's report is indexed
    with the flag, and the run fails naming the request. Run on a day when nothing is due, it passes."""
    person = data.user()
    data.commit()
    conn.execute("UPDATE app.users SET country = 'DE'")
    conn.commit()
    received = (CUTOFF - timedelta(days=28)).isoformat()
    # A failing S3 would leave the request open; here the request is registered, then its export fails.
    registered = run(airflow_env, "dsr_export", {"request_id": "DSR-LATE-1", "user_id": person,
                                                 "received_at": received},
                     date=(CUTOFF - timedelta(days=28)).isoformat())
    assert registered.returncode == 0, output(registered)[-3000:]
    conn.execute("UPDATE governance.dsr_requests SET status = 'in_progress'")  # as an export that kept failing
    conn.commit()
    early = run(airflow_env, "dsr_deadlines", date=(CUTOFF - timedelta(days=27)).isoformat())
    assert early.returncode == 0, output(early)[-3000:]
    late = run(airflow_env, "dsr_deadlines")
    assert late.returncode != 0
    assert "DSR-LATE-1 (export) due in" in output(late)
    summaries = [row[0] for row in conn.execute(
        "SELECT summary FROM governance.report_index WHERE workflow = 'dsr_deadlines' ORDER BY report_id")]
    assert summaries[0]["flagged"] == 0
    assert summaries[-1]["flagged_requests"] == ["DSR-LATE-1"]
