"""The erasure of a data-subject request (GDPR Art. 17), and its certificate.

The erasure itself is `erasure.erase_subjects`: the account rule's cascade, now, on the shared
run lifecycle, with the request as its run (`request:<id>`), so that a second submission finds
it completed and a killed one resumes. Before it, `require_complete_cascade` refuses an
erasure that would leave a table naming the person; its last step proves, from the catalog,
that no table of the schema still holds the person's id (erasure.tables_naming).

The certificate says what went, per category, from the ledger entries of the request's run
(so an attempt that was interrupted is counted once, in its own entry); what was kept, why and
until when, from the rows the law keeps (found by the person's pseudonym, counted, with the
latest end of their retention under the rules of retention.yaml); and the archived critical
moderation events, which hold only the pseudonym already. It names no one: the request id is
the only identifier in it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from governance import ledger
from governance.archive_retrieval import person_in_archive
from governance.data_map import DataMap
from governance.db import sql_text
from governance.errors import PermanentError
from governance.lifecycle import COUNTERS
from governance.policy import RetentionPolicy, RetentionRule
from governance.reports import counted, readable_time

if TYPE_CHECKING:
    import psycopg

ERASURE_VERB = "erasure"


class IncompleteCascade(PermanentError):
    """A table names people but no erasure step covers it; nothing was erased."""


def lifecycle_run_id(request_id: str) -> str:
    """The lifecycle run of a request: one per request id, whichever DAG run does the work."""
    return f"request:{request_id}"


def erase_rule(retention: RetentionPolicy) -> RetentionRule:
    return next(rule for rule in retention.rules if rule.action == "erase_subject")


def require_complete_cascade(conn: psycopg.Connection, data_map: DataMap, retention: RetentionPolicy) -> None:
    """Refuse, before anything is erased, when a table of the schema names people outside the cascade."""
    unmapped = data_map.unmapped_tables(conn, retention.subject.key)
    if unmapped:
        names = ", ".join(f"{retention.database_schema}.{table}" for table in unmapped)
        raise IncompleteCascade(f"{names}: a {retention.subject.key} column that neither the data map nor the "
                                f"cascade of rule {erase_rule(retention).name!r} covers; an erasure would leave "
                                "it. Add the table to both; nothing was erased.")


def erasure_completed(conn: psycopg.Connection, *, workflow: str, rule: str, request_id: str) -> bool:
    """Whether the request's erasure completed in an earlier attempt (its certificate may still be missing)."""
    row = conn.execute(sql_text("lifecycle/run_state.sql"),
                       {"workflow": workflow, "rule": rule, "run_id": lifecycle_run_id(request_id)}).fetchone()
    return bool(row and row[0] == "completed")


def tables_checked(conn: psycopg.Connection, retention: RetentionPolicy) -> int:
    """How many tables of the schema can name a person (those the erasure's final check read)."""
    return len(conn.execute(sql_text("policy/tables_with_column.sql"),
                            {"schema": retention.database_schema, "column": retention.subject.key}).fetchall())


