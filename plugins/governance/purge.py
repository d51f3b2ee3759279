"""The retention purge: one rule of include/policy/retention.yaml at a time.

Order of work, so that nothing is lost and nothing is orphaned:
1. the rule is checked against the live database, counted, and held to its safety cap,
   all before anything is deleted;
2. the ledger records that the rule starts (rule, cutoff, counts due and held);
3. batches walk the table; a batch's media objects are deleted first (a crash then leaves a
   row to retry, never an object nobody will delete), then its rows in one short transaction
   that also adds the batch's counts to governance.purge_runs. Rules with media, erasures and
   media marking walk the key in order (select a batch, then act on its keys); plain deletes
   without media walk the heap in ranges of blocks, one DELETE per range, which reads each
   row once, in physical order, like one big DELETE would, but commits range by range;
4. the ledger records the totals. A run killed midway is accounted for by the next one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from governance import ledger
from governance.db import sql_text
from governance.policy import Loaded, RetentionPolicy, missing_columns
from governance.purge_sql import BlockRanges, RuleStatements
from governance.storage import DELETE_OBJECTS_MAX_KEYS, chunks

WORKFLOW = "retention_purge"
MAX_SUBJECTS_PER_BATCH = 500  # an erased account brings its dependent rows into the batch


class PurgeError(Exception):
    """A rule could not run; the message names the rule and the reason."""


class RuleConfigurationError(PurgeError):
    """The rule names tables or columns the database does not have."""


class SafetyCapExceeded(PurgeError):
    """More rows are due than max_rows_per_rule allows; nothing was deleted."""


class MediaDeletionError(PurgeError):
    """The S3 server refused to delete some objects; their rows were kept."""


@dataclass
class RuleOutcome:
    """What one rule did (or, in a dry run, would do) in one run."""

    rule: str
    action: str
    table: str
    cutoff: str
    dry_run: bool
    eligible: int = 0
    held: int = 0
    rows_deleted: int = 0
    rows_pseudonymised: int = 0
    rows_media_marked: int = 0
    objects_deleted: int = 0
    batches: int = 0
    longest_batch_ms: float = 0.0
    cutoffs_by_value: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PurgeSettings:
    run_id: str
    run_cutoff: datetime
    dry_run: bool
    batch_size: int
    max_rows_per_rule: int
    media_bucket: str


def pseudonym_key() -> bytes:
    """The HMAC key for pseudonyms: GOVERNANCE_PSEUDONYM_KEY, or the file GOVERNANCE_PSEUDONYM_KEY_FILE names."""
    value = os.environ.get("GOVERNANCE_PSEUDONYM_KEY")
    if not value and os.environ.get("GOVERNANCE_PSEUDONYM_KEY_FILE"):
        value = Path(os.environ["GOVERNANCE_PSEUDONYM_KEY_FILE"]).read_text().strip()
    if not value or len(value) < 32:
        raise PurgeError(
            "no pseudonymisation key: set GOVERNANCE_PSEUDONYM_KEY (at least 32 characters) or "
            "GOVERNANCE_PSEUDONYM_KEY_FILE; it must stay secret and stable"
        )
    return value.encode()


def pseudonym(key: bytes, subject_table: str, subject_id: int) -> str:
    """A keyed hash that links a person's remaining rows to each other, never to the person."""
    return hmac.new(key, f"{subject_table}:{subject_id}".encode(), hashlib.sha256).hexdigest()


# -- running a rule --------------------------------------------------------------------


