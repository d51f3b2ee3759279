"""
### Data-subject erasure — the right to erasure (section 6 of the privacy policy)

> **Erasure** — request deletion of your data ("right to be forgotten").

**Run by hand** (no schedule), when a request reaches privacy@clipia.ai: *Trigger DAG* opens
a form for the request id and the person (user id or email; prefer the user id:
Airflow keeps the form's values in its run history). The request is registered in
`governance.dsr_requests` with its deadline under the law of the account's country.

**What it does**: erases the account **now**, with the cascade of the account rule of
`include/policy/retention.yaml` (the nightly purge's, without its 30 days): every row about
the person, and every version of their image and video files. What the law keeps (payments,
moderation logs, disclosures to authorities) is pseudonymised: kept, with the person replaced
by a keyed hash. It then checks that no table still holds the account's id, and writes an
**erasure certificate** (JSON and HTML) to the reports bucket under
`dsr_erasure/<date>/<request id>/`, indexed: what was erased per kind of data, what was kept,
why and until when. The certificate names no one but the request id.

**This deletes for real**: there is no preview. A person under an active legal hold is not
erased: the request is refused, and the refusal recorded.

**Evidence**: ledger rows (`dsr_request_received`, `erasure_started` … `erasure_completed`
with the counts per table, `dsr_request_completed` with the certificate's keys).

**Twice**: the same request id does the work once. A killed run, run again, finishes the
erasure, and the ledger counts each row once.

**When it fails**: an unknown person, a malformed email, a request id used before for someone
else, or a table that names people outside the cascade, fail at once and change nothing. The
erasure does not start while the audit ledger fails verification (see
`audit_ledger_verification`); `ledger_override_reason` says why to go on anyway.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.dsr_forms import request_params
from governance.airflow.forms import optional

# Parse-time validation: a bad policy file, or two that disagree, is an import error naming them.
FIELDS = request_params()


@dag(
    dag_id="dsr_erasure",
    description="Right to erasure (policy section 6): a person's data deleted now, what the law keeps "
    "pseudonymised, with a certificate",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "data-subject-rights", "privacy-policy:6"],
    default_args=default_args(),
    params={
        **FIELDS,
        "ledger_override_reason": optional(None, "string", title="Ledger override reason",
                                        description="Only when the audit ledger fails verification: why to erase "
                                        "anyway (a ticket and a reason; no personal data). Kept in the ledger."),
    },
)
def dsr_erasure():
    @task(retries=0)  # what registration refuses, no retry fixes
    def register(**context) -> dict:
        from governance.airflow.dsr_tasks import register_request

        return register_request(context)

    @task
    def capture_transfers(registered: dict, **context) -> dict:
        from governance.airflow.transfer_tasks import capture_transfers

        return capture_transfers(context)

    @task
    def erase(captured: dict, **context) -> dict:
        from governance.airflow.dsr_tasks import run_erasure

        return run_erasure(context)

    @task
    def certify(erased: dict, **context) -> dict:
        from governance.airflow.dsr_tasks import write_certificate

        return write_certificate(context)

    # The person's transfers are counted (as aggregates) before the rows that record them go.
    certify(erase(capture_transfers(register())))


dsr_erasure()
