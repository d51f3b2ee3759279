"""
### Data-subject export — the rights of access and portability (section 6 of the privacy policy)

> **Access** — obtain a copy of your data · **Portability** — receive your data in a
> machine-readable format.

**Run by hand** (no schedule), when a request reaches privacy@clipia.ai: *Trigger DAG* opens
a form for the request id and the person (user id or email; the product keeps only a keyed
hash of the email, but Airflow keeps the form's values in its run history, so prefer the
user id). The request is registered in `governance.dsr_requests` with its deadline
under the law of the account's country (`include/policy/subject_rights.yaml`).

**What it does**: reads every table of `include/policy/data_map.yaml` for the person in one
consistent snapshot, a few thousand rows at a time; their archived critical moderation events
from the WORM archive, in place; and lists their images and videos with download links that
expire after 7 days. It writes one JSON and one CSV file per kind of data, a README that
explains every field, `SHA256SUMS` and a manifest, zipped, to the exports bucket under
`dsr-exports/<request id>/`, reads it back and matches its SHA-256. The bundle is deleted,
every version, after 30 days (by `dsr_deadlines`).

**Evidence**: ledger rows (`dsr_request_received`, `dsr_request_completed` with the bundle's
key and SHA-256); a receipt (JSON and HTML, no personal data) in the reports bucket under
`dsr_export/<date>/<request id>/`, indexed.

**Twice**: the same request id does the work once; a second run reports the first bundle. The
same id for another person or kind is refused.

**When it fails**: an unknown person, a malformed email, a user id and an email of different
people, or a table that names people but is missing from the data map, fail at once, naming
the field, and nothing is written. A failure of S3 fails the task; retry it.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.dsr_forms import request_params

# Parse-time validation: a bad policy file, or two that disagree, is an import error naming them.
FIELDS = request_params()


@dag(
    dag_id="dsr_export",
    description="Access and portability (policy section 6): a copy of a person's data, every table, as JSON and CSV",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "data-subject-rights", "privacy-policy:6"],
    default_args=default_args(),
    params=FIELDS,
)
def dsr_export():
    @task(retries=0)  # what registration refuses, no retry fixes
    def register(**context) -> dict:
        from governance.airflow.dsr_tasks import register_request

        return register_request(context)

    @task
    def export(registered: dict, **context) -> dict:
        from governance.airflow.dsr_tasks import run_export

        return run_export(context)

    export(register())


dsr_export()
