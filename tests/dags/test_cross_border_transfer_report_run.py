"""cross_border_transfer_report run as the scheduler runs it: `airflow dags test`, real database, real S3."""

import pytest

from scripts.seeding import seed
from tests.dags.conftest import airflow_dags_test

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MONTHLY_RUN = "2026-12-01T05:00:00+00:00"  # the run of the 1st, for November


def test_the_monthly_run_captures_reports_november_and_fails_on_a_critical_finding(airflow_env, conn, s3, buckets):
    seed(conn, None, scale=60, as_of="2026-12-01T02:00:00+00:00", media_bucket=None, put_media=False,
         inject="unregistered_recipient")
    conn.commit()
    result = airflow_dags_test(airflow_env, "cross_border_transfer_report", MONTHLY_RUN)
    log = result.stdout + result.stderr
    # The report is published, and the verdict fails the run on the unregistered recipients, naming them.
    assert result.returncode != 0, log[-3000:]
    assert "In November 2026, " in log
    assert "critical transfer findings in 2026-11: unregistered_transfer:quickpay_offshore, " \
           "unregistered_transfer:shadow_ai_labs" in log
    assert "transfer capture: " in log
    assert "(backfilled: the first capture)" in log
    conn.rollback()
    indexed = conn.execute("SELECT object_key, period_start::date::text FROM governance.report_index "
                           "WHERE workflow = 'cross_border_transfer_report' ORDER BY object_key").fetchall()
    assert [key.rsplit(".", 1)[1] for key, _ in indexed] == ["csv", "html", "json", "pdf"]
    assert {start for _, start in indexed} == {"2026-11-01"}
    assert all(key.startswith("cross_border_transfer_report/2026-11/") for key, _ in indexed)
    emails = [email for (email,) in conn.execute("SELECT email FROM app.users")]
    assert not [email for email in emails if email in log]


def test_a_period_that_has_not_ended_is_refused_in_one_line(airflow_env):
    result = airflow_dags_test(airflow_env, "cross_border_transfer_report", MONTHLY_RUN, "-c",
                               '{"period_start": "2026-11-15", "period_end": "2026-12-15"}')
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "period_end: 2026-12-15 is later than the run's date 2026-12-01; a period is reported once it is over" in log
    inverted = airflow_dags_test(airflow_env, "cross_border_transfer_report", MONTHLY_RUN, "-c",
                                 '{"period_start": "2026-11-15", "period_end": "2026-11-01"}')
    assert "period_end: 2026-11-01 must be after period_start 2026-11-15" in inverted.stdout + inverted.stderr
