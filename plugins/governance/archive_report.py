"""The moderation-log archival's run report: per rule, per month, per object, and the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from governance.lifecycle import COUNTERS
from governance.policy import Loaded, RetentionPolicy
from governance.purge_report import rule_status


def _months(outcomes: Iterable[Mapping[str, Any]], policy: Loaded[RetentionPolicy]) -> list[dict[str, Any]]:
    """Per event month: rows archived, deleted (standard, and critical past 7 years), expired and held."""
    months: dict[str, dict[str, int]] = {}

    def add(month: str, column: str, value: int) -> None:
        row = months.setdefault(month, {"archived": 0, "deleted": 0, "expired_objects": 0, "held": 0})
        row[column] += value

    for outcome in outcomes:
        rule = policy.model.rule(outcome["rule"])
        for month, counts in (outcome.get("months") or {}).items():
            add(month, "held", counts.get("held", 0))
            if rule.action == "delete":
                add(month, "deleted", counts.get("due", 0))
        for obj in outcome.get("objects", []):
            month = obj["partition_key"].removeprefix("month=")
            if obj["state"] == "expired":
                add(month, "expired_objects", 1)
            else:
                add(month, "archived", obj["rows_removed"])
    return [{"month": month, **counts} for month, counts in sorted(months.items())]


def build_archival_report(*, policy: Loaded[RetentionPolicy], run_id: str, run_type: str, run_cutoff: datetime,
                          dry_run: bool, planned: Iterable[Mapping[str, Any]], outcomes: Iterable[Mapping[str, Any]],
                          recorded: Iterable[Mapping[str, Any]], ledger_state: Mapping[str, Any],
                          archive_bucket: str) -> dict[str, Any]:
    outcomes = list(outcomes)
    by_rule = {outcome["rule"]: outcome for outcome in outcomes}
    recorded_by_rule = {row["rule"]: row for row in recorded}
    rules = []
    for item in planned:
        rule = policy.model.rule(item["rule"])
        outcome, stored = by_rule.get(item["rule"]), recorded_by_rule.get(item["rule"])
        status, error = rule_status(outcome, stored, dry_run)
        entry = {"rule": rule.name, "promise": rule.promise, "action": rule.action, "status": status, "error": error,
                 "table": f"{policy.model.database_schema}.{rule.table}", "period": str(rule.period),
                 "cutoff": (outcome or {}).get("cutoff")}
        for count in ("eligible", "held", *COUNTERS, "batches"):
            entry[count] = (outcome or {}).get(count, (stored or {}).get(count, 0))
        rules.append(entry)
    objects = [obj for outcome in outcomes for obj in outcome.get("objects", [])]
    return {
        "report": "moderation_log_archival" + ("_preview" if dry_run else ""),
        "generated_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "run_type": run_type,
        "dry_run": dry_run,
        "run_cutoff": run_cutoff.isoformat(),
        "archive_bucket": archive_bucket,
        "policy": {"file": policy.path.name, "sha256": policy.sha256, "document": policy.model.document.title,
                   "effective": policy.model.document.effective.isoformat()},
        "status": "failed" if any(entry["status"] == "failed" for entry in rules) else "ok",
        "counters": [{"name": name, "meaning": meaning} for name, meaning in COUNTERS.items()],
        "rules": rules,
        "months": _months(outcomes, policy),
        "objects": objects,
        "totals": {count: sum(entry[count] or 0 for entry in rules) for count in COUNTERS},
        "ledger": dict(ledger_state),
    }
