"""The purge's drop path: on a table range-partitioned on the rule's clock, a month wholly past
the cutoff is dropped whole instead of deleted row by row.

What the catalog says decides it, at each run (partitions.range_partitions): nothing is
configured by hand. `PartitionLayout.of` sorts a rule's partitions:

- **drop**: every instant the partition can hold is before the cutoff (partitions.placement);
- **walk**: the partition that straddles the cutoff, the DEFAULT partition, one half detached by
  someone else, and any the drop gives back (below): the block walk deletes their due rows;
- **after the cutoff**: no row of it is due, so the walk does not read it.

Dropping one partition (`drop`) is one batch transaction of the run lifecycle:

1. it checks that the partition is still attached (the list is from the run's check);
2. it locks the partition against writes (readers go on), so its counts are exact;
3. it counts every row, the rows of people under an active legal hold, and the rows that are
   neither due nor held (a rule with a `where` shares the month with another rule's rows: then
   the partition is not this rule's to drop, and the walk takes it);
4. governance.drop_partition_keeping_held detaches it, moves the held rows into the parent table
   (the DEFAULT partition takes them, and they stay readable there), and drops it;
5. the drop is recorded in governance.partition_drops with its counts, and the run's counts grow
   by the rows that went, and the transaction commits.

A kill at any point before the commit rolls all of it back: the partition is attached, whole,
with its held rows, and uncounted; the rerun drops it. Nothing is ever left detached: a plain
DETACH in a transaction is undone with it (DETACH ... CONCURRENTLY, which cannot run in a
transaction, is never used).

Locks: only step 4 takes the parent's ACCESS EXCLUSIVE lock, and holds it until the commit:
milliseconds, because the counting is done before it and the held rows are few. While it waits
for that lock (a long reader on the table), every new query on the table queues behind it, so it
waits Timeouts.partition_lock_timeout_ms at most, then rolls back, pauses and retries, up to
Timeouts.partition_attempts times; then the walk deletes the partition's rows instead, and the
report says why. The session that kept one month locked most likely holds the whole table, so
after that the run's other months get one attempt each, not a full round of waits.


Plain Python and SQL (include/sql/partitions/); no Airflow.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

from governance.db import sql_text
from governance.errors import GovernanceError
from governance.partitions import Partition, Placement, placement, range_partitions

if TYPE_CHECKING:
    from governance.lifecycle import Batch, RuleRun
    from governance.policy import RetentionRule
    from governance.purge_sql import RuleStatements

log = logging.getLogger(__name__)


class PartitionCountsChanged(GovernanceError):
    """The held rows a drop moved are not the held rows counted under its lock: nothing was dropped."""


@dataclass(frozen=True)
class DroppedPartition:
    """A partition dropped whole: its name, its range, the rows that went and the held rows it kept."""

    name: str
    range_from: datetime | None
    range_to: datetime
    rows_deleted: int
    held_rows_moved: int
    detach_us: int  # detach, move and drop: how long the parent was locked, about

    def as_dict(self) -> dict[str, Any]:
        return {"partition": self.name, "range_from": self.range_from.isoformat() if self.range_from else None,
                "range_to": self.range_to.isoformat(), "rows_deleted": self.rows_deleted,
                "held_rows_moved": self.held_rows_moved, "detach_us": self.detach_us}


@dataclass
class PartitionLayout:
    """A rule's partitioned table, taken apart against the rule's cutoff (see the module docstring)."""

    to_drop: list[Partition]
    to_walk: list[Partition]
    after_cutoff: list[Partition]
    has_default: bool
    why_not_dropped: str | None = None  # why the expired partitions are walked instead, when they are
    walked_instead: dict[str, str] = field(default_factory=dict)  # partition -> why the drop gave it back

    @classmethod
    def of(cls, conn: psycopg.Connection, schema: str, rule: RetentionRule,
           statements: RuleStatements) -> PartitionLayout | None:
        """The layout of the rule's table, or None when it is not range-partitioned on the rule's clock (or the
        rule is not one that can drop: only plain deletes of rows without media, counted from a clock)."""
        if rule.action != "delete" or rule.media_column or not rule.clock or statements.cutoff is None:
            return None
        partitions = range_partitions(conn, f"{schema}.{rule.table}", rule.clock)
        if partitions is None:
            return None
        # Per-value periods (period_by): wholly expired before the earliest cutoff, never due after the latest.
        cutoffs = [statements.cutoff, *statements.cutoffs_by_value.values()]
        earliest, latest = min(cutoffs), max(cutoffs)
        layout = cls(to_drop=[], to_walk=[], after_cutoff=[],
                     has_default=any(partition.is_default for partition in partitions))
        for partition in partitions:
            if partition.detach_pending:
                layout.to_walk.append(partition)
            elif placement(partition, earliest) is Placement.EXPIRED:
                layout.to_drop.append(partition)
            elif placement(partition, latest) is Placement.AFTER_CUTOFF:
                layout.after_cutoff.append(partition)
            else:
                layout.to_walk.append(partition)
        if layout.to_drop:
            why_not = conn.execute(sql_text("partitions/may_drop.sql"),
                                   {"schema": schema, "table": rule.table}).fetchone()[0]
            if why_not:
                layout.why_not_dropped = why_not
                layout.to_walk = layout.to_drop + layout.to_walk
                layout.to_drop = []
        return layout

    def give_back(self, partition: Partition, why: str) -> None:
        """The drop could not take `partition`: the walk deletes its due rows instead."""
        self.walked_instead[partition.qualified_name] = why
        self.to_walk.append(partition)

    def details(self) -> dict[str, Any]:
        """For the plan (and so the preview): what would be dropped, walked and left alone."""
        details: dict[str, Any] = {
            "partitions_to_drop": [partition.qualified_name for partition in self.to_drop],
            "partitions_to_walk": [partition.qualified_name for partition in self.to_walk],
            "partitions_after_cutoff": len(self.after_cutoff),
        }
        if self.why_not_dropped:
            details["partitions_not_dropped_because"] = self.why_not_dropped
        return details


class PartitionDrop:
    """Drops the expired partitions of one rule's table, in the rule's run (see the module docstring)."""

    def __init__(self, rule: RetentionRule, statements: RuleStatements, schema: str, layout: PartitionLayout):
        self.rule, self.statements, self.schema, self.layout = rule, statements, schema, layout
        self.table = f"{schema}.{rule.table}"
        self.lock_attempts = 0  # 0: the run's Timeouts; 1 once a month stayed locked through all of them

    def drop_all(self, run: RuleRun) -> None:
        for partition in list(self.layout.to_drop):
            self.drop(run, partition)

    def drop(self, run: RuleRun, partition: Partition) -> DroppedPartition | None:
        """Drop one wholly expired partition, keeping its held rows; None when it was not dropped (gone
        already, or given back to the walk)."""
        outcome: dict[str, Any] = {}
        names = {"schema": self.schema, "table": self.rule.table, "partition_schema": partition.schema,
                 "partition": partition.name}
        lock = self.statements.statement("lock_partition", heap=partition.identifier, area="partitions")
        counts = self.statements.statement("partition_counts", heap=partition.identifier, area="partitions")

        def body(batch: Batch) -> None:
            outcome.clear()
            conn = run.conn
            if not conn.execute(sql_text("partitions/still_attached.sql"), names).fetchone()[0]:
                outcome["gone"] = True
                return
            conn.execute(lock)
            total, held, not_due = conn.execute(counts, {
                **self.statements.params, "may_hold_rows_not_due": self.rule.where is not None}).fetchone()
            if not_due:
                outcome["walk"] = f"it holds {_counted(not_due, 'row')} that this rule does not delete"
                return
            if held and not self.layout.has_default:
                outcome["walk"] = (f"it holds {_counted(held, 'row')} of people under a legal hold, and the table "
                                   "has no DEFAULT partition to keep them in")
                return
            started = time.perf_counter()
            moved = conn.execute(sql_text("partitions/drop_partition.sql"),
                                 {**names, "subject_column": self.rule.subject_column}).fetchone()[0]
            detach_us = round((time.perf_counter() - started) * 1_000_000)
            if moved != held:
                raise PartitionCountsChanged(
                    f"rule {self.rule.name!r}: partition {partition.qualified_name} held {held:,} rows under a legal "
                    f"hold when counted and {moved:,} when moved; nothing was dropped"
                )
            dropped = DroppedPartition(partition.qualified_name, partition.lower, partition.upper,
                                       rows_deleted=total - moved, held_rows_moved=moved, detach_us=detach_us)
            conn.execute(sql_text("partitions/record_drop.sql"), {
                **run.identity.params(), "partition_name": dropped.name, "range_from": dropped.range_from,
                "range_to": dropped.range_to, "rows_deleted": dropped.rows_deleted,
                "held_rows_moved": dropped.held_rows_moved, "detach_us": dropped.detach_us})
            batch.add(rows_deleted=dropped.rows_deleted)
            outcome["dropped"] = dropped

        timeouts = run.timeouts
        try:
            # Asynchronous commit, as the block walk's: the run's closing entry makes it durable, and a crash
            # that undoes the drop undoes its record and counts with it.
            run.batch(body, tables=[self.table], step="drop partition", synchronous_commit="off",
                      lock_timeout_ms=timeouts.partition_lock_timeout_ms,
                      attempts=self.lock_attempts or timeouts.partition_attempts)
        except psycopg.errors.LockNotAvailable:
            attempts = self.lock_attempts or timeouts.partition_attempts
            outcome["walk"] = (f"another session kept the table locked through {_counted(attempts, 'attempt')} "
                               f"of {timeouts.partition_lock_timeout_ms} ms")
            self.lock_attempts = 1
        if "walk" in outcome:
            log.warning("%s: partition %s is deleted in batches, not dropped: %s", run.subject,
                        partition.qualified_name, outcome["walk"])
            self.layout.give_back(partition, outcome["walk"])
            return None
        if outcome.get("gone"):
            log.info("%s: partition %s is no longer attached; nothing to drop", run.subject, partition.qualified_name)
            return None
        dropped = outcome["dropped"]
        log.info("%s: dropped partition %s (%s to %s): %s deleted, %s of people under a legal hold kept; parent "
                 "locked %.1f ms", run.subject, dropped.name,
                 f"{dropped.range_from:%Y-%m-%d}" if dropped.range_from else "the start",
                 f"{dropped.range_to:%Y-%m-%d}", _counted(dropped.rows_deleted, "row"),
                 _counted(dropped.held_rows_moved, "row"), dropped.detach_us / 1000)
        return dropped


def _counted(number: int, unit: str) -> str:
    return f"{number:,} {unit}{'' if number == 1 else 's'}"


def dropped_in_run(conn: psycopg.Connection, workflow: str, run_id: str, rule: str) -> list[DroppedPartition]:
    """The partitions a run of a rule dropped (governance.partition_drops), oldest range first."""
    rows = conn.execute(sql_text("partitions/drops_of_run.sql"), {"workflow": workflow, "run_id": run_id, "rule": rule})
    return [DroppedPartition(name, range_from, range_to, rows_deleted, held, detach_us)
            for name, range_from, range_to, rows_deleted, held, detach_us in rows]
