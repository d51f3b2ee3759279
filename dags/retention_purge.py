"""
### Retention purge — section 5 of the privacy policy, every night

> **Account data**: until account deletion + 30 days · **Generations**: until deleted by
> the user or upon account deletion · **Payment information**: as required by applicable
> law · **Prohibited content**: images/videos that violate our policies are immediately deleted.

One mapped task per rule of `include/policy/retention.yaml` (its `retention_purge` rules).
Each rule counts what is due, refuses to run past its safety cap, writes a ledger entry,
then deletes in short batches: each batch locks its rows and re-checks the legal holds,
deletes every version of their media objects, then the rows. Rows of people under an
active legal hold (`governance.legal_holds`) are kept and counted as *held*. Payments,
moderation events and disclosures of erased accounts are pseudonymised, not deleted.

**Partitioned tables**: on a table range-partitioned by month on the rule's clock, each
month wholly past the cutoff is dropped whole (held rows moved to the DEFAULT partition
first, the table locked for milliseconds); the report lists each month with its rows, and
a preview lists the months it would drop.

**Cutoff**: the run's `data_interval_end` (or `run_after` for manual runs), never `now()`,
so a rerun of the same run does the same thing and nothing more.

**Run by hand**: *Trigger DAG* opens a form. `dry_run` is on by default there: the run
then only writes a preview report of what each rule would remove. An explicit `dry_run`
is always honoured, also from the REST API or another DAG; a run without one purges only
when the schedule made it. Unknown fields are refused. A run dated in the future is
refused.

**Unpausing** (also through the form's "Unpause on trigger" box, ticked by default) makes
the scheduler start a run for the last night at once. That run, like every scheduled run,
**only previews until the deployment sets `GOVERNANCE_SCHEDULED_DELETES=enabled`**; then
the nightly runs purge. From a shell: `airflow dags trigger retention_purge -c '{"dry_run": false}'`.

**Transfers are counted first**: `capture_transfers` keeps the transfers recorded up to the
cutoff as aggregates for `cross_border_transfer_report`; nothing is purged until it has.

**Evidence**: ledger rows in `governance.audit_ledger`; a JSON and HTML report in the
reports bucket under `retention_purge/<date>/<run>/`, indexed in `governance.report_index`.

**When it fails**: the `verdict` task names each failed rule and why, by error class,
SQLSTATE and step (never a database message, which can quote personal data). A rule that
names a missing table or column, or hits its cap, fails before deleting anything; the other
rules still run. A killed run is safe to rerun: the next run finishes the work and records
the interrupted run's counts in the ledger. A second run of a rule while one is running
fails at once. The purge does not start while the audit ledger fails verification: find
out why first (see `audit_ledger_verification`); to purge anyway, trigger with
`ledger_override_reason`, which the ledger records.

**Asset**: `retention_purge_completed` is updated only by a real run in which every rule
succeeded; the data-quality checks follow it.
"""

from __future__ import annotations

from airflow.sdk import TriggerRule, dag, get_current_context, task

from governance.airflow.assets import PURGE_COMPLETED
from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.forms import optional
from governance.policy import MAX_BATCH_SIZE, load_retention_policy

POLICY = load_retention_policy()  # parse-time validation: a bad file is an import error naming it
RULES = [rule.name for rule in POLICY.model.rules_for("retention_purge")]


@dag(
    dag_id="retention_purge",
    description='"Account data: until account deletion + 30 days; generations: until deleted by the user" and '
    'the rest of section 5',
    schedule="0 2 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "retention", "privacy-policy:5"],
    default_args=default_args(),
    params={
        "dry_run": optional(
            True,
            "boolean",
            title="Dry run",
            description="Preview only: count what is due, delete nothing. Scheduled runs purge once the "
            "deployment sets GOVERNANCE_SCHEDULED_DELETES=enabled.",
        ),
        "rules": optional(
            [],
            "array",
            items={"type": "string", "enum": RULES},
            examples=RULES,  # renders a multi-select of the policy's rules
            title="Rules",
            description="Run only these rules; empty runs all of them.",
        ),
        "batch_size": optional(
            POLICY.model.defaults.batch_size,
            "integer",
            minimum=1,
            maximum=MAX_BATCH_SIZE,
            title="Batch size",
            description=f"Rows per delete transaction, 1 to {MAX_BATCH_SIZE:,}; empty: "
            f"{POLICY.model.defaults.batch_size:,}.",
        ),
        "max_rows_per_rule": optional(
            POLICY.model.defaults.max_rows_per_rule,
            "integer",
            minimum=1,
            title="Max rows per rule",
            description="Safety cap: a rule with more rows due than this fails, deleting nothing.",
        ),
        "ledger_override_reason": optional(
            None,
            "string",
            title="Ledger override reason",
            description="Only when the audit ledger fails verification: why to purge anyway (a ticket and a "
            "reason; no personal data). Kept in the append-only ledger for good.",
        ),
    },
)
def retention_purge():
    @task
    def capture_transfers(**context) -> dict:
        from governance.airflow.transfer_tasks import capture_transfers

        return capture_transfers(context)

    @task(retries=0)  # what the plan refuses, no retry fixes
    def plan(**context) -> list[dict]:
        from governance.airflow.purge_tasks import plan_purge

        return plan_purge(context)

    @task(map_index_template="{{ rule_name }}")
    def purge(item: dict) -> dict:
        from governance.airflow.purge_tasks import run_rule

        get_current_context()["rule_name"] = item["rule"]
        return run_rule(item)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: list[dict] | None, **context) -> dict:
        from governance.airflow.purge_tasks import write_report

        return write_report(planned, context)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def verdict(summary: dict | None) -> dict:
        from governance.airflow.outcomes import verdict

        verdict(summary)
        return summary

    @task(outlets=[PURGE_COMPLETED], retries=0)
    def completed(summary: dict) -> None:
        from governance.airflow.outcomes import mark_completed

        mark_completed(summary)

    planned = plan()
    capture_transfers() >> planned  # transfers are counted before anything that records them is deleted
    purged = purge.expand(item=planned)
    summary = report(planned)
    purged >> summary
    completed(verdict(summary))


retention_purge()
