"""
### Moderation-log archival — sections 4 and 5 of the privacy policy, every night

> **Log moderation events** — violation category, timestamp, action taken · **Moderation
> logs**: 90 days (critical — 7 years).

Three rules of `include/policy/retention.yaml`, one mapped task each:
- `moderation_logs_standard`: standard events older than 90 days are deleted, never archived
  (an archive copy would keep them past the promise);
- `moderation_logs_critical`: critical events older than 90 days move to the archive bucket as
  Parquet (zstd), grouped by event month under `moderation/critical/month=YYYY-MM/`, each object
  under Object Lock COMPLIANCE until its newest event + 7 years. Rows leave the table only after
  their object was read back and its SHA-256, row count, id range and lock matched. Objects
  whose 7 years have passed are deleted by version id. The archive holds a pseudonym of the
  person, never a user id;
- `moderation_logs_critical_expired`: critical events already older than 7 years are deleted.

Events of people under an active legal hold stay in the table, counted as *held*; archived
objects holding their events get an S3 legal hold until the hold is released.

The rules run one at a time, archiving first: on a table partitioned by month, a month past
90 days is then dropped whole by `moderation_logs_standard` once its critical events are
archived and verified, its held events kept in the DEFAULT partition.

**Exactly once**: each object's intent is recorded before it is uploaded. After a crash, a
rerun adopts an object that was uploaded, abandons an intent whose upload never arrived, and
finishes what was left: every event ends in the table or in exactly one verified object.

**Run by hand**: *Trigger DAG*; `dry_run` is on by default there and only previews. `cutoff`
replaces the run's cutoff; one later than now is refused. From a shell:
`airflow dags trigger moderation_log_archival -c '{"dry_run": false}'`.

**Unpausing** (also through the form's "Unpause on trigger" box, ticked by default) makes
the scheduler start a run for the last night at once. That run, like every scheduled run,
**only previews until the deployment sets `GOVERNANCE_SCHEDULED_DELETES=enabled`**; then
the nightly runs archive and delete.

**Evidence**: ledger rows; the objects in `governance.archive_manifests` and in a JSON
manifest beside them; a JSON and HTML report under `moderation_log_archival/<date>/<run>/` in
the reports bucket.

**When it fails**: the verdict names each failed rule by error class, SQLSTATE and step. An
object that does not verify stops the run with none of its rows deleted: compare the object
version with its manifest before anything else. Like the purge, the archival does not start
while the audit ledger fails verification (`ledger_override_reason` overrides, recorded).
"""

from __future__ import annotations

from airflow.sdk import TriggerRule, dag, get_current_context, task

from governance.airflow.assets import ARCHIVAL_COMPLETED
from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.forms import optional
from governance.policy import MAX_BATCH_SIZE, load_retention_policy

POLICY = load_retention_policy()  # parse-time validation: a bad file is an import error naming it


@dag(
    dag_id="moderation_log_archival",
    description='"Moderation logs: 90 days (critical — 7 years)": standard ones deleted, critical ones moved to '
    'a WORM archive',
    schedule="30 2 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "retention", "archive", "privacy-policy:4", "privacy-policy:5"],
    default_args=default_args(),
    params={
        "dry_run": optional(True, "boolean", title="Dry run",
                         description="Preview only: count what is due, archive and delete nothing. Runs the "
                                     "schedule makes archive."),
        "cutoff": optional(None, "string", format="date-time", title="Cutoff",
                        description="Instead of the run's cutoff (periods count back from it). Not later than now."),
        "batch_size": optional(POLICY.model.defaults.batch_size, "integer", minimum=1, maximum=MAX_BATCH_SIZE,
                               title="Batch size", description=f"Rows per delete transaction, 1 to "
                               f"{MAX_BATCH_SIZE:,}; empty: {POLICY.model.defaults.batch_size:,}."),
        "ledger_override_reason": optional(
            None, "string", title="Ledger override reason",
            description="Only when the audit ledger fails verification: why to go on anyway (a ticket and a "
                        "reason; no personal data). Kept in the append-only ledger for good."),
    },
)
def moderation_log_archival():
    @task(retries=0)  # what the plan refuses, no retry fixes
    def plan(**context) -> list[dict]:
        from governance.airflow.archive_tasks import plan_archival

        return plan_archival(context)

    # One rule at a time, in the plan's order (archive_tasks.night_order): a month of a partitioned table is
    # dropped whole once what must be archived from it is.
    @task(map_index_template="{{ rule_name }}", max_active_tis_per_dagrun=1)
    def archive(item: dict) -> dict:
        from governance.airflow.archive_tasks import run_archival_rule

        get_current_context()["rule_name"] = item["rule"]
        return run_archival_rule(item)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: list[dict] | None, **context) -> dict:
        from governance.airflow.archive_tasks import write_archival_report

        return write_archival_report(planned, context)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def verdict(summary: dict | None) -> dict:
        from governance.airflow.outcomes import verdict

        verdict(summary)
        return summary

    @task(outlets=[ARCHIVAL_COMPLETED], retries=0)
    def completed(summary: dict) -> None:
        from governance.airflow.outcomes import mark_completed

        mark_completed(summary)

    planned = plan()
    archived = archive.expand(item=planned)
    summary = report(planned)
    archived >> summary
    completed(verdict(summary))


moderation_log_archival()
