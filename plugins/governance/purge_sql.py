"""The SQL of one retention rule, with its identifiers quoted, and the block walk's ranges.

Statements come from include/sql/purge/; identifiers from the policy go through
psycopg.sql.Identifier, values are bound as parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from psycopg import sql

from governance.db import sql_text
from governance.policy import CascadeStep, RetentionPolicy, RetentionRule

MAX_ROWS_PER_BLOCK = 291  # MaxHeapTuplesPerPage for 8 kB blocks: the most rows one heap block holds
BLOCK_SCAN_FACTOR = 8  # a block range spans at most the blocks that hold 8 x batch_size rows


def _fragment(name: str, **identifiers: Any) -> sql.Composed:
    return sql.SQL(sql_text(f"purge/{name}.sql").strip()).format(**identifiers)


class RuleStatements:
    """The rule's SQL, with its identifiers quoted, and the values they bind.

    Without a run cutoff no clock decides what is due (an erasure on request): every row the
    caller names is due, unless held.
    """

    def __init__(self, policy: RetentionPolicy, rule: RetentionRule, run_cutoff: datetime | None):
        self.schema = policy.database_schema
        self.rule = rule
        self.table = sql.Identifier(self.schema, rule.table)
        self.key = sql.Identifier(rule.key)
        self.params: dict[str, Any] = {}
        self.cutoff, self.cutoffs_by_value = self._cutoffs(run_cutoff) if run_cutoff else (None, {})
        self.due = self._due() if run_cutoff else sql.SQL("TRUE")
        self.held = (
            _fragment("held", subject_column=sql.Identifier(rule.subject_column))
            if rule.subject_column
            else sql.SQL("FALSE")
        )

    def _cutoffs(self, run_cutoff: datetime) -> tuple[datetime, dict[str, datetime]]:
        rule = self.rule
        if rule.period_by:
            by_value = {value: period.before(run_cutoff) for value, period in rule.period_by.periods.items()}
            return rule.period_by.default.before(run_cutoff), by_value
        return (rule.period.before(run_cutoff) if rule.period else run_cutoff), {}

    def _due(self) -> sql.Composable:
        rule = self.rule
        self.params["cutoff"] = self.cutoff
        if rule.action == "delete_media":
            flag = rule.flagged_by
            self.params["flag_value"] = flag.where.equals
            due = _fragment(
                "due_flagged_media",
                media_column=sql.Identifier(rule.media_column),
                marker_column=sql.Identifier(rule.marker_column),
                key=self.key,
                flag_table=sql.Identifier(self.schema, flag.table),
                flag_column=sql.Identifier(flag.column),
                flag_where_column=sql.Identifier(flag.where.column),
            )
        elif rule.period_by:
            self.params["period_values"] = list(self.cutoffs_by_value)
            self.params["period_cutoffs"] = list(self.cutoffs_by_value.values())
            due = _fragment(
                "due_by_column_periods",
                clock=sql.Identifier(rule.clock),
                period_column=sql.Identifier(rule.period_by.column),
            )
        else:
            due = _fragment("due_by_clock", clock=sql.Identifier(rule.clock))
        if rule.where:
            self.params["where_value"] = rule.where.equals
            due = sql.SQL("{} AND {}").format(due, _fragment("row_filter", column=sql.Identifier(rule.where.column)))
        return due

    def statement(self, name: str, *, heap: sql.Identifier | None = None, area: str = "purge",
                  **extra: Any) -> sql.Composed:
        """Statement NAME of include/sql/AREA/ on the rule's table (or on one of its partitions, `heap`)."""
        return sql.SQL(sql_text(f"{area}/{name}.sql")).format(
            table=heap or self.table, key=self.key, due=self.due, held=self.held, **extra
        )

    def media_expression(self) -> sql.Composable:
        return sql.SQL("t.{}").format(sql.Identifier(self.rule.media_column)) if self.rule.media_column else sql.NULL

    def cascade(self, step: CascadeStep, name: str) -> tuple[sql.Composed, dict[str, Any]]:
        params: dict[str, Any] = {}
        row_filter: sql.Composable = sql.SQL("TRUE")
        if step.where:
            row_filter = _fragment("row_filter", column=sql.Identifier(step.where.column))
            params["where_value"] = step.where.equals
        statement = sql.SQL(sql_text(f"purge/{name}.sql")).format(
            table=sql.Identifier(self.schema, step.table),
            subject_column=sql.Identifier(step.subject_column),
            media_column=sql.Identifier(step.media_column or step.subject_column),
            pseudonym_column=sql.Identifier(step.pseudonym_column or step.subject_column),
            filter=row_filter,
        )
        return statement, params


class BlockRanges:
    """The block walk's ranges [first, end) of heap blocks, each sized to hold about `target` due rows.

    The first range assumes the due rows are spread evenly over the table; each next one is
    rescaled by what the last one deleted, growing at most twofold, and no range spans more
    blocks than hold BLOCK_SCAN_FACTOR x target rows, so that a dense stretch after a sparse
    one cannot make a long transaction. The walk ends at the table's size when it starts.
    """

    def __init__(self, blocks: int, rows_per_block: float | None, target: int, due: int):
        self.end, self.target, self.next = blocks, target, 0
        self.max_span = max(1, BLOCK_SCAN_FACTOR * target // math.ceil(rows_per_block or MAX_ROWS_PER_BLOCK))
        self.span = max(1, min(self.max_span, math.ceil(target * blocks / max(due, 1))))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        while self.next < self.end:
            first, self.next = self.next, min(self.next + self.span, self.end)
            yield first, self.next

    def record(self, deleted: int) -> None:
        """Size the next range by the density of due rows that the last one showed."""
        self.span = max(1, min(self.span * self.target // max(deleted, 1), 2 * self.span, self.max_span))
