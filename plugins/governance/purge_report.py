"""The purge's run report: one JSON document and its HTML rendering for auditors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from governance.policy import Loaded, RetentionPolicy

COUNTS = ("eligible", "held", "rows_deleted", "rows_pseudonymised", "rows_media_marked", "objects_deleted", "batches")


def rule_status(name: str, outcome: Mapping | None, recorded: Mapping | None, dry_run: bool) -> tuple[str, str | None]:
    if recorded and recorded.get("error"):
        return "failed", recorded["error"]
    if outcome is None:
        return "failed", "the task failed before recording an outcome; see its log"
    return ("preview" if dry_run else "completed"), None


def build_purge_report(*, policy: Loaded[RetentionPolicy], run_id: str, run_type: str, run_cutoff: datetime,
                       dry_run: bool, planned_rules: Iterable[str], outcomes: Iterable[Mapping[str, Any]],
                       recorded: Iterable[Mapping[str, Any]], ledger_state: Mapping[str, Any]) -> dict:
    """Merge what each rule's task returned with what the database recorded (which also
    covers rules whose task failed) into the report document."""
    by_rule = {outcome["rule"]: outcome for outcome in outcomes}
    recorded_by_rule = {row["rule"]: row for row in recorded}
    rules = []
    for name in planned_rules:
        rule = policy.model.rule(name)
        outcome, stored = by_rule.get(name), recorded_by_rule.get(name)
        status, error = rule_status(name, outcome, stored, dry_run)
        entry = {"rule": name, "promise": rule.promise, "action": rule.action, "status": status, "error": error}
        entry["table"] = f"{policy.model.database_schema}.{rule.table}"
        entry.update({count: (outcome or {}).get(count, (stored or {}).get(count, 0)) for count in COUNTS})
        for extra in ("cutoff", "cutoffs_by_value", "longest_batch_ms"):
            entry[extra] = (outcome or {}).get(extra)
        rules.append(entry)
    totals = {count: sum(entry[count] or 0 for entry in rules) for count in COUNTS}
    return {
        "report": "retention_purge" + ("_preview" if dry_run else ""),
        "generated_at": datetime.now(UTC).isoformat(),
        "run_id": run_id,
        "run_type": run_type,
        "dry_run": dry_run,
        "run_cutoff": run_cutoff.isoformat(),
        "policy": {
            "file": policy.path.name,
            "sha256": policy.sha256,
            "document": policy.model.document.title,
            "effective": policy.model.document.effective.isoformat(),
        },
        "status": "failed" if any(entry["status"] == "failed" for entry in rules) else "ok",
        "rules": rules,
        "totals": totals,
        "ledger": dict(ledger_state),
    }
