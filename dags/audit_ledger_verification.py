"""
### Audit ledger verification — the evidence behind every other workflow

Every purge, archive and erasure writes to `governance.audit_ledger`, a hash-chained,
append-only table. This workflow recomputes the whole chain every night and checks it
against every ledger head that earlier reports recorded (anchors), so a changed, removed or
reordered entry — including removal of the newest ones — is found and named.

It also checks the signature of every entry (an HMAC made with a key kept outside the
database), and validates every policy file: a broken `retention.yaml` removes the purge
from the DAG list, so this workflow, which parses no policy at import time, fails loudly.

**Evidence**: a JSON and HTML report in the reports bucket under
`audit_ledger_verification/<date>/<run>/`, indexed in `governance.report_index`; its head
is written to `ledger-anchors/` in the same bucket, under Object Lock where the bucket has
it, and becomes an anchor for the next check.

**Run by hand**: *Trigger DAG*, or `airflow dags trigger audit_ledger_verification`.

**When it fails**: the ledger was tampered with or restored from an older backup. The error
names the first broken entry (`seq`) and why: *row missing*, *content changed*, *chain link
broken*, *anchor mismatch*, *anchor conflict* or *signature invalid*. The purge will not
start until it is explained: escalate to the DPO and compare the entry with the reports that
recorded it. When `policy_files` fails, its error names the file, the rule and the key.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args


@dag(
    dag_id="audit_ledger_verification",
    description="The evidence itself: the audit ledger's hash chain and signatures, verified against every "
    "anchored head",
    schedule="30 4 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "audit"],
    default_args=default_args(),
)
def audit_ledger_verification():
    @task(retries=0)
    def policy_files() -> dict:
        from governance.airflow.ledger_tasks import check_policy_files

        return check_policy_files()

    @task
    def verify(**context) -> dict:
        from governance.airflow.ledger_tasks import verify_and_report

        return verify_and_report(context)

    policy_files()
    verify()


audit_ledger_verification()
