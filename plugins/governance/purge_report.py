"""The purge's run report: one JSON document and its HTML rendering for auditors.

The report is read by people who are not engineers: it opens with a summary in plain words, says
each rule's period as the policy does, explains every column and action (the words are those of
lifecycle.COUNTERS and policy.ACTION_MEANINGS, written once), and never adds up counts of different
units: an account erased is not a row, and a media file is neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from governance.errors import Failure
from governance.lifecycle import COUNTERS
from governance.policy import ACTION_MEANINGS, Loaded, RetentionPolicy, RetentionRule
from governance.reports import counted, readable_time

FAILED_STATES = ("failed", "refused", "interrupted")
# The counters the purge's engine records, the columns of its report (the others are the archival's).
PURGE_COUNTERS = ("subjects_erased", "rows_deleted", "rows_pseudonymised", "rows_media_marked", "objects_deleted",
                  "objects_already_absent", "object_versions_deleted")
RUN_TYPE_WORDS = {"scheduled": "The nightly retention purge", "manual": "A retention purge started by hand"}


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


def counter_rows(names: Iterable[str] = COUNTERS) -> list[dict[str, str]]:
    """The counters as a report lists them: name, heading, unit and meaning (from lifecycle.COUNTERS)."""
    return [{"name": name, "label": COUNTERS[name].label, "unit": COUNTERS[name].unit,
             "meaning": COUNTERS[name].meaning} for name in names]


def due_unit(rule: RetentionRule) -> str:
    """What a rule's due and held count: people for an erasure, rows for every other rule."""
    return "account" if rule.action == "erase_subject" else "row"


def kept_by_law(rule: RetentionRule, by_table: Mapping[str, int], schema: str) -> list[dict[str, Any]]:
    """The rows an erasure pseudonymised instead of deleting, per table, with the reason the policy gives."""
    return [{"table": f"{schema}.{step.table}", "rows": by_table.get(f"{step.table}.rows_pseudonymised", 0),
             "why": step.retained_because} for step in rule.cascade if step.action == "pseudonymise"]


def media_note(rule: RetentionRule, entry: Mapping[str, Any]) -> str | None:
    """Why the rows and the media files of a rule differ in number, from the counts the purge records.

    The purge counts files by key (each deleted, or already gone), not rows without a file, so the
    difference is worked out, and said to be: rows that named no file of their own."""
    if rule.action == "erase_subject":
        media_tables = [step.table for step in rule.cascade if step.media_column]
        if not entry["by_table"]:
            return None
        rows = sum(entry["by_table"].get(f"{table}.rows_deleted", 0) for table in media_tables)
        handled = f"{counted(rows, 'row')} of {' and '.join(media_tables)} deleted with the accounts"
    elif rule.media_column:
        rows = entry["rows_media_marked"] if rule.action == "delete_media" else entry["rows_deleted"]
        handled = f"{counted(rows, 'row')} {'marked' if rule.action == 'delete_media' else 'deleted'}"
    else:
        return None
    files = entry["objects_deleted"] + entry["objects_already_absent"]
    if rows == files:
        return None
    handled = handled[0].upper() + handled[1:] + f", {counted(files, 'media file')} deleted or already gone: "
    if rows > files:
        return handled + (f"{counted(rows - files, 'row')} named no media file (rows less files: the purge counts "
                          "files, not the rows without one).")
    return handled + (f"{counted(files - rows, 'file')} more than rows, because files are deleted before their "
                      "rows, and a batch that stopped in between kept its rows for the next run.")


def partitions_entry(rule: str, outcome: Mapping | None, dropped: Mapping[str, list[dict[str, Any]]] | None,
                     dry_run: bool) -> dict[str, Any] | None:
    """A rule's whole-partition drops for its report (partition_purge): in a preview, what it would drop; after a
    run, what it dropped (from governance.partition_drops, so a rule whose task failed is listed too), and the
    expired partitions it deleted row by row instead, with why. None when its table is not partitioned on its
    clock."""
    details = (outcome or {}).get("details", {})
    if "partitions_to_drop" not in details and not (dropped or {}).get(rule):
        return None
    return {"to_drop": details.get("partitions_to_drop", []),
            "dropped": [] if dry_run else (dropped or {}).get(rule, []),
            "walked_instead": details.get("partitions_walked_instead", {}),
            "not_dropped_because": details.get("partitions_not_dropped_because")}


