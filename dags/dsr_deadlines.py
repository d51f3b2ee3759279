"""
### Data-subject request deadlines — every day

> Under the GDPR and CCPA, you have the right to: Access · Erasure · Portability (section 6).

Lists every open request of `governance.dsr_requests` (registered by `dsr_export` and
`dsr_erasure`, not yet completed or refused) that is due within the warning window of
`include/policy/subject_rights.yaml`, or past due: GDPR one month, CCPA 45 days, 152-FZ 10
working days (each extendable once, through the request's form). The list goes to a JSON and
HTML report in the reports bucket, indexed, and the `verdict` task **fails** while any request
is flagged, so that the failure is seen.

It also deletes the export bundles whose 30 days are over, every version, with a ledger row
(`dsr_export_expired`) each.

**Time**: the run's `data_interval_end` (or `run_after`), never the clock, so a rerun of a
day gives that day's answer.
"""

from __future__ import annotations

from airflow.sdk import TriggerRule, dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.dsr_forms import deadline_policy

RIGHTS = deadline_policy()  # parse-time validation: a bad subject_rights.yaml is an import error naming it


@dag(
    dag_id="dsr_deadlines",
    description="Data-subject requests (policy section 6): flags those near or past their legal deadline; "
    "deletes expired exports",
    schedule="0 6 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "data-subject-rights", "privacy-policy:6"],
    default_args=default_args(),
)
def dsr_deadlines():
    @task
    def check(**context) -> dict:
        from governance.airflow.dsr_tasks import check_deadlines

        return check_deadlines(context)

    @task
    def expire_exports(**context) -> dict:
        from governance.airflow.dsr_tasks import expire_export_bundles

        return expire_export_bundles(context)

    @task(retries=0, trigger_rule=TriggerRule.ALL_DONE)
    def verdict(checked: dict | None) -> None:
        from governance.airflow.dsr_tasks import deadline_verdict

        deadline_verdict(checked)

    checked = check()
    expired = expire_exports()
    expired >> verdict(checked)


dsr_deadlines()
