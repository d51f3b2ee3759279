"""The retention purge: one `retention_purge` rule of include/policy/retention.yaml at a time.

The rule runs on the shared run lifecycle (lifecycle.RuleRun: lock, interrupted runs, check,
start, batches, finish). What is the purge's own:

- **check**, before anything is deleted: the rule's tables and columns exist, every
  pseudonymise step can run, the keys it needs are there, the cutoff is not in the future,
  and the rows due are within the safety cap;
- **batches**. Rules with media, erasures and media marking walk the key in order: a batch
  of due keys is chosen, then, in one transaction, its rows are locked and the holds
  re-checked, the locked rows' media objects are deleted (every version), and the rows are
  deleted, pseudonymised or marked. Plain deletes without media walk the heap (of each
  partition, for a partitioned table) in ranges of blocks, one DELETE per range, which reads
  each row once, in physical order, like one big DELETE would, but commits range by range.
  On a table range-partitioned on the rule's clock, they first drop whole every partition that
  is wholly past the cutoff, keeping its held rows (partition_purge), and walk only the
  partition that straddles the cutoff and the DEFAULT one;
- **a rule that had rows due and removed none fails**: it never reports success.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from governance.db import sql_text
from governance.erasure import MAX_SUBJECTS_PER_BATCH, Erasure
from governance.errors import GovernanceError, PermanentError
from governance.keys import pseudonym_key
from governance.lifecycle import Batch, Plan, RuleRun, RunIdentity, RunOutcome, Timeouts
from governance.media import OBJECTS_PER_BATCH, MediaBucket
from governance.partition_purge import PartitionDrop, PartitionLayout, dropped_in_run
from governance.policy import Loaded, RetentionPolicy
from governance.purge_sql import BlockRanges, RuleStatements
from governance.schema_check import RuleConfigurationError, require_serviceable

WORKFLOW = "retention_purge"


class PurgeError(GovernanceError):
    """A rule could not run; the message names the rule and the reason."""


class SafetyCapExceeded(PurgeError, PermanentError):
    """More rows are due than max_rows_per_rule allows; nothing was deleted."""


class FutureCutoff(PurgeError, PermanentError):
    """The run's cutoff is later than now: a run dated in the future would purge early."""


class RowsDueNotRemoved(PurgeError):
    """Rows were due, and the walk removed none of them."""


@dataclass(frozen=True, kw_only=True)
class PurgeSettings:
    run_id: str
    run_cutoff: datetime
    dry_run: bool
    batch_size: int
    max_rows_per_rule: int
    media_bucket: str
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True)
class Heap:
    """A relation whose blocks the block walk reads: the table, or one of its partitions."""

    identifier: sql.Identifier
    blocks: int
    rows_per_block: float | None


