"""How a deleting workflow's run ends: its verdict, and the Asset that only a real, fully successful run updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RunRecord:
    """What a deleting workflow's report is built from: the mapped tasks' outcomes, the lifecycle's records
    of the run, and the ledger's state."""

    run_id: str
    dry_run: bool
    cutoff: datetime
    outcomes: list[dict[str, Any]]
    recorded: list[dict[str, Any]]
    ledger_state: dict[str, Any]
    partitions_dropped: dict[str, list[dict[str, Any]]]  # rule -> the partitions it dropped whole


def planned_or_skip(planned: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The plan's items; a report task whose plan failed is skipped (nothing ran)."""
    from airflow.sdk.exceptions import AirflowSkipException

    if planned is None:
        raise AirflowSkipException("the plan failed, so nothing ran; its log says why")
    return planned


def run_record(conn: Any, s3: Any, planned: list[dict[str, Any]], context: Mapping[str, Any], *, workflow: str,
               task_id: str) -> RunRecord:
    """The outcomes the mapped task `task_id` returned, the run's recorded rule runs and the ledger's state."""
    from governance.airflow.runs import run_cutoff
    from governance.ledger_audit import ledger_state
    from governance.lifecycle import run_outcomes
    from governance.partition_purge import dropped_in_run

    run_id = context["run_id"]
    pulled = context["ti"].xcom_pull(task_ids=task_id, map_indexes=range(len(planned)), default=None) or []
    dry = bool(planned and planned[0]["dry_run"])
    return RunRecord(
        run_id=run_id, dry_run=dry,
        cutoff=datetime.fromisoformat(planned[0]["run_cutoff"]) if planned else run_cutoff(context),
        outcomes=[outcome for outcome in pulled if outcome],
        recorded=[] if dry else run_outcomes(conn, workflow, run_id),
        ledger_state=ledger_state(conn, s3, workflow=workflow, run_id=run_id),
        partitions_dropped={} if dry else {
            item["rule"]: [dropped.as_dict() for dropped in dropped_in_run(conn, workflow, run_id, item["rule"])]
            for item in planned})


def report_summary(document: Mapping[str, Any], dry_run: bool, keys: list[str]) -> dict[str, Any]:
    """What the verdict reads of a report: its status, and each rule's status and error."""
    return {"status": document["status"], "dry_run": dry_run, "reports": keys,
            "rules": [{"rule": r["rule"], "status": r["status"], "error": r["error"]} for r in document["rules"]]}


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
