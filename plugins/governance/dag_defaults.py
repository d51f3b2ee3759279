"""What every governance DAG shares: start date, owner, retries and the failure callback."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = "data-governance"

log = logging.getLogger("governance.alerts")


def failure_summary(context: Mapping[str, Any]) -> str:
    """One line for on-call: which workflow, task and run failed, and why (no data values)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    task = f"{task_id}[{map_index}]" if map_index not in (None, -1) else task_id
    error = context.get("exception")
    reason = f"{type(error).__name__}: {error}" if error else "no exception recorded"
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
        "on_failure_callback": notify_failure,
        **overrides,
    }
