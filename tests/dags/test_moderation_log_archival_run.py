"""moderation_log_archival run as a user runs it: `airflow dags test`, real database, real S3."""

import json
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.storage import list_keys
from tests.conftest import LEDGER_KEY
from tests.dags.conftest import airflow_dags_test
from tests.factories import CUTOFF

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUN_DATE = CUTOFF.isoformat()


def seed(data) -> dict[str, list[int]]:
    user, held = data.user(), data.user()
    data.hold(held)
    rows = {
        "critical_old": [data.moderation(user, severity="critical", created_at=CUTOFF - relativedelta(months=m))
                         for m in (4, 4, 9)],
        "critical_young": [data.moderation(user, severity="critical", created_at=CUTOFF - timedelta(days=30))],
        "critical_past_7_years": [data.moderation(user, severity="critical",
                                                  created_at=CUTOFF - relativedelta(years=7, days=3))],
        "standard_old": [data.moderation(user, created_at=CUTOFF - timedelta(days=91 + d)) for d in range(3)],
        "standard_young": [data.moderation(user, created_at=CUTOFF - timedelta(days=89))],
        "held": [data.moderation(held, severity="critical", created_at=CUTOFF - relativedelta(months=5)),
                 data.moderation(held, created_at=CUTOFF - relativedelta(months=5))],
    }
    data.commit()
    return rows


def remaining(conn) -> set[int]:
    conn.rollback()
    return {row[0] for row in conn.execute("SELECT event_id FROM app.moderation_events")}


def test_the_archival_end_to_end_twice_with_no_change_the_second_time(airflow_env, data, conn, s3, buckets):
    """A real run archives the critical events past 90 days into locked objects, deletes the old standard ones
    and the critical ones past 7 years, keeps the young and the held ones, reports per month and per object; a
    second run of the same date writes no object and deletes nothing."""
    rows = seed(data)
    first = airflow_dags_test(airflow_env, "moderation_log_archival", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    kept = remaining(conn)
    assert kept == {*rows["critical_young"], *rows["standard_young"], *rows["held"]}
    objects = sorted(key for key in list_keys(s3, buckets.archive, "moderation/critical/") if key.endswith(".parquet"))
    assert [key.split("/")[2] for key in objects] == sorted(
        f"month={(CUTOFF - relativedelta(months=m)):%Y-%m}" for m in (4, 9))
    assert list(list_keys(s3, buckets.archive, "moderation/critical/manifests/"))
    report_key = next(key for key in list_keys(s3, buckets.reports, "moderation_log_archival/")
                      if key.endswith("moderation_log_archival.json"))
    report = json.loads(s3.get_object(Bucket=buckets.reports, Key=report_key)["Body"].read())
    assert report["status"] == "ok"
    assert report["totals"]["rows_archived"] == 3
    assert report["totals"]["rows_deleted"] == 4  # three standard events past 90 days, one critical past 7 years
    assert {obj["state"] for obj in report["objects"]} == {"complete"}
    assert sum(month["held"] for month in report["months"]) == 2

    second = airflow_dags_test(airflow_env, "moderation_log_archival", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert remaining(conn) == kept
    assert sorted(key for key in list_keys(s3, buckets.archive, "moderation/critical/")
                  if key.endswith(".parquet")) == objects
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok


def test_the_forms_default_previews_and_a_cutoff_later_than_now_is_refused(airflow_env, data, conn, s3, buckets):
    """By hand, the default is a preview: nothing is archived or deleted. A cutoff later than now would take
    events younger than 90 days: it is refused, naming the field."""
    seed(data)
    before = remaining(conn)
    preview = airflow_dags_test(airflow_env, "moderation_log_archival", RUN_DATE)
    assert preview.returncode == 0, preview.stdout[-3000:] + preview.stderr[-3000:]
    assert remaining(conn) == before
    assert not list(list_keys(s3, buckets.archive, "moderation/"))
    refused = airflow_dags_test(airflow_env, "moderation_log_archival", RUN_DATE,
                                "-c", json.dumps({"dry_run": False, "cutoff": "2099-01-01T00:00:00Z"}))
    assert refused.returncode != 0
    assert "cutoff: 2099-01-01 00:00:00 UTC is later than now" in refused.stdout + refused.stderr
    assert remaining(conn) == before


def test_an_auditor_retrieves_a_persons_archived_events_through_the_retrieval_workflow(airflow_env, data, conn, s3,
                                                                                     buckets):
    """After the archival ran, moderation_archive_retrieval with a user id and a period writes a CSV of exactly
    that person's archived events and an HTML summary to the reports bucket, and indexes them."""
    import csv
    import io

    rows = seed(data)
    archived = airflow_dags_test(airflow_env, "moderation_log_archival", RUN_DATE, "-c", json.dumps({"dry_run": False}))
    assert archived.returncode == 0, archived.stdout[-3000:] + archived.stderr[-3000:]
    user = conn.execute("SELECT min(user_id) FROM app.users").fetchone()[0]
    april = CUTOFF - relativedelta(months=4)
    conf = {"user_id": user, "period_start": f"{april:%Y-%m}-01",
            "period_end": f"{april + relativedelta(months=1):%Y-%m}-01"}
    result = airflow_dags_test(airflow_env, "moderation_archive_retrieval", RUN_DATE, "-c", json.dumps(conf))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    conn.rollback()
    [key] = [row[0] for row in conn.execute(
        "SELECT object_key FROM governance.report_index"
        " WHERE workflow = 'moderation_archive_retrieval' AND object_key LIKE '%.csv'")]
    found = list(csv.DictReader(io.StringIO(s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read().decode())))
    assert sorted(int(row["event_id"]) for row in found) == sorted(rows["critical_old"][:2])

    bad = airflow_dags_test(airflow_env, "moderation_archive_retrieval", RUN_DATE,
                            "-c", json.dumps({**conf, "period_end": conf["period_start"]}))
    assert bad.returncode != 0
    assert "period: it ends" in bad.stdout + bad.stderr
