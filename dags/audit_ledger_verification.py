"""
### Audit ledger verification — the evidence behind every other workflow

Every purge, archive and erasure writes to `governance.audit_ledger`, a hash-chained,
append-only table. This workflow recomputes the whole chain every night and checks it
against every ledger head that earlier reports recorded (anchors), so a changed, removed or
reordered entry — including removal of the newest ones — is found and named.

**Evidence**: a JSON and HTML report in the reports bucket under
`audit_ledger_verification/<date>/<run>/`, indexed in `governance.report_index`; its head
becomes an anchor for the next check.

**Run by hand**: `airflow dags test audit_ledger_verification`.

**When it fails**: the ledger was tampered with or restored from an older backup. The error
names the first broken entry (`seq`) and why: *row missing*, *content changed*, *chain link
broken* or *anchor mismatch*. Do not purge until it is explained: escalate to the DPO and
compare the entry with the reports that recorded it.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from governance.dag_defaults import START_DATE, default_args


@dag(
    dag_id="audit_ledger_verification",
    schedule="30 4 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["governance", "audit"],
    default_args=default_args(),
)
def audit_ledger_verification():
    @task
    def verify(**context) -> dict:
        from governance.ledger_tasks import verify_and_report

        return verify_and_report(context)

    verify()


audit_ledger_verification()
