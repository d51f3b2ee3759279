"""The purge's run report: one JSON document and its HTML rendering for auditors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from governance.errors import Failure
from governance.lifecycle import COUNTERS
from governance.policy import Loaded, RetentionPolicy

FAILED_STATES = ("failed", "refused", "interrupted")


def _failure_text(failure: Mapping[str, Any] | None) -> str | None:
    if not failure:
        return None
    return Failure(step=failure.get("step", "?"), error_class=failure.get("error_class", "?"),
                   code=failure.get("code"), reason=failure.get("reason")).summary()


def rule_status(outcome: Mapping | None, recorded: Mapping | None, dry_run: bool) -> tuple[str, str | None]:
    if recorded and recorded.get("state") in FAILED_STATES:
        return "failed", _failure_text(recorded.get("failure")) or recorded["state"]
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
        status, error = rule_status(outcome, stored, dry_run)
        entry = {"rule": name, "promise": rule.promise, "action": rule.action, "status": status, "error": error,
                 "table": f"{policy.model.database_schema}.{rule.table}"}
        for count in ("eligible", "held", *COUNTERS, "batches"):
            entry[count] = (outcome or {}).get(count, (stored or {}).get(count, 0))
        details = (outcome or {}).get("details", {})
        entry["cutoff"] = (outcome or {}).get("cutoff")
        entry["cutoffs_by_value"] = details.get("cutoffs_by_value")
        entry["longest_batch_ms"] = (outcome or {}).get("longest_batch_ms")
        rules.append(entry)
    # Only like with like: due and held count accounts for an erasure and rows elsewhere, so they have no total.
    totals = {count: sum(entry[count] or 0 for entry in rules) for count in COUNTERS}
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
        "counters": [{"name": name, "meaning": meaning} for name, meaning in COUNTERS.items()],
        "rules": rules,
        "totals": totals,
        "ledger": dict(ledger_state),
    }
