"""What every governance DAG shares: start date, owner, retries, time limits and the failure alert."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = "data-governance"
# A task that runs longer than this is stuck (a lock it cannot get, an S3 call that hangs):
# it is stopped and retried rather than holding its rule's lock all night.
TASK_TIMEOUT = timedelta(hours=3)
RUN_TIMEOUT = timedelta(hours=8)  # dagrun_timeout: a nightly run must end before the next one

log = logging.getLogger("governance.alerts")


def failure_summary(context: Mapping[str, Any]) -> str:
    """One line for on-call: which workflow, task and run failed, and why (no data values).

    Only the product's own errors keep their message; any other error is named by its class
    (a database or S3 message can quote row values)."""
    from governance.errors import GovernanceError, error_code

    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    task = f"{task_id}[{map_index}]" if map_index not in (None, -1) else task_id
    error = context.get("exception")
    if error is None:
        reason = "no exception recorded"
    elif isinstance(error, GovernanceError) or type(error).__module__.startswith("airflow."):
        reason = f"{type(error).__name__}: {error}"
    else:
        code = error_code(error)
        reason = f"{type(error).__name__}{f' ({code})' if code else ''}; see the task log"
    return f"GOVERNANCE ALERT {dag_id}.{task} failed in run {context.get('run_id', '?')}: {reason}"


def notify_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: log an ERROR line that log-based alerting can match on. Never raises."""
    try:
        log.error(failure_summary(context))
    except Exception:  # a failing callback must never hide the task's own failure
        log.exception("GOVERNANCE ALERT: could not summarise a task failure")


def default_args(**overrides: Any) -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": TASK_TIMEOUT,
        "on_failure_callback": notify_failure,
        # Each task logs its plan, its progress and a summary line of its own; Airflow's echo of the
        # returned dict ("Returned value was: {...}") would end every log with a line nobody can read.
        "show_return_value_in_logs": False,
        **overrides,
    }