def partitions_note(entry: Mapping[str, Any], dry_run: bool) -> str | None:
    """What the partitions section says of a rule, in one sentence for its row."""
    partitions = entry.get("partitions")
    if not partitions:
        return None
    if partitions["not_dropped_because"]:
        return f"Its expired months were deleted row by row, not dropped whole: {partitions['not_dropped_because']}."
    if dry_run:
        return (f"It would drop {counted(len(partitions['to_drop']), 'monthly partition')} whole (listed below)."
                if partitions["to_drop"] else None)
    dropped = partitions["dropped"]
    if not dropped:
        return None
    held = sum(item["held_rows_moved"] for item in dropped)
    note = (f"{counted(sum(item['rows_deleted'] for item in dropped), 'row')} of these went with "
            f"{counted(len(dropped), 'monthly partition')} dropped whole (listed below)")
    return note + (f"; {counted(held, 'row')} of people under a legal hold in them were kept." if held else ".")


def erased_rows_note(rule: RetentionRule, entry: Mapping[str, Any]) -> str | None:
    """Where an erasure's rows went, per table: accounts and rows are counted apart."""
    if rule.action != "erase_subject" or not entry["by_table"]:
        return None
    deleted = [f"{table.removesuffix('.rows_deleted')} {count:,}" for table, count in sorted(entry["by_table"].items())
               if table.endswith(".rows_deleted") and count]
    if not deleted:
        return None
    return (f"The {counted(entry['subjects_erased'], 'account')} erased had {counted(entry['rows_deleted'], 'row')} "
            f"deleted: {', '.join(deleted)}.")


