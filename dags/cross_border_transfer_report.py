"""
### Cross-border transfer report — section 8 of the privacy policy, every month

> We transfer personal data to AI model providers, payment processors, cloud providers and, upon
> lawful request, to law enforcement, in the countries and under the legal bases listed in our
> Cross-Border Data Transfer Policy.

The inventory an auditor signs off: every recipient of `include/policy/transfers.yaml` with its
role, purpose, data categories, destination countries (hosting, access, onward transfers), the
GDPR tool per country (adequacy, SCCs with their module, BCRs, or an Art. 49 derogation), its
transfer impact assessment, its 152-FZ position (adequate country, Roskomnadzor notification,
earliest lawful transfer date) and its review date; the records transferred in the period and
the distinct data subjects, against the previous period; and the findings, each with a severity
and what to do.

**Counts survive the purge**: `retention_purge` and `dsr_erasure` first capture the day's
transfers as aggregates (`governance.transfer_daily`: records, and a sketch of the subjects that
holds no id), then delete. The report reads only those aggregates, so a purge before it changes
nothing. It states its capture coverage ("30 of 30 days captured").

**Schedule**: on the 1st of each month at 05:00 UTC, for the previous calendar month. **Run by
hand**: *Trigger DAG* opens a form with `period_start` and `period_end` (ISO dates, end
exclusive; both empty means the previous month). A period that has not ended, or that ends
before it starts, is refused. Unpausing starts the run for the last month at once: it only
reports, it deletes nothing.

**Evidence**: `transfer_inventory.json`, `.csv`, `.html` (self-contained, opens offline) and
`.pdf` in the reports bucket under `cross_border_transfer_report/<period>/` (`2026-11` for a
month), indexed in `governance.report_index`. The same period on the same data gives
byte-identical JSON and CSV. Their fields: `docs/transfer-report-fields.md`.

**When it fails**: `verdict` fails the run when a finding is critical (an unregistered
recipient, or a transfer before it was lawful under 152-FZ); the report is published first and
says what to do. A bad register fails the DAG import with the entry and the field.
"""

from __future__ import annotations

from airflow.sdk import TriggerRule, dag, task

from governance.airflow.dag_defaults import RUN_TIMEOUT, START_DATE, default_args
from governance.airflow.forms import optional
from governance.register import load_jurisdictions, load_transfer_register

# Parse-time validation: a bad register is an import error naming the entry and the field.
load_transfer_register()
load_jurisdictions()


@dag(
    dag_id="cross_border_transfer_report",
    description='"We transfer personal data to AI model providers, payment processors, cloud providers and law '
    'enforcement": who received what, where, and under which legal basis, each month',
    schedule="0 5 1 * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    doc_md=__doc__,
    tags=["governance", "transfers", "privacy-policy:8"],
    default_args=default_args(),
    params={
        "period_start": optional(None, "string", format="date", title="Period start",
                              description="First day of the period (YYYY-MM-DD). Empty, with Period end empty: "
                              "the previous calendar month."),
        "period_end": optional(None, "string", format="date", title="Period end",
                            description="The day after the period's last day (YYYY-MM-DD, exclusive); not "
                            "later than today."),
    },
)
def cross_border_transfer_report():
    @task
    def capture(**context) -> dict:
        from governance.airflow.transfer_tasks import capture_transfers

        return capture_transfers(context)

    @task  # a refused period fails at once (a permanent error); S3 and database hiccups are retried
    def report(captured: dict, **context) -> dict:
        from governance.airflow.transfer_tasks import write_transfer_report

        return write_transfer_report(context)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def verdict(summary: dict | None) -> None:
        from governance.airflow.transfer_tasks import verdict

        verdict(summary)

    verdict(report(capture()))


cross_border_transfer_report()
