"""
### Data-quality checks — prompts and IPs only hashed, retention kept, archive intact

> Prompts are stored only as SHA-256 hashes; IP addresses are kept only hashed (sections 2.2
> and 4) · data is kept no longer than section 5 says · critical moderation logs 7 years.

Runs the Great Expectations suites in `expectations/`, one mapped task per suite, inside
PostgreSQL: `no_raw_prompts`, `hashed_ips`, `retention_compliance`, `archive_integrity`.
Each suite file says, expectation by expectation, what it proves.

**When**: after every real, fully successful `retention_purge` or `moderation_log_archival`
run (their Assets), and at 06:00 UTC every day in any case.

**How much it reads**: on a normal night only the rows added since the last successful run
(a key watermark per suite and table in `governance.dq_watermarks`). On Sundays, and when the
form's `full_scan` is ticked, every row. The retention checks always read everything they
need: they are index range queries.

**Findings never repeat a value**: a failed check records the keys of up to 1,000 offending
rows and the SHA-256 of each offending value in `governance.dq_results`, never the value.
GX validates with `BOOLEAN_ONLY`; the second pass that finds keys excludes values.

**When it fails**: the failed suite's task names each check, table and column, the number of
rows, and the `dq_results` result id; the `verdict` task fails the run. A raw prompt or IP in a
hash column can be hashed in place with `data_quality_remediation` (manual, dry run first).

**Evidence**: a JSON and HTML report and the GX Data Docs under
`data_quality_checks/<date>/<run>/` in the reports bucket, indexed in `governance.report_index`.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TriggerRule, dag, get_current_context, task

from governance.airflow.assets import ARCHIVAL_COMPLETED, PURGE_COMPLETED
from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.forms import optional
from governance.airflow.quality_tasks import SUITES


@dag(
    dag_id="data_quality_checks",
    description='"Prompts are stored only as SHA-256 hashes; IP addresses only hashed" (2.2, 4), and section 5 '
    "kept: proved nightly with Great Expectations",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
                                 assets=(PURGE_COMPLETED | ARCHIVAL_COMPLETED)),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "data-quality", "privacy-policy:2.2", "privacy-policy:4", "privacy-policy:5"],
    default_args=default_args(),
    params={
        "full_scan": optional(
            False,
            "boolean",
            title="Full scan",
            description="Read every row, not only the rows added since the last successful run (Sundays always do).",
        ),
    },
)
def data_quality_checks():
    @task(retries=0)
    def plan(**context) -> dict:
        from governance.airflow.quality_tasks import plan_checks

        return plan_checks(context)

    @task(map_index_template="{{ suite_name }}")
    def check(suite: str, planned: dict) -> dict:
        from governance.airflow.quality_tasks import run_suite

        context = get_current_context()
        context["suite_name"] = suite
        return run_suite(suite, planned, context)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: dict | None, **context) -> dict:
        from governance.airflow.quality_tasks import write_report

        return write_report(planned, context)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def verdict(summary: dict | None) -> None:
        from governance.airflow.quality_tasks import verdict

        verdict(summary)

    planned = plan()
    checked = check.partial(planned=planned).expand(suite=list(SUITES))
    summary = report(planned)
    checked >> summary
    verdict(summary)


data_quality_checks()
