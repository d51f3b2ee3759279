"""
### Data-quality remediation — hash in place what a check found stored raw

> Prompts are stored only as SHA-256 hashes; IP addresses are kept only hashed (2.2, 4).

Manual. The form takes the ids of findings that `data_quality_checks` recorded (`result_id` in
`governance.dq_results`; the failed task's log and the run's report name them).

- A raw prompt in a prompt-hash column, or a raw address in an IP-hash column: replaced by its
  SHA-256, computed in the database, for the rows the finding names; one ledger entry per
  finding. Rows that already hold a hash are left alone: a rerun changes nothing.
- Rows past their retention period: left to the purge (its next real run removes them).
- Anything else (a value inside another column, an orphan, an archive object): reported as
  needing a person; nothing is changed.

**`dry_run` is on by default**: the run then only counts and reports what it would change.
There is no schedule. Then rerun `data_quality_checks` to see the findings cleared.

**Evidence**: ledger rows; a JSON and HTML report under `data_quality_remediation/<date>/<run>/`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.forms import optional


@dag(
    dag_id="data_quality_remediation",
    description='"Prompts are stored only as SHA-256 hashes; IP addresses only hashed": hash in place what a '
    "data-quality finding shows stored raw",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "data-quality", "privacy-policy:2.2", "privacy-policy:4"],
    default_args=default_args(),
    params={
        "result_ids": Param(
            [],
            type="array",
            items={"type": "integer", "minimum": 1},
            title="Finding ids",
            description="result_id of each finding in governance.dq_results (the failed check's log names them).",
        ),
        "dry_run": optional(True, "boolean", title="Dry run",
                            description="Preview only: count what would change, change nothing."),
    },
)
def data_quality_remediation():
    @task(retries=0)  # a bad finding id or a refused change: no retry fixes it
    def remediate(**context) -> dict:
        from governance.airflow.quality_tasks import remediate_findings

        return remediate_findings(context)

    remediate()


data_quality_remediation()
