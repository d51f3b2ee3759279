"""What a workflow needs from its Airflow run, as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def run_cutoff(context: Mapping[str, Any]) -> datetime:
    """The instant a run's periods count back from: the end of its data interval, or, for
    manual and asset-triggered runs that have none, the moment the run was due. Never
    now(): a rerun of the same run must compute the same cutoff."""
    moment = context.get("data_interval_end")
    if moment is None:
        dag_run = context.get("dag_run")
        moment = getattr(dag_run, "run_after", None)
    if moment is None:
        raise ValueError("the run has neither data_interval_end nor run_after; cannot fix a cutoff")
    if moment.tzinfo is None:
        raise ValueError(f"cutoff {moment} has no time zone")
    return moment.astimezone(UTC)


def run_type(context: Mapping[str, Any]) -> str:
    dag_run = context.get("dag_run")
    value = getattr(dag_run, "run_type", "manual")
    return str(getattr(value, "value", value))