def _sum_by_unit(rules: Iterable[Mapping[str, Any]], count: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for entry in rules:
        totals[entry["due_unit"]] = totals.get(entry["due_unit"], 0) + (entry[count] or 0)
    return totals


def _and(parts: list[str]) -> str:
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def _accounts_and_rows(by_unit: Mapping[str, int]) -> str:
    parts = [counted(by_unit[unit], unit) for unit in ("account", "row") if by_unit.get(unit)]
    return _and(parts)


def purge_summary(document: Mapping[str, Any]) -> str:
    """Two or three sentences: what ran, what went, what was kept and why. Figures are the report's own."""
    rules, totals = document["rules"], document["totals"]
    who = RUN_TYPE_WORDS.get(document["run_type"], "The retention purge")
    failed = [entry["rule"] for entry in rules if entry["status"] == "failed"]
    ran = (f"{who} applied {counted(len(rules), 'rule')} of the privacy policy, with periods counted back from "
           f"{readable_time(document['run_cutoff'])}")
    ran += f"; {counted(len(failed), 'rule')} failed ({', '.join(failed)}), as explained below." if failed else "."
    held = _accounts_and_rows(_sum_by_unit(rules, "held"))
    if document["dry_run"]:
        due = _accounts_and_rows(_sum_by_unit(rules, "eligible"))
        went = (f"This was a preview, and nothing was deleted: {due} had passed their retention period, which a "
                "real run would remove." if due else "This was a preview, and nothing was due.")
        kept = f" It would keep {held} belonging to people under a legal hold." if held else ""
        return f"{ran} {went}{kept}"
    removed = []
    if totals["subjects_erased"]:
        removed.append(f"erased {counted(totals['subjects_erased'], 'account')}")
    deleted = []
    if totals["rows_deleted"]:
        of_accounts = sum(entry["rows_deleted"] for entry in rules if entry["action"] == "erase_subject")
        within = f" ({of_accounts:,} of them the erased accounts')" if of_accounts and totals["subjects_erased"] else ""
        deleted.append(f"{counted(totals['rows_deleted'], 'row')}{within}")
    if totals["objects_deleted"]:
        deleted.append(f"{counted(totals['objects_deleted'], 'image or video file')}, every stored version")
    if deleted:
        removed.append(f"deleted {_and(deleted)}")
    went = (f"Of what had passed its retention period, it {', and '.join(removed)}." if removed
            else "Nothing was due, so nothing was deleted.")
    kept_parts = []
    if totals["rows_pseudonymised"]:
        kept_parts.append(f"{counted(totals['rows_pseudonymised'], 'row')} that the law requires, with the person "
                          "replaced by a keyed hash (why, per kind of data, is below)")
    if totals["rows_media_marked"]:
        kept_parts.append(f"{counted(totals['rows_media_marked'], 'row')} whose prohibited image or video was "
                          "deleted, as the record of its removal")
    if held:
        kept_parts.append(f"{held} belonging to people under a legal hold, unchanged")
    kept = f" It kept {'; '.join(kept_parts[:-1])}{'; and ' if len(kept_parts) > 1 else ''}{kept_parts[-1]}." \
        if kept_parts else ""
    return f"{ran} {went}{kept}"


def _rule_entry(policy: Loaded[RetentionPolicy], rule: RetentionRule, outcome: Mapping | None, stored: Mapping | None,
                dry_run: bool, partitions_dropped: Mapping[str, list[dict[str, Any]]] | None) -> dict[str, Any]:
    status, error = rule_status(outcome, stored, dry_run)
    entry = {"rule": rule.name, "promise": rule.promise, "action": rule.action, "status": status, "error": error,
             "table": f"{policy.model.database_schema}.{rule.table}", "period_words": rule.period_words(),
             "action_meaning": ACTION_MEANINGS[rule.action], "due_unit": due_unit(rule)}
    for count in ("eligible", "held", *COUNTERS, "batches"):
        entry[count] = (outcome or {}).get(count, (stored or {}).get(count, 0))
    entry["by_table"] = (outcome or {}).get("by_table") or (stored or {}).get("by_table") or {}
    details = (outcome or {}).get("details", {})
    entry["cutoff"] = (outcome or {}).get("cutoff") or (stored or {}).get("cutoff")
    entry["cutoffs_by_value"] = details.get("cutoffs_by_value")
    entry["longest_batch_ms"] = (outcome or {}).get("longest_batch_ms")
    entry["kept_by_law"] = kept_by_law(rule, entry["by_table"], policy.model.database_schema)
    entry["partitions"] = partitions_entry(rule.name, outcome, partitions_dropped, dry_run)
    entry["notes"] = [note for note in (erased_rows_note(rule, entry), media_note(rule, entry),
                                        partitions_note(entry, dry_run)) if note]
    return entry


def build_purge_report(*, policy: Loaded[RetentionPolicy], run_id: str, run_type: str, run_cutoff: datetime,
                       dry_run: bool, planned_rules: Iterable[str], outcomes: Iterable[Mapping[str, Any]],
                       recorded: Iterable[Mapping[str, Any]], ledger_state: Mapping[str, Any],
                       partitions_dropped: Mapping[str, list[dict[str, Any]]] | None = None) -> dict:
    """Merge what each rule's task returned with what the database recorded (which also
    covers rules whose task failed) into the report document."""
    by_rule = {outcome["rule"]: outcome for outcome in outcomes}
    recorded_by_rule = {row["rule"]: row for row in recorded}
    rules = [_rule_entry(policy, policy.model.rule(name), by_rule.get(name), recorded_by_rule.get(name), dry_run,
                         partitions_dropped) for name in planned_rules]
    # Only like with like: each total is one counter over the rules, so one unit. Due and held have no
    # total: they count accounts for an erasure and rows for every other rule.
    totals = {count: sum(entry[count] or 0 for entry in rules) for count in COUNTERS}
    document = {
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
        "counters": counter_rows(),
        "columns": counter_rows(PURGE_COUNTERS),
        "rules": rules,
        "totals": totals,
        "ledger": dict(ledger_state),
    }
    document["summary"] = purge_summary(document)
    return document
