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

if TYPE_CHECKING:
    import psycopg

    from governance.data_map import DataMap

WORKFLOW = "data_quality_remediation"
HASH_FORMAT = "expect_column_values_to_match_regex"


class UnknownFinding(PermanentError):
    """A finding id that governance.dq_results does not hold."""


@dataclass
class Remediation:
    """What was done (or, in a dry run, would be done) about one finding."""

    result_id: int
    suite: str
    check: str
    target: str
    action: str  # hashed_in_place, left_to_the_purge, not_automatic, nothing_to_do
    rows: int = 0
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"result_id": self.result_id, "suite": self.suite, "check": self.check, "target": self.target,
                "action": self.action, "rows": self.rows, "why": self.why}


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
