"""Remediation of data-quality findings (data_quality_remediation), by finding id.

What each kind of finding gets:

- a raw value in a column declared to hold a hash (a prompt in `prompt_hash`, an address in
  `ip_hash`): hashed in place, in SQL, for the rows the finding names by key, so the value never
  leaves the database; rows that already hold a hash are left alone, so a rerun changes nothing;
  one ledger entry per finding, with the count;
- rows past their retention period: left to the purge, which removes them on its next real run
  with its own ledger entries (a second path that deletes would bypass the lifecycle);
- anything else (prompt text or an address inside another column, a missing hash, an orphan, an
  archive object): not changed automatically; the outcome says so and why.

A dry run (the form's default) counts what would change and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import sql

from governance import ledger
from governance.db import sql_text
from governance.errors import PermanentError
from governance.quality_batches import key_columns, key_record, primary_key
from governance.reports import counted

if TYPE_CHECKING:
    import psycopg

    from governance.data_map import DataMap

WORKFLOW = "data_quality_remediation"
HASH_FORMAT = "expect_column_values_to_match_regex"
# What each outcome of a finding means, in words for a reader who is not an engineer; the report quotes them.
ACTION_MEANINGS = {
    "hashed_in_place": "the raw value (a prompt or an IP address) was replaced by its SHA-256 hash, computed in the "
                       "database, so the value itself never left it",
    "left_to_the_purge": "rows kept past their period: the nightly purge deletes them, with its own ledger entries",
    "not_automatic": "not changed: a person must look at the rows the finding names and decide",
    "nothing_to_do": "the check had passed, so there was nothing to fix",
}


class UnknownFinding(PermanentError):
    """A finding id that governance.dq_results does not hold."""


@dataclass
class Remediation:
    """What was done (or, in a dry run, would be done) about one finding."""

    result_id: int
    suite: str
    check: str
    target: str
    action: str  # one of ACTION_MEANINGS
    rows: int = 0
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "suite": self.suite, "check": self.check, "target": self.target,
                "action": self.action, "rows": self.rows, "why": self.why}


def remediation_report(*, run_id: str, dry_run: bool, done: list[Remediation]) -> dict[str, Any]:
    """The remediation's report document: each finding, what was done (or would be), and a summary."""
    document = {"workflow": WORKFLOW, "run_id": run_id, "dry_run": dry_run,
                "findings": [{**item.as_dict(), "action_meaning": ACTION_MEANINGS[item.action]} for item in done],
                "rows_hashed": sum(item.rows for item in done if item.action == "hashed_in_place")}
    document["summary"] = remediation_summary(document)
    return document


def remediation_summary(document: dict[str, Any]) -> str:
    """Two or three sentences: what was asked, what was done (or would be), and what is left to whom."""
    findings = document["findings"]
    by_action = {action: sum(1 for item in findings if item["action"] == action) for action in ACTION_MEANINGS}
    hashed = counted(document["rows_hashed"], "row")
    if document["dry_run"]:
        done = (f"This was a preview of the remediation of {counted(len(findings), 'data-quality finding')}, and "
                f"nothing was changed: {hashed} would have a raw value replaced by its SHA-256 hash.")
    else:
        done = (f"The remediation acted on {counted(len(findings), 'data-quality finding')}: {hashed} had a raw value "
                "replaced by its SHA-256 hash, computed in the database, with a ledger entry for each finding.")
    left = []
    if by_action["left_to_the_purge"]:
        left.append(f"{counted(by_action['left_to_the_purge'], 'finding')} of rows past their period "
                    f"{'are' if by_action['left_to_the_purge'] != 1 else 'is'} left to the nightly purge")
    if by_action["not_automatic"]:
        left.append(f"{counted(by_action['not_automatic'], 'finding')} "
                    f"{'need' if by_action['not_automatic'] != 1 else 'needs'} a person to decide")
    return f"{done} {'; '.join(left)}." if left else done


def _finding(conn: psycopg.Connection, result_id: int) -> dict[str, Any]:
    cur = conn.execute(sql_text("quality/finding.sql"), {"result_id": result_id})
    row = cur.fetchone()
    if row is None:
        raise UnknownFinding(f"finding {result_id}: no such result in governance.dq_results")
    return dict(zip([column.name for column in cur.description], row, strict=True))


def _statement(name: str, table: str, column: str, keys: list[tuple[str, str]]) -> sql.Composed:
    schema, _, relation = table.partition(".")
    return sql.SQL(sql_text(f"quality/{name}.sql")).format(
        table=sql.Identifier(schema, relation), column=sql.Identifier(column),
        keys=key_columns(keys), **key_record(keys))


def remediate(conn: psycopg.Connection, data_map: DataMap, result_id: int, *, dry_run: bool,
              run_id: str) -> Remediation:
    """Act on one finding as the module docstring says; never reads a value into Python."""
    from psycopg.types.json import Jsonb

    finding = _finding(conn, result_id)
    table, column = finding["table_name"], finding["column_name"]
    outcome = Remediation(result_id, finding["suite"], finding["check_name"] or finding["expectation"],
                          f"{table}.{column}" if column else str(table), "not_automatic")
    declared = {f"{data_map.database_schema}.{t}.{c}" for kind in ("prompt", "ip_address")
                for t, c in data_map.hashed_columns(kind)}
    if finding["success"]:
        outcome.action, outcome.why = "nothing_to_do", "the check passed"
    elif finding["suite"] == "retention_compliance" and str(outcome.check).startswith("nothing kept past"):
        outcome.action = "left_to_the_purge"
        outcome.why = "the purge removes rows past their period on its next real run, with its own ledger entries"
    elif finding["expectation"] == HASH_FORMAT and outcome.target in declared:
        keys = primary_key(conn, *table.split(".", 1))
        params = {"keys": Jsonb([entry["key"] for entry in finding["sample_keys"]])}
        if dry_run:
            outcome.rows = conn.execute(_statement("unhashed_rows", table, column, keys), params).fetchone()[0]
            outcome.action, outcome.why = "hashed_in_place", "dry run: counted, nothing changed"
        else:
            with conn.transaction():
                outcome.rows = conn.execute(_statement("hash_in_place", table, column, keys), params).rowcount
                if outcome.rows:  # a rerun that finds everything hashed changes nothing, and records nothing
                    ledger.append(conn, ledger.LedgerEntry(
                        workflow=WORKFLOW, action="dq_hashed_in_place", run_id=run_id, target_table=table,
                        counts={"rows_hashed": outcome.rows},
                        details={"result_id": result_id, "suite": finding["suite"], "column": column,
                                 "found_in_run": finding["run_id"]}))
            outcome.action = "hashed_in_place"
            outcome.why = "replaced by its SHA-256, computed in the database; rows already hashed were left alone"
    else:
        outcome.why = ("no automatic remedy: a value inside another column, a missing hash, an orphan or an "
                       "archive object needs a person to decide; the rows are named by key in the finding")
    return outcome
