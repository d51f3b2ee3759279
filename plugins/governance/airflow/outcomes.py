"""How a deleting workflow's run ends: its verdict, and the Asset that only a real, fully successful run updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def verdict(summary: Mapping[str, Any] | None) -> None:
    """Fail the run, naming each failed rule and why; a run whose plan or report failed fails too."""
    from airflow.sdk.exceptions import AirflowFailException

    if summary is None:
        raise AirflowFailException("the run did not complete: the plan or the report failed; their logs say why")
    failed = [f"{rule['rule']}: {rule['error']}" for rule in summary["rules"] if rule["status"] == "failed"]
    if failed:
        raise AirflowFailException("rules failed: " + " | ".join(failed))


def mark_completed(summary: Mapping[str, Any]) -> None:
    """Update the workflow's Asset (the task's outlet) only after a real run in which every rule succeeded."""
    from airflow.sdk.exceptions import AirflowSkipException

    if summary["dry_run"]:
        raise AirflowSkipException("a dry run changes nothing: the data-quality checks are not started")