class RulePurge:
    """One rule, one run: count, account, then delete in batches."""

    def __init__(self, conn: psycopg.Connection, s3: Any, policy: Loaded[RetentionPolicy], rule_name: str,
                 run: PurgeSettings):
        if not conn.autocommit:
            raise ValueError("the purge needs an autocommit connection: it commits each batch on its own")
        self.conn, self.s3, self.run = conn, s3, run
        self.policy = policy
        self.rule = policy.model.rule(rule_name)
        self.sql = RuleStatements(policy.model, self.rule, run.run_cutoff)
        self.outcome = RuleOutcome(
            rule=self.rule.name,
            action=self.rule.action,
            table=f"{policy.model.database_schema}.{self.rule.table}",
            cutoff=self.sql.cutoff.isoformat(),
            dry_run=run.dry_run,
            cutoffs_by_value={value: moment.isoformat() for value, moment in self.sql.cutoffs_by_value.items()},
        )

    def check(self) -> None:
        """Refuse a rule the database cannot serve, or one that would delete more than the cap."""
        problems = missing_columns(self.policy.model, self.conn, rules=[self.rule]).get(self.rule.name)
        if problems:
            raise RuleConfigurationError(f"rule {self.rule.name!r} cannot run: {'; '.join(problems)}")
        eligible, held = self.conn.execute(self.sql.statement("count_due"), self.sql.params).fetchone()
        self.outcome.eligible, self.outcome.held = eligible, held
        if eligible > self.run.max_rows_per_rule and not self.run.dry_run:
            raise SafetyCapExceeded(
                f"rule {self.rule.name!r}: {eligible} rows are due, more than max_rows_per_rule="
                f"{self.run.max_rows_per_rule}; nothing was deleted. Raise the cap to proceed."
            )

    def execute(self) -> RuleOutcome:
        try:
            self.check()
        except PurgeError as exc:
            if not self.run.dry_run:  # leave a record of the refusal; nothing was deleted
                self._start()
                self._finish(error=str(exc))
            raise
        if self.run.dry_run:
            return self.outcome
        self._account_for_interrupted_runs()
        self._start()
        try:
            self._batches()
        except Exception as exc:
            # On a dropped connection nothing more can be written; the next run finds this run
            # unfinished in purge_runs and records its committed counts as purge_interrupted.
            if not self.conn.broken:
                self._finish(error=f"{type(exc).__name__}: {exc}")
            raise
        self._finish(error=None)
        return self.outcome

    # ledger and progress

    def _ledger_entry(self, action: str, *, run_id: str, cutoff: datetime, policy_sha: str, counts: dict,
                      details: dict | None = None) -> ledger.LedgerEntry:
        return ledger.LedgerEntry(
            workflow=WORKFLOW,
            action=action,
            run_id=run_id,
            rule=self.rule.name,
            target_table=self.outcome.table,
            cutoff=cutoff,
            policy_sha256=policy_sha,
            counts=counts,
            details=details or {},
        )

    def _account_for_interrupted_runs(self) -> None:
        """Runs of this rule that were killed midway: record what they did before going on."""
        with self.conn.transaction():
            rows = self.conn.execute(
                sql_text("purge/interrupted_runs.sql"), {"rule": self.rule.name, "run_id": self.run.run_id}
            ).fetchall()
            for run_id, cutoff, policy_sha, *counts in rows:
                names = ("rows_deleted", "rows_pseudonymised", "rows_media_marked", "objects_deleted", "batches")
                entry = self._ledger_entry(
                    "purge_interrupted", run_id=run_id, cutoff=cutoff, policy_sha=policy_sha,
                    counts=dict(zip(names, counts, strict=True)), details={"accounted_by_run": self.run.run_id},
                )
                ledger.append(self.conn, entry)
                self.conn.execute(
                    sql_text("purge/run_finish.sql"),
                    {"run_id": run_id, "rule": self.rule.name, "error": f"interrupted; accounted by {self.run.run_id}"},
                )

    def _start(self) -> None:
        with self.conn.transaction():
            progress = self.conn.execute(
                sql_text("purge/run_start.sql"),
                {"run_id": self.run.run_id, "rule": self.rule.name, "cutoff": self.sql.cutoff,
                 "policy_sha256": self.policy.sha256},
            ).fetchone()
            self._apply_progress(progress[:5])
            entry = self._ledger_entry(
                "purge_resumed" if progress[5] else "purge_started",
                run_id=self.run.run_id, cutoff=self.sql.cutoff, policy_sha=self.policy.sha256,
                counts={"eligible": self.outcome.eligible, "held": self.outcome.held},
                details={"action": self.rule.action, "cutoffs_by_value": self.outcome.cutoffs_by_value},
            )
            ledger.append(self.conn, entry)

    def _finish(self, error: str | None) -> None:
        with self.conn.transaction():
            self.conn.execute(
                sql_text("purge/run_finish.sql"), {"run_id": self.run.run_id, "rule": self.rule.name, "error": error}
            )
            counts = {
                name: getattr(self.outcome, name)
                for name in ("rows_deleted", "rows_pseudonymised", "rows_media_marked", "objects_deleted", "batches")
            }
            counts["held"] = self.outcome.held
            entry = self._ledger_entry(
                "purge_failed" if error else "purge_completed",
                run_id=self.run.run_id, cutoff=self.sql.cutoff, policy_sha=self.policy.sha256, counts=counts,
                details={"error": error} if error else {},
            )
            ledger.append(self.conn, entry)

    def _apply_progress(self, totals: Sequence[int]) -> None:
        o = self.outcome
        o.rows_deleted, o.rows_pseudonymised, o.rows_media_marked, o.objects_deleted, o.batches = totals

    def _commit_progress(self, **counts: int) -> None:
        params = {"rows_deleted": 0, "rows_pseudonymised": 0, "rows_media_marked": 0, "objects_deleted": 0}
        params.update(counts, run_id=self.run.run_id, rule=self.rule.name)
        self._apply_progress(self.conn.execute(sql_text("purge/run_progress.sql"), params).fetchone())

    # batches

    def _batches(self) -> None:
        if self.rule.action == "delete" and not self.rule.media_column:
            self._walk_blocks()
        else:
            self._walk_keys()

    def _timed(self, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.outcome.longest_batch_ms = max(self.outcome.longest_batch_ms, round(elapsed_ms, 2))

    def _walk_blocks(self) -> None:
        """Rows without media: one DELETE per range of heap blocks (delete_block_range.sql)."""
        blocks, rows_per_block = self.conn.execute(
            sql_text("purge/table_blocks.sql"), {"schema": self.sql.schema, "table": self.rule.table}
        ).fetchone()
        ranges = BlockRanges(blocks, rows_per_block, self.run.batch_size, self.outcome.eligible + self.outcome.held)
        delete = self.sql.statement("delete_block_range")
        with self._synchronous_commit("off"):
            for first, end in ranges:
                params = {**self.sql.params, "from_tid": f"({first},0)", "to_tid": f"({end},0)"}
                started = time.perf_counter()
                with self.conn.transaction():
                    deleted = self.conn.execute(delete, params).rowcount
                    if deleted:  # a range with nothing due is no batch: a rerun adds none
                        self._commit_progress(rows_deleted=deleted)
                self._timed(started)
                ranges.record(deleted)

    @contextmanager
    def _synchronous_commit(self, value: str) -> Iterator[None]:
        statement = sql_text("purge/synchronous_commit.sql")
        previous = self.conn.execute(statement, {"value": value}).fetchone()[0]
        try:
            yield
        finally:
            if not self.conn.broken:
                self.conn.execute(statement, {"value": previous})

    def _walk_keys(self) -> None:
        after = -(2**63)
        limit = min(self.run.batch_size, MAX_SUBJECTS_PER_BATCH) if self.rule.cascade else self.run.batch_size
        select = self.sql.statement("select_batch", media=self.sql.media_expression())
        while True:
            rows = self.conn.execute(select, {**self.sql.params, "after": after, "limit": limit}).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            keys = [key for key, _ in rows]
            objects = self.delete_objects(media for _, media in rows if media)
            started = time.perf_counter()
            {"erase_subject": self._erase_subjects, "delete_media": self._mark_media_deleted}.get(
                self.rule.action, self._delete_rows
            )(keys, objects)
            self._timed(started)

    def _delete_rows(self, keys: list[int], objects: int) -> None:
        with self.conn.transaction():
            deleted = self.conn.execute(self.sql.statement("delete_batch"), {**self.sql.params, "keys": keys}).rowcount
            self._commit_progress(rows_deleted=deleted, objects_deleted=objects)

    def _mark_media_deleted(self, keys: list[int], objects: int) -> None:
        with self.conn.transaction():
            marked = self.conn.execute(
                self.sql.statement("mark_media_deleted", marker_column=sql.Identifier(self.rule.marker_column)),
                {**self.sql.params, "keys": keys, "marked_at": datetime.now(UTC)},
            ).rowcount
            self._commit_progress(rows_media_marked=marked, objects_deleted=objects)

    def _erase_subjects(self, subjects: list[int], _objects: int) -> None:
        # Dependent media first, outside the transaction: S3 calls must not hold row locks.
        first_pass = self._cascade_media_keys(subjects)
        objects = self.delete_objects(first_pass)
        with self.conn.transaction():
            lock = self.sql.statement("lock_due")
            locked = [row[0] for row in self.conn.execute(lock, {**self.sql.params, "keys": subjects})]
            # Media a late writer added between the S3 call and the lock goes too.
            objects += self.delete_objects(sorted(set(self._cascade_media_keys(locked)) - set(first_pass)))
            deleted, pseudonymised = self._apply_cascade(locked)
            delete = self.sql.statement("delete_batch")
            deleted += self.conn.execute(delete, {**self.sql.params, "keys": locked}).rowcount
            self._commit_progress(rows_deleted=deleted, rows_pseudonymised=pseudonymised, objects_deleted=objects)

    def _cascade_media_keys(self, subjects: list[int]) -> list[str]:
        keys: list[str] = []
        for step in self.rule.cascade:
            if step.media_column and subjects:
                statement, params = self.sql.cascade(step, "cascade_media_keys")
                keys += [row[0] for row in self.conn.execute(statement, {**params, "subjects": subjects})]
        return keys

    def _apply_cascade(self, subjects: list[int]) -> tuple[int, int]:
        deleted = pseudonymised = 0
        if not subjects:
            return 0, 0
        key = pseudonym_key() if any(step.action == "pseudonymise" for step in self.rule.cascade) else b""
        for step in self.rule.cascade:
            if step.action == "delete":
                statement, params = self.sql.cascade(step, "cascade_delete")
                deleted += self.conn.execute(statement, {**params, "subjects": subjects}).rowcount
            else:
                statement, params = self.sql.cascade(step, "cascade_pseudonymise")
                params["pseudonyms"] = [pseudonym(key, self.rule.table, subject) for subject in subjects]
                pseudonymised += self.conn.execute(statement, {**params, "subjects": subjects}).rowcount
        return deleted, pseudonymised

    def delete_objects(self, keys: Iterable[str]) -> int:
        """DeleteObjects in calls of up to 1000 keys; any refusal stops the rule before its rows go."""
        from botocore.exceptions import BotoCoreError, ClientError

        deleted = 0
        for batch in chunks(keys, DELETE_OBJECTS_MAX_KEYS):
            try:
                response = self.s3.delete_objects(
                    Bucket=self.run.media_bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": False}
                )
            except (BotoCoreError, ClientError) as exc:
                raise MediaDeletionError(
                    f"rule {self.rule.name!r}: cannot reach S3 to delete media in {self.run.media_bucket} ({exc}); "
                    "no row was deleted for these objects"
                ) from exc
            errors = response.get("Errors", [])
            if errors:
                codes = sorted({error.get("Code", "unknown") for error in errors})
                raise MediaDeletionError(
                    f"rule {self.rule.name!r}: S3 refused to delete {len(errors)} of {len(batch)} objects in "
                    f"{self.run.media_bucket} ({', '.join(codes)}); their rows were kept"
                )
            deleted += len(response.get("Deleted", []))
        return deleted


def purge_rule(conn: psycopg.Connection, s3: Any, policy: Loaded[RetentionPolicy], rule_name: str,
               run: PurgeSettings) -> RuleOutcome:
    """Run one retention rule (or preview it, when run.dry_run); see the module docstring."""
    return RulePurge(conn, s3, policy, rule_name, run).execute()


def run_outcomes(conn: psycopg.Connection, run_id: str) -> list[dict[str, Any]]:
    """Every rule's recorded progress in a run, including failed ones, for the report."""
    cursor = conn.execute(sql_text("purge/run_outcomes.sql"), {"run_id": run_id})
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
