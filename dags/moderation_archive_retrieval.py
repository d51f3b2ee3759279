"""
### Moderation archive retrieval — what an auditor asks of the 7-year archive

> **Moderation logs**: 90 days (critical — 7 years).

Reads critical moderation events from the WORM archive that `moderation_log_archival`
writes, in place: a pyarrow dataset over S3, reading only the objects of the months in the
period (Hive `month=` partitions, pruned through the manifests) and filtering inside the
Parquet reader. Nothing is restored into the database.

**Run by hand only** (no schedule): *Trigger DAG* opens a form for the period (start
included, end excluded), and optionally one person (user id, or the pseudonym the archive
holds: it keeps no user id) and one category.

**Evidence**: a CSV of the events and a JSON and HTML summary under
`moderation_archive_retrieval/<date>/<run>/` in the reports bucket, indexed in
`governance.report_index`.

**When it fails**: an unknown category, an inverted period, a malformed pseudonym, or both a
user id and a pseudonym, fail at once, naming the field. An unreachable S3 fails the task;
retry when it is back.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.forms import optional
from governance.policy import load_retention_policy

POLICY = load_retention_policy()  # parse-time validation: a bad file is an import error naming it
CATEGORIES = POLICY.model.rule("moderation_logs_critical").archive.categories
PERIOD = ("2026-01-01", "2027-01-01")  # the form's default period: the archive's first year


@dag(
    dag_id="moderation_archive_retrieval",
    description='"Moderation logs: 90 days (critical — 7 years)": critical events read from the WORM archive in place',
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "archive", "audit", "privacy-policy:5"],
    default_args=default_args(),
    params={
        "period_start": optional(PERIOD[0], "string", format="date", title="From (included)",
                                 description=f"First day (YYYY-MM-DD); empty: {PERIOD[0]}."),
        "period_end": optional(PERIOD[1], "string", format="date", title="To (excluded)",
                               description=f"The day after the last day (YYYY-MM-DD); empty: {PERIOD[1]}."),
        "user_id": optional(None, "integer", title="User id",
                         description="One person, by user id (turned into the pseudonym the archive holds)."),
        "pseudonym": optional(None, "string", title="Pseudonym",
                           description="One person, by the 64-character pseudonym of an erased account."),
        "category": optional(None, "string", enum=CATEGORIES, title="Category",
                             description="One category of moderation event; empty: every category."),
    },
)
def moderation_archive_retrieval():
    @task(retries=0)
    def retrieve(**context) -> dict:
        from governance.airflow.retrieval_tasks import retrieve_and_report

        return retrieve_and_report(context, default_period=PERIOD)

    retrieve()


moderation_archive_retrieval()
