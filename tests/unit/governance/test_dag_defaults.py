"""The failure alert: one line naming workflow, task, run and reason; it never raises."""

from types import SimpleNamespace

from governance.dag_defaults import failure_summary, notify_failure


def test_alert_names_the_mapped_task_run_and_reason():
    """On-call reads which rule's task failed, in which run, and why."""
    context = {
        "ti": SimpleNamespace(dag_id="retention_purge", task_id="purge", map_index=3),
        "run_id": "scheduled__2026-11-25T02:00:00+00:00",
        "exception": ValueError("rule 'payments': column app.payments.billing_country does not exist"),
    }
    assert failure_summary(context) == (
        "GOVERNANCE ALERT retention_purge.purge[3] failed in run scheduled__2026-11-25T02:00:00+00:00: "
        "ValueError: rule 'payments': column app.payments.billing_country does not exist"
    )


def test_alert_survives_a_context_it_cannot_read(caplog):
    """A broken context still logs an alert line rather than raising inside the callback."""
    notify_failure({"ti": object(), "exception": None})
    assert "GOVERNANCE ALERT" in caplog.text
