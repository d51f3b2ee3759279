"""The moderation-log archival's run report: per rule, per month, per object, and the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from governance.lifecycle import COUNTERS
from governance.policy import ACTION_MEANINGS, Loaded, RetentionPolicy
from governance.purge_report import counter_rows, partitions_entry, partitions_note, rule_status
from governance.reports import counted, readable_time

# The counters the archival records, the columns of its report.
ARCHIVAL_COUNTERS = ("rows_deleted", "rows_archived", "objects_written", "objects_expired", "objects_legal_held",
                     "objects_legal_hold_released")


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
                          archive_bucket: str,
                          partitions_dropped: Mapping[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
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
                 "period_words": rule.period_words(), "action_meaning": ACTION_MEANINGS[rule.action],
                 "cutoff": (outcome or {}).get("cutoff") or (stored or {}).get("cutoff")}
        for count in ("eligible", "held", *COUNTERS, "batches"):
            entry[count] = (outcome or {}).get(count, (stored or {}).get(count, 0))
        entry["partitions"] = partitions_entry(rule.name, outcome, partitions_dropped, dry_run)
        entry["notes"] = [note for note in (partitions_note(entry, dry_run),) if note]
        rules.append(entry)
    objects = [obj for outcome in outcomes for obj in outcome.get("objects", [])]
    document = {
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
        "counters": counter_rows(),
        "columns": counter_rows(ARCHIVAL_COUNTERS),
        "rules": rules,
        "months": _months(outcomes, policy),
        "objects": objects,
        "totals": {count: sum(entry[count] or 0 for entry in rules) for count in COUNTERS},
        "ledger": dict(ledger_state),
    }
    document["summary"] = archival_summary(document)
    return document


def archival_summary(document: Mapping[str, Any]) -> str:
    """Two or three sentences: what ran, what was archived and deleted, what was kept and why."""
    rules, totals = document["rules"], document["totals"]
    failed = [entry["rule"] for entry in rules if entry["status"] == "failed"]
    ran = (f"The moderation-log archival applied {counted(len(rules), 'rule')} of the privacy policy, with periods "
           f"counted back from {readable_time(document['run_cutoff'])}")
    ran += f"; {counted(len(failed), 'rule')} failed ({', '.join(failed)}), as explained below." if failed else "."
    held = sum(entry["held"] or 0 for entry in rules)
    kept = (f" {counted(held, 'event')} of people under a legal hold stayed in the table, unchanged."
            if held else "")
    if document["dry_run"]:
        due = sum(entry["eligible"] or 0 for entry in rules)
        return (f"{ran} This was a preview, and nothing was archived or deleted: {counted(due, 'event')} had passed "
                f"their period, which a real run would archive or delete.{kept}")
    went = []
    if totals["rows_archived"]:
        files = f" ({counted(totals['objects_written'], 'new locked file')})" if totals["objects_written"] else ""
        went.append(f"moved {counted(totals['rows_archived'], 'critical event')} to the write-once archive{files}")
    if totals["rows_deleted"]:
        went.append(f"deleted {counted(totals['rows_deleted'], 'event')} whose period had ended, without archiving "
                    "them")
    if totals["objects_expired"]:
        went.append(f"deleted {counted(totals['objects_expired'], 'archive file')} whose period was over")
    did = f"It {'; '.join(went)}." if went else "Nothing was due, so nothing was archived or deleted."
    return f"{ran} {did}{kept}"
