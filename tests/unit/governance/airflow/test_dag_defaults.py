"""The failure alert: one line naming workflow, task, run and reason; it never raises, and it never
repeats what a database or S3 error message said."""

from types import SimpleNamespace

import psycopg

from governance.airflow.dag_defaults import failure_summary, notify_failure
from governance.errors import PermanentError

TI = SimpleNamespace(dag_id="retention_purge", task_id="purge", map_index=3)
RUN = "scheduled__2026-11-25T02:00:00+00:00"


def test_alert_names_the_mapped_task_run_and_reason():
    """On-call reads which rule's task failed, in which run, and why."""
    context = {"ti": TI, "run_id": RUN,
               "exception": PermanentError("rule 'payments': column app.payments.billing_country does not exist")}
    assert failure_summary(context) == (
        f"GOVERNANCE ALERT retention_purge.purge[3] failed in run {RUN}: "
        "PermanentError: rule 'payments': column app.payments.billing_country does not exist"
    )


def test_alert_names_a_database_error_by_class_and_sqlstate_only():
    """A psycopg error's text can hold a failing row ("user3@example.org"); the alert keeps only its class
    and SQLSTATE."""
    error = psycopg.errors.CheckViolation("new row violates check\nDETAIL: Failing row contains (user3@example.org)")
    summary = failure_summary({"ti": TI, "run_id": RUN, "exception": error})
    assert "example.org" not in summary
    assert summary.endswith("CheckViolation; see the task log") or "CheckViolation" in summary


def test_alert_survives_a_context_it_cannot_read(caplog):
    """A broken context still logs an alert line rather than raising inside the callback."""
    notify_failure({"ti": object(), "exception": None})
    assert "GOVERNANCE ALERT" in caplog.text