class RulePurge:
    """The purge's work for one rule, run by the lifecycle; see the module docstring."""

    def __init__(self, s3: Any, policy: Loaded[RetentionPolicy], rule_name: str, settings: PurgeSettings):
        self.policy, self.settings = policy, settings
        self.rule = policy.model.rule(rule_name)
        if self.rule.action == "archive_then_delete":
            raise RuleConfigurationError(
                f"rule {self.rule.name!r} archives before it deletes ({self.rule.workflow}): the purge will not delete "
                "its rows unarchived"
            )
        self.sql = RuleStatements(policy.model, self.rule, settings.run_cutoff)
        self.schema = policy.model.database_schema
        self.media = MediaBucket(s3, settings.media_bucket, subject=f"rule {self.rule.name!r}")
        self.pseudonym_key: bytes | None = None
        self.erasure: Erasure | None = None
        self.heaps: list[Heap] = []
        self.layout: PartitionLayout | None = None  # None: not partitioned on the rule's clock

    @property
    def details(self) -> dict[str, Any]:
        return {"action": self.rule.action,
                "cutoffs_by_value": {value: moment.isoformat() for value, moment in self.sql.cutoffs_by_value.items()}}

    def identity(self) -> RunIdentity:
        # The purge's engine also deletes the archival's plain rules (standard moderation events),
        # under that workflow's name.
        return RunIdentity(workflow=self.rule.workflow, run_id=self.settings.run_id, rule=self.rule.name, verb="purge",
                           policy_sha256=self.policy.sha256, target_table=f"{self.schema}.{self.rule.table}",
                           cutoff=self.sql.cutoff)

    # -- check ------------------------------------------------------------------------------

    def check(self, run: RuleRun) -> Plan:
        """Refuse what the database cannot serve, a future cutoff, a missing key, or a breach of the cap."""
        conn = run.conn
        require_serviceable(self.policy.model, conn, self.rule)
        if self.walks_blocks:
            self.heaps = self._heaps(conn, self.schema, self.rule.table)
            self.layout = PartitionLayout.of(conn, self.schema, self.rule, self.sql)
        now = conn.execute(sql_text("purge/database_now.sql")).fetchone()[0]
        if self.settings.run_cutoff > now:
            raise FutureCutoff(
                f"rule {self.rule.name!r}: the run's cutoff {self.settings.run_cutoff:%Y-%m-%d %H:%M:%S %Z} is later "
                f"than now ({now.astimezone(UTC):%Y-%m-%d %H:%M:%S %Z}); a run dated in the future is refused"
            )
        if any(step.action == "pseudonymise" for step in self.rule.cascade):
            self.pseudonym_key = pseudonym_key()  # before anything is deleted, not after the media is gone
        if self.rule.action == "erase_subject":
            self.erasure = Erasure(self.policy.model, self.rule, self.sql, self.media, self.pseudonym_key)
        eligible, held = conn.execute(self.sql.statement("count_due"), self.sql.params).fetchone()
        if eligible > self.settings.max_rows_per_rule and not self.settings.dry_run:
            raise SafetyCapExceeded(
                f"rule {self.rule.name!r}: {eligible} rows are due, more than max_rows_per_rule="
                f"{self.settings.max_rows_per_rule}; nothing was deleted. Raise the cap to proceed."
            )
        unit = "people" if self.rule.action == "erase_subject" else "rows"  # what count_due counts
        details = {**self.details, **(self.layout.details() if self.layout else {})}
        return Plan(eligible=eligible, held=held, details=details, unit=unit)

    # -- batches ----------------------------------------------------------------------------

    @property
    def walks_blocks(self) -> bool:
        return self.rule.action == "delete" and not self.rule.media_column

    def execute(self, run: RuleRun) -> None:
        if self.walks_blocks:
            if self.layout is not None:
                PartitionDrop(self.rule, self.sql, self.schema, self.layout).drop_all(run)
                self.heaps = [heap for partition in self.layout.to_walk
                              for heap in self._heaps(run.conn, partition.schema, partition.name)]
            self._walk_blocks(run)
            if self.layout is not None and self.layout.walked_instead:  # for the outcome, and so the report
                run.plan.details["partitions_walked_instead"] = dict(self.layout.walked_instead)
        else:
            self._walk_keys(run)
        self._check_removed(run)

    def _check_removed(self, run: RuleRun) -> None:
        """Rows were due and none went: recount before failing (they may have stopped being due)."""
        removed = run.totals["rows_deleted"] + run.totals["rows_media_marked"] + run.totals["subjects_erased"]
        if run.plan.eligible == 0 or removed > 0:
            return
        run.step = "check removed"
        still_due, _ = run.conn.execute(self.sql.statement("count_due"), self.sql.params).fetchone()
        if still_due:
            raise RowsDueNotRemoved(
                f"rule {self.rule.name!r}: {still_due} rows are still due and the walk removed none of them; "
                f"this rule cannot serve the shape of {self.schema}.{self.rule.table}"
            )

    def ledger_details(self, conn: psycopg.Connection, run_id: str) -> dict[str, Any]:
        """The partitions the run dropped whole, and (this run's own) those it walked instead, and why."""
        if not self.walks_blocks:
            return {}
        # Also before this run's check (when it accounts for an interrupted run), so not from self.layout.
        dropped = dropped_in_run(conn, self.rule.workflow, run_id, self.rule.name)
        details: dict[str, Any] = {}
        if dropped or self.layout is not None:
            details["partitions_dropped"] = [partition.as_dict() for partition in dropped]
        if run_id == self.settings.run_id and self.layout is not None and self.layout.walked_instead:
            details["partitions_walked_instead"] = dict(self.layout.walked_instead)
        return details

    def _heaps(self, conn: psycopg.Connection, table_schema: str, table: str) -> list[Heap]:
        """The heaps of a table (or of one of its partitions) that the block walk deletes from; refused
        unless it can delete from each of them."""
        rows = conn.execute(sql_text("purge/table_blocks.sql"), {"schema": table_schema, "table": table})
        heaps, problems = [], []
        for schema, relation, has_heap, deletable, blocks, per_block in rows:
            if not has_heap:
                problems.append(f"partition {schema}.{relation} is a foreign table, which the block walk cannot read")
            elif not deletable:
                problems.append(f"this role has no delete privilege on partition {schema}.{relation} (grant it, "
                                "as include/sql/schema/grants.sql does for the partitions it finds)")
            heaps.append(Heap(sql.Identifier(schema, relation), blocks, per_block))
        if problems:
            raise RuleConfigurationError(f"rule {self.rule.name!r} cannot run: {'; '.join(problems)}")
        return heaps

    def _walk_blocks(self, run: RuleRun) -> None:
        """Rows without media: one DELETE per range of heap blocks (delete_block_range.sql)."""
        heaps = self.heaps
        total_blocks = sum(heap.blocks for heap in heaps) or 1
        # An estimate (each range is rescaled by what the last one found): what the drops left.
        due = max(1, run.plan.eligible + run.plan.held - run.totals["rows_deleted"])
        for heap in heaps:
            ranges = BlockRanges(heap.blocks, heap.rows_per_block, self.settings.batch_size,
                                 max(1, due * heap.blocks // total_blocks))
            delete = self.sql.statement("delete_block_range", heap=heap.identifier)
            for first, end in ranges:
                params = {**self.sql.params, "from_tid": f"({first},0)", "to_tid": f"({end},0)"}

                def body(batch: Batch, delete: sql.Composed = delete, params: dict[str, Any] = params) -> None:
                    batch.add(rows_deleted=run.conn.execute(delete, params).rowcount)

                # A range with nothing due is no batch (it commits no counts): a rerun adds none.
                ranges.record(run.batch(body, tables=[f"{self.schema}.{self.rule.table}"], step="delete rows",
                                        synchronous_commit="off")["rows_deleted"])

    def _keys(self, run: RuleRun) -> Iterator[list[int]]:
        """Batches of due keys, in key order, chosen without locks (each batch locks its own)."""
        after = -(2**63)
        # Key walks delete objects inside their batches: bounded by the objects one batch may hold.
        cap = MAX_SUBJECTS_PER_BATCH if self.erasure else OBJECTS_PER_BATCH
        limit = min(self.settings.batch_size, cap)
        select = self.sql.statement("select_batch")
        while True:
            run.step = "choose batch"
            keys = [row[0] for row in run.conn.execute(select, {**self.sql.params, "after": after, "limit": limit})]
            if not keys:
                return
            after = keys[-1]
            yield keys

    def _walk_keys(self, run: RuleRun) -> None:
        if self.erasure:
            for keys in self._keys(run):
                self.erasure.erase(run, keys)
            return
        for keys in self._keys(run):
            run.batch(lambda batch, keys=keys: self._delete_or_mark(run.conn, keys, batch),
                      tables=[f"{self.schema}.{self.rule.table}"],
                      step="mark media deleted" if self.rule.action == "delete_media" else "delete rows")

    def _delete_or_mark(self, conn: psycopg.Connection, keys: list[int], batch: Batch) -> None:
        """Lock the rows still due and not held, delete their objects, then delete or mark the rows."""
        lock = self.sql.statement("lock_due", media=self.sql.media_expression())
        locked = conn.execute(lock, {**self.sql.params, "keys": keys}).fetchall()
        if not locked:
            return
        self.media.delete((media for _, media in locked if media), batch)
        locked_keys = [key for key, _ in locked]
        if self.rule.action == "delete_media":
            marker = sql.Identifier(self.rule.marker_column)
            marked = conn.execute(self.sql.statement("mark_media_deleted", marker_column=marker),
                                  {**self.sql.params, "keys": locked_keys, "marked_at": datetime.now(UTC)}).rowcount
            batch.add(rows_media_marked=marked)
        else:
            delete = self.sql.statement("delete_batch")
            batch.add(rows_deleted=conn.execute(delete, {**self.sql.params, "keys": locked_keys}).rowcount)


def purge_rule(conn: psycopg.Connection, s3: Any, *, policy: Loaded[RetentionPolicy], rule: str,
               settings: PurgeSettings) -> RunOutcome:
    """Run one retention rule (or preview it, when settings.dry_run) on the run lifecycle."""
    work = RulePurge(s3, policy, rule, settings)
    return RuleRun(conn, work.identity(), timeouts=settings.timeouts).execute(work, dry_run=settings.dry_run)