def erased_counts(conn: psycopg.Connection, *, workflow: str, request_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """(totals, per table) of what the request's erasure removed, from its ledger entries: the entry of
    an attempt that was interrupted, and the one that completed (each row is in exactly one)."""
    totals: Counter[str] = Counter()
    by_table: Counter[str] = Counter()
    for entry in ledger.entries_for_run(conn, workflow, lifecycle_run_id(request_id)):
        if entry["action"] not in (f"{ERASURE_VERB}_interrupted", f"{ERASURE_VERB}_completed"):
            continue
        totals.update({name: value for name, value in entry["counts"].items() if name in COUNTERS})
        by_table.update(entry["details"].get("by_table", {}))
    return dict(totals), dict(by_table)


@dataclass(frozen=True)
class Retained:
    table: str
    rows: int
    until: datetime | None  # the latest end of retention among the rows, under the policy's rules


def _until_by_rules(conn: psycopg.Connection, retention: RetentionPolicy, table: str, pseudonym_column: str,
                    pseudonym_value: str) -> datetime | None:
    """The latest moment any of the person's kept rows of `table` may still be kept, under every rule on it."""
    from psycopg import sql

    latest = None
    for rule in retention.rules:
        if rule.table != table or rule.clock is None or rule.action not in ("delete", "archive_then_delete"):
            continue
        group = sql.Identifier(rule.period_by.column) if rule.period_by else sql.NULL
        matches = (sql.SQL("{} = %(equals)s").format(sql.Identifier(rule.where.column)) if rule.where
                   else sql.SQL("true"))
        statement = sql.SQL(sql_text("dsr/retained_by_rule.sql")).format(
            group=group, clock=sql.Identifier(rule.clock), schema=sql.Identifier(retention.database_schema),
            table=sql.Identifier(table), pseudonym_column=sql.Identifier(pseudonym_column), matches=matches)
        params = {"pseudonym": pseudonym_value, "equals": rule.where.equals if rule.where else None}
        for group_value, newest in conn.execute(statement, params):
            if rule.archive is not None:
                period = rule.archive.retain_for  # the table for rule.period, then the archive until this
            elif rule.period_by is not None:
                period = rule.period_by.periods.get(group_value, rule.period_by.default)
            else:
                period = rule.period
            until = period.after(newest)
            latest = until if latest is None or until > latest else latest
    return latest


def retained_rows(conn: psycopg.Connection, retention: RetentionPolicy, pseudonym_value: str) -> list[Retained]:
    """The person's rows that the cascade pseudonymised and the law keeps: count and end of retention."""
    from psycopg import sql

    kept = []
    for step in erase_rule(retention).cascade:
        if step.action != "pseudonymise":
            continue
        statement = sql.SQL(sql_text("dsr/pseudonymised_rows.sql")).format(
            schema=sql.Identifier(retention.database_schema), table=sql.Identifier(step.table),
            pseudonym_column=sql.Identifier(step.pseudonym_column))
        rows = conn.execute(statement, {"pseudonym": pseudonym_value}).fetchone()[0]
        until = _until_by_rules(conn, retention, step.table, step.pseudonym_column, pseudonym_value) if rows else None
        kept.append(Retained(table=step.table, rows=rows, until=until))
    return kept


def archived_events(conn: psycopg.Connection, filesystem: Any, *, data_map: DataMap, bucket: str,
                    pseudonym_value: str) -> dict[str, Any] | None:
    """The person's critical moderation events in the WORM archive: how many, in how many objects, until when."""
    if data_map.archived is None:
        return None
    found = person_in_archive(conn, rule=data_map.archived.rule, bucket=bucket, pseudonym_value=pseudonym_value)
    rows = sum(batch.num_rows for batch in found.batches(filesystem, bucket=bucket, pseudonym_value=pseudonym_value))
    return {"rows": rows, "objects": len(found.objects), "until": found.retain_until if rows else None}


def certificate(*, request: Any, law: str, completed_at: datetime, retention: RetentionPolicy, data_map: DataMap,
                totals: dict[str, int], by_table: dict[str, int], retained: list[Retained],
                archived: dict[str, Any] | None, tables_checked: int, export_bundles_deleted: int,
                ledger_head: dict[str, Any], policy_versions: dict[str, str]) -> dict[str, Any]:
    """The certificate's document (JSON as it is; HTML through dsr_erasure_certificate.html.j2)."""
    by_category = {entry.table: entry for entry in data_map.categories}
    steps = {step.table: step for step in erase_rule(retention).cascade}
    erased = []
    for entry in data_map.categories:
        rows = by_table.get(f"{entry.table}.rows_deleted", 0)
        if steps.get(entry.table) is not None and steps[entry.table].action == "pseudonymise":
            continue
        erased.append({"category": entry.category, "title": entry.title, "rows_deleted": rows,
                       "source": f"{retention.database_schema}.{entry.table}"})
    kept = []
    for item in retained:
        entry = by_category.get(item.table)
        kept.append({
            "category": entry.category if entry else item.table, "title": entry.title if entry else item.table,
            "source": f"{retention.database_schema}.{item.table}", "rows": item.rows,
            "rows_pseudonymised_now": by_table.get(f"{item.table}.rows_pseudonymised", 0),
            "why": steps[item.table].retained_because, "until": item.until,
            "how": "kept with the person replaced by a keyed hash (pseudonymised); the account they belonged to "
                   "no longer exists",
        })
    if archived and archived["rows"]:
        archive_rule = retention.rule(data_map.archived.rule)
        step = steps.get(archive_rule.table)
        kept.append({
            "category": data_map.archived.category, "title": data_map.archived.title,
            "source": "the write-once archive of critical moderation logs", "rows": archived["rows"],
            "rows_pseudonymised_now": 0, "why": step.retained_because if step else archive_rule.promise,
            "until": archived["until"],
            "how": f"in {archived['objects']} locked archive object(s), which hold the keyed hash and never "
                   "held the user id",
        })
    return {
        "report": "dsr_erasure_certificate",
        "request_id": request.request_id,
        "jurisdiction": request.jurisdiction,
        "law": law,
        "received_at": request.received_at,
        "due_at": request.deadline,
        "completed_at": completed_at,
        "on_time": completed_at <= request.deadline,
        "summary": certificate_summary(totals, erased, kept, completed_at),
        "accounts_erased": totals.get("subjects_erased", 0),
        "erased": erased,
        "media": {name: totals.get(name, 0) for name in
                  ("objects_deleted", "object_versions_deleted", "objects_already_absent")},
        "export_bundles_deleted": export_bundles_deleted,  # copies of the person's data made for their requests
        "retained": kept,
        "verification": {"tables_checked": tables_checked, "tables_still_naming_the_person": 0},
        "ledger": ledger_head,
        "policy": policy_versions,
        "counter_meanings": {name: COUNTERS[name].meaning for name in
                             ("rows_deleted", "rows_pseudonymised", "objects_deleted", "object_versions_deleted",
                              "objects_already_absent")},
    }


def certificate_summary(totals: dict[str, int], erased: list[dict[str, Any]], kept: list[dict[str, Any]],
                        completed_at: datetime) -> str:
    """Two or three sentences: what was erased, what was kept and why, and how it was checked."""
    rows = sum(item["rows_deleted"] for item in erased)
    objects = totals.get("objects_deleted", 0)
    kept_rows = sum(item["rows"] for item in kept)
    categories = sum(1 for item in erased if item["rows_deleted"])
    text = (f"On {readable_time(completed_at)} the account was erased: {counted(rows, 'database record')} deleted "
            f"across {counted(categories, 'category', 'categories')}, and {counted(objects, 'image or video file')} "
            "deleted with every stored version. ")
    if kept_rows:
        text += (f"{counted(kept_rows, 'record')} that the law requires us to keep "
                 f"{'were' if kept_rows != 1 else 'was'} kept, with the person replaced by a keyed hash, until "
                 "the dates below. ")
    else:
        text += "Nothing was kept. "
    return text + "No table still holds the account's id."
