"""The run lifecycle that every deleting workflow (purge, archival, erasure) stands on.

    lock -> account for interrupted runs -> check -> start -> batches -> finish

- **lock**: a session advisory lock per (workflow, rule), held for the whole run. A second
  run of the same rule fails at once, naming the run that holds the lock, before it reads
  or deletes anything.
- **interrupted runs**: with the lock held, any other unfinished run of the rule is dead
  (its worker was killed); its committed counts get a `<verb>_interrupted` ledger entry.
- **check**: the work's own preflight (schema, caps, keys). A refusal is recorded as
  `<verb>_refused`, and nothing is deleted.
- **start**: the run is registered in governance.rule_runs with `<verb>_started`, or
  `<verb>_resumed` when an earlier attempt of the same run left counts. A run that already
  completed is not reopened: clearing a finished task does nothing, and says so.
- **batches**: each a short transaction (`RuleRun.batch`) with its own lock and statement
  timeouts, that takes the tables' batch locks in name order (so rules that touch the same
  tables never deadlock), locks out new legal holds until it commits, and commits its counts
  with its rows. What a failed batch did that no rollback undoes (objects deleted in S3) is
  committed on its own. Lock timeouts and deadlocks are retried.
- **finish**: `<verb>_completed` or `<verb>_failed` with the totals. A failure is recorded as
  its error class, SQLSTATE and step, never its message (errors).

The counters every workflow reports are named here once (COUNTERS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self

from governance import ledger
from governance.db import sql_text
from governance.errors import Failure, PermanentError, describe, sanitised

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class CounterDefinition:
    """How a counter reads in a report: a heading, the unit it counts (reports only ever add up counts of
    one unit), and what it means, in words for a reader who is not an engineer."""

    label: str
    unit: str  # what one of it is, singular: account, row, media file, stored version, archive file
    meaning: str


# Every counter a deleting workflow records, in the order reports show them. This is the one place
# their words are written: every report, the certificate and the logs take them from here.
COUNTERS = {
    "subjects_erased": CounterDefinition(
        "accounts erased", "account",
        "people whose account was erased: the account and every row about them were deleted, with their "
        "images and videos, except the rows the law requires us to keep, which were pseudonymised (those rows "
        "are counted under rows deleted and rows pseudonymised, not here)"),
    "rows_deleted": CounterDefinition(
        "rows deleted", "row", "rows removed from the database for good"),
    "rows_pseudonymised": CounterDefinition(
        "rows kept, pseudonymised", "row",
        "rows kept because the law requires it, with the person replaced by a keyed hash: the row no longer "
        "says whom it was about, and nobody can work that out without a key only this system holds"),
    "rows_media_marked": CounterDefinition(
        "rows kept, media deleted", "row",
        "rows whose image or video broke the content rules: the file was deleted, and the row kept with the "
        "moment of deletion as the record that it was removed (prohibited content)"),
    "objects_deleted": CounterDefinition(
        "media files deleted", "media file",
        "image and video files deleted from storage, every stored version of each, so none can be restored"),
    "object_versions_deleted": CounterDefinition(
        "stored versions deleted", "stored version",
        "the stored versions of those files that were deleted: storage can keep several versions of one file, "
        "and a file is gone only when every version is"),
    "objects_already_absent": CounterDefinition(
        "media files already gone", "media file",
        "files a deleted row named that were no longer in storage, so there was nothing left to delete"),
    "rows_archived": CounterDefinition(
        "rows archived", "row",
        "rows moved to the archive: written to a locked file, read back and checked, then deleted from the table"),
    "objects_written": CounterDefinition(
        "archive files written", "archive file",
        "archive files written, locked against change and deletion, and read back and checked"),
    "objects_expired": CounterDefinition(
        "archive files expired", "archive file",
        "archive files deleted because the period they had to be kept for was over"),
    "objects_legal_held": CounterDefinition(
        "archive files put on hold", "archive file",
        "archive files put under a storage legal hold, because they hold events of a person under a legal hold: "
        "they are not deleted, even when their period is over, until the hold is released"),
    "objects_legal_hold_released": CounterDefinition(
        "archive holds released", "archive file",
        "archive files whose storage legal hold was released, together with the person's legal hold"),
}

# SQLSTATEs a batch retries: lock_not_available (lock_timeout), deadlock_detected, serialization_failure.
RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01", "40001"})


class RuleBusy(PermanentError):
    """Another run of the same rule holds its lock; this run stopped before reading or deleting anything."""


class Counts:
    """Values of COUNTERS; a name that is not a counter is refused (no silent typo)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, int] | None = None, **counts: int) -> None:
        merged = {**(values or {}), **counts}
        unknown = sorted(set(merged) - set(COUNTERS))
        if unknown:
            raise ValueError(f"unknown counters {unknown}; the counters are {list(COUNTERS)}")
        self._values = {name: int(merged.get(name, 0)) for name in COUNTERS}

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def __add__(self, other: Counts) -> Counts:
        return Counts({name: self[name] + other[name] for name in COUNTERS})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counts) and self._values == other._values

    def __repr__(self) -> str:
        return f"Counts({', '.join(f'{k}={v}' for k, v in self._values.items() if v)})"

    def nonzero(self) -> dict[str, int]:
        return {name: value for name, value in self._values.items() if value}

    def as_dict(self) -> dict[str, int]:
        return dict(self._values)

    def __bool__(self) -> bool:
        return any(self._values.values())


@dataclass(frozen=True)
class RunIdentity:
    """Which run of which rule: what the lifecycle's records and ledger entries carry."""

    workflow: str
    run_id: str
    rule: str
    verb: str  # ledger actions are f"{verb}_started", f"{verb}_completed", ...
    policy_sha256: str
    target_table: str | None = None
    cutoff: datetime | None = None  # None for work that no clock decides (an erasure on request)

    @property
    def lock_name(self) -> str:
        return f"governance.rule:{self.workflow}:{self.rule}"

    def params(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "run_id": self.run_id, "rule": self.rule,
                "target_table": self.target_table, "cutoff": self.cutoff, "policy_sha256": self.policy_sha256,
                "lock_name": self.lock_name}


@dataclass(frozen=True)
class Timeouts:
    """Bounds on every wait: a batch never queues the application behind it for long."""

    lock_timeout_ms: int = 5_000  # a row or table lock the application holds
    batch_lock_timeout_ms: int = 120_000  # another rule's batch on a shared table (ours: short, bounded)
    statement_timeout_ms: int = 120_000
    idle_in_transaction_ms: int = 300_000  # a batch waiting on S3 holds row locks: bounded
    check_timeout_ms: int = 1_800_000  # the up-front count reads the whole table
    batch_attempts: int = 4
    retry_pause_s: float = 0.5  # times the attempt number, up to max_retry_pause_s
    max_retry_pause_s: float = 5.0
    # Dropping a partition takes the parent's ACCESS EXCLUSIVE lock, and while it waits for it every
    # query on the table queues behind it: it waits this long at most (far below deadlock_timeout,
    # 1 s by default), then gives up, pauses so that the queue drains, and tries again.
    partition_lock_timeout_ms: int = 50
    partition_attempts: int = 20


@dataclass
class Plan:
    """What a run's check found: rows due and held, and details for the ledger and the log."""

    eligible: int = 0
    held: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    unit: str = "rows"  # what `eligible` counts: rows, or (an erasure) people


# Counters that say how many of a plan's rows are done (each due row ends in exactly one of them).
ROWS_DONE = ("rows_deleted", "rows_pseudonymised", "rows_media_marked", "rows_archived")
PROGRESS_EVERY_S = 5.0  # a progress line in the task log at most this often


class Progress:
    """Progress lines for the task log while a run's batches go: batches, what is done so far, the rate,
    and the time left. Counts only: never a row value."""

    def __init__(self, subject: str, plan: Plan, *, every_s: float = PROGRESS_EVERY_S) -> None:
        self.subject, self.plan, self.every_s = subject, plan, every_s
        self.started = self.last = time.monotonic()

    def done(self, totals: Counts) -> int:
        if self.plan.unit == "people":
            return totals["subjects_erased"]
        return sum(totals[name] for name in ROWS_DONE)

    def batch_done(self, totals: Counts, batches: int, *, final: bool = False) -> str | None:
        now = time.monotonic()
        if not final and now - self.last < self.every_s:
            return None
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        done = self.done(totals)
        rate = done / elapsed
        line = (f"{self.subject}: {batches} batch{'es' if batches != 1 else ''}, {done:,} of {self.plan.eligible:,} "
                f"{self.plan.unit} done in {elapsed:.1f} s ({rate:,.0f} {self.plan.unit}/s)")
        left = self.plan.eligible - done
        if left > 0 and rate > 0:
            line += f", about {left / rate:.0f} s left"
        counts = ", ".join(f"{name.replace('_', ' ')} {value:,}" for name, value in totals.nonzero().items())
        line += f"; {counts}" if counts else ""
        log.info("%s", line)
        return line


@dataclass
class RunOutcome:
    """What one rule did (or, in a dry run, would do) in one run."""

    workflow: str
    rule: str
    run_id: str
    target_table: str | None
    cutoff: str | None
    dry_run: bool
    state: str = "running"  # preview, completed, already_completed, failed, refused
    eligible: int = 0
    held: int = 0
    counts: Counts = field(default_factory=Counts)
    batches: int = 0
    longest_batch_ms: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    by_table: dict[str, int] = field(default_factory=dict)  # counts per table, "sessions.rows_deleted"

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for XCom and the report: counts, never row values."""
        return {
            "workflow": self.workflow, "rule": self.rule, "run_id": self.run_id, "target_table": self.target_table,
            "cutoff": self.cutoff, "dry_run": self.dry_run, "state": self.state, "eligible": self.eligible,
            "held": self.held, **self.counts.as_dict(), "batches": self.batches,
            "longest_batch_ms": self.longest_batch_ms, "details": self.details, "by_table": self.by_table,
        }


class Work(Protocol):
    """What a deleting workflow does for one rule, inside the lifecycle."""

    def check(self, run: RuleRun) -> Plan:
        """Everything that can be refused before anything is deleted; raise a PermanentError to refuse."""

    def execute(self, run: RuleRun) -> None:
        """The batches, each through `run.batch`."""

    # A work may also itemise what a run of its rule did, for the run's closing (or interrupted) ledger
    # entry: ledger_details(conn, run_id) -> dict (RulePurge lists the partitions it dropped).


class Batch:
    """One batch transaction: its counts, and what it did that a rollback cannot undo."""

    def __init__(self, deleted_earlier: frozenset[str] | set[str] = frozenset()) -> None:
        self.counts = Counts()
        self.by_table: dict[str, int] = {}  # the same counts per table: "sessions.rows_deleted"
        self.irrevocable = Counts()  # e.g. objects deleted in S3: counted even if the batch rolls back
        self.deleted_keys: set[str] = set()  # the objects this batch deleted
        self.deleted_earlier = deleted_earlier  # deleted (and counted) by an attempt that rolled back

    def add(self, **counts: int) -> None:
        self.counts = self.counts + Counts(**counts)

    def add_for(self, table: str, **counts: int) -> None:
        """Add counts that belong to one table, kept per table as well (for an erasure's certificate)."""
        self.add(**counts)
        for name, value in counts.items():
            if value:
                self.by_table[f"{table}.{name}"] = self.by_table.get(f"{table}.{name}", 0) + value

    def add_irrevocable(self, **counts: int) -> None:
        self.irrevocable = self.irrevocable + Counts(**counts)


class RuleRun:
    """One rule of one workflow in one run, on an autocommit connection; see the module docstring."""

    def __init__(self, conn: psycopg.Connection, identity: RunIdentity, *, timeouts: Timeouts | None = None) -> None:
        if not conn.autocommit:
            raise ValueError("the run lifecycle needs an autocommit connection: it commits each batch on its own")
        self.conn, self.identity = conn, identity
        self.timeouts = timeouts or Timeouts()
        self.step = "lock"
        self.totals, self.batches, self.longest_batch_ms = Counts(), 0, 0.0
        self.by_table: dict[str, int] = {}
        # What earlier, unfinished attempts of this run already did: the counts its row still holds, plus
        # those another run recorded as interrupted (in the ledger; the row no longer holds them).
        self.earlier = Counts()
        self.interrupted_earlier = Counts()
        self.plan = Plan()
        self.work: Work | None = None
        self.progress: Progress | None = None
        self._locked = False
        # Objects deleted by batch attempts of this run that rolled back (already counted): a retry
        # that finds them gone must not count them again as already absent.
        self.deleted_by_failed_batches: set[str] = set()

    # -- the whole run -----------------------------------------------------------------------

    def execute(self, work: Work, *, dry_run: bool = False) -> RunOutcome:
        """Run `work` for this rule through the whole lifecycle (or only its check, in a dry run).

        Any failure is raised as a StepFailed `from None`: the original message, which may
        quote row values, is in no traceback, log line or record.
        """
        try:
            if dry_run:
                self.step = "check"
                return self.outcome("preview", plan=self._checked(work))
            with self:
                return self._run(work)
        except Exception as exc:  # interrupts (timeouts, termination) pass through unchanged
            failure = sanitised(exc, subject=self.subject, step=self.step)
            log.error("%s: %s", self.subject, failure.failure.summary())
        # Raised outside the except block, so that the original error is not even its context.
        raise failure from None

    def _run(self, work: Work) -> RunOutcome:
        self.work = work
        if self.completed_earlier():
            return self.outcome("already_completed")
        try:
            self.account_for_interrupted_runs()
            self.step = "check"
            plan = self._checked(work)
            self.start(plan)
            log.info("%s: %s %s due, %s held%s", self.subject, f"{plan.eligible:,}", plan.unit, f"{plan.held:,}",
                     f"; cutoff {self.identity.cutoff:%Y-%m-%d %H:%M:%S} UTC" if self.identity.cutoff else "")
            self.progress = Progress(self.subject, plan)
            work.execute(self)
            self.step = "finish"
            self._close("completed", None)
            return self.outcome("completed")
        except Exception as exc:
            # On a dropped connection nothing more can be written, and after an interrupt (a task
            # timeout, a termination) a query may still be running: the next run finds this run
            # unfinished in rule_runs and records its committed counts as interrupted.
            if not self.conn.broken:
                refused = self.step == "check" and isinstance(exc, PermanentError)
                self._close_quietly("refused" if refused else "failed", describe(exc, self.step))
            raise

    def _close_quietly(self, state: str, failure: Failure) -> None:
        """Record a failure; a failure to record it must not hide the failure itself."""
        try:
            self._close(state, failure)
        except Exception as exc:
            log.error("%s: could not record the failure (%s)", self.subject, describe(exc, "record failure").summary())

    def _checked(self, work: Work) -> Plan:
        with self.conn.transaction():
            self._begin(statement_timeout_ms=self.timeouts.check_timeout_ms, synchronous_commit="on")
            self.plan = work.check(self)
        return self.plan

    @property
    def subject(self) -> str:
        return f"{self.identity.workflow} rule {self.identity.rule!r}"

    def outcome(self, state: str, plan: Plan | None = None) -> RunOutcome:
        plan = plan or self.plan
        identity = self.identity
        return RunOutcome(
            workflow=identity.workflow, rule=identity.rule, run_id=identity.run_id,
            target_table=identity.target_table, cutoff=identity.cutoff.isoformat() if identity.cutoff else None,
            dry_run=state == "preview", state=state, eligible=plan.eligible, held=plan.held, counts=self.totals,
            batches=self.batches, longest_batch_ms=self.longest_batch_ms, details=dict(plan.details),
            by_table=dict(self.by_table),
        )

    # -- lock ------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        params = self.identity.params()
        if not self.conn.execute(sql_text("lifecycle/rule_lock.sql"), params).fetchone()[0]:
            holder = self.conn.execute(sql_text("lifecycle/lock_holder.sql"), params).fetchone()
            by = "another session"
            if holder:
                pid, run_id, started_at = holder
                by = f"run {run_id!r} (started {started_at:%Y-%m-%d %H:%M:%S %Z})" if run_id else f"session pid {pid}"
            raise RuleBusy(f"{self.subject} is already running in {by}; this run stopped before reading or "
                           "deleting anything. Wait for it to finish, or stop it, then run again.")
        self._locked = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Release the rule's lock. If that fails (an interrupted query, a lost connection), the lock
        goes with the session, which the caller closes; it must not hide the run's own error."""
        try:
            if self._locked and not self.conn.broken:
                self.conn.execute(sql_text("lifecycle/rule_unlock.sql"), self.identity.params())
        except Exception as exc:
            log.warning("%s: the rule's lock is released with the session (%s)", self.subject,
                        describe(exc, "unlock").summary())
        self._locked = False

    # -- ledger records --------------------------------------------------------------------------

    def _entry(self, event: str, *, run_id: str | None = None, counts: Mapping[str, int] | None = None,
               details: Mapping[str, Any] | None = None, cutoff: datetime | None = None,
               target_table: str | None = None, policy_sha256: str | None = None) -> ledger.LedgerEntry:
        identity = self.identity
        return ledger.LedgerEntry(
            workflow=identity.workflow, action=f"{identity.verb}_{event}", run_id=run_id or identity.run_id,
            rule=identity.rule, target_table=target_table or identity.target_table,
            cutoff=cutoff or identity.cutoff, policy_sha256=policy_sha256 or identity.policy_sha256,
            counts=dict(counts or {}), details=dict(details or {}),
        )

    def account_for_interrupted_runs(self) -> list[str]:
        """Runs of this rule whose worker died: record what they committed, then close them."""
        self.step = "account for interrupted runs"
        accounted = []
        with self.conn.transaction():
            rows = self.conn.execute(sql_text("lifecycle/interrupted_runs.sql"), self.identity.params()).fetchall()
            for run_id, target_table, cutoff, policy_sha256, counts, batches, by_table in rows:
                details = {"accounted_by_run": self.identity.run_id, **({"by_table": by_table} if by_table else {}),
                           **self._work_details(run_id)}
                ledger.append(self.conn, self._entry(
                    "interrupted", run_id=run_id, counts={**Counts(counts).as_dict(), "batches": batches},
                    details=details, cutoff=cutoff, target_table=target_table,
                    policy_sha256=policy_sha256,
                ))
                self.conn.execute(sql_text("lifecycle/mark_interrupted.sql"),
                                  {**self.identity.params(), "run_id": run_id, "accounted_by": self.identity.run_id})
                accounted.append(run_id)
        if accounted:
            log.warning("%s: accounted for %d interrupted run(s): %s", self.subject, len(accounted), accounted)
        return accounted

    def completed_earlier(self) -> bool:
        """Whether an earlier attempt of this same run completed (a cleared task, a repeated request):
        then nothing is done again, and the run's totals are reported as they are. An earlier attempt
        that did not complete leaves its counts in `earlier` (an interrupted one's are in the ledger)."""
        row = self.conn.execute(sql_text("lifecycle/run_state.sql"), self.identity.params()).fetchone()
        if row and row[0] == "completed":
            self.totals, self.batches, self.by_table = Counts(row[1]), row[2], row[3]
            log.info("%s: this run already completed; nothing more to do", self.subject)
            return True
        if row:
            self.interrupted_earlier = self._interrupted_counts()
            self.earlier = Counts(row[1]) + self.interrupted_earlier
        return False

    def _interrupted_counts(self) -> Counts:
        """What attempts of this run did before another run recorded them as interrupted."""
        total = Counts()
        for entry in ledger.entries_for_run(self.conn, self.identity.workflow, self.identity.run_id):
            if entry["action"] == f"{self.identity.verb}_interrupted" and entry["rule"] == self.identity.rule:
                total = total + Counts({k: v for k, v in entry["counts"].items() if k in COUNTERS})
        return total

    @property
    def done(self) -> Counts:
        """Everything this run has done, over all its attempts (totals restart after an interruption)."""
        return self.totals + self.interrupted_earlier

    def start(self, plan: Plan) -> None:
        """Register the run: `*_started`, or `*_resumed` when an earlier attempt of it left counts,
        which the totals then continue. A run another run accounted for as interrupted starts from
        zero again: its counts are in that entry already."""
        self.step = "start"
        with self.conn.transaction():
            self._begin(statement_timeout_ms=self.timeouts.statement_timeout_ms, synchronous_commit="on")
            counts, self.batches, self.by_table = self.conn.execute(sql_text("lifecycle/run_register.sql"),
                                                                    self.identity.params()).fetchone()
            self.totals = Counts(counts)
            event = "resumed" if self.totals or self.batches else "started"
            ledger.append(self.conn, self._entry(event, counts={"eligible": plan.eligible, "held": plan.held},
                                                 details=plan.details))

    def _close(self, state: str, failure: Failure | None) -> None:
        from psycopg.types.json import Jsonb

        with self.conn.transaction():
            # Synchronous: this entry is what makes every earlier (asynchronous) batch durable.
            self._begin(statement_timeout_ms=self.timeouts.statement_timeout_ms, synchronous_commit="on")
            closed = self.conn.execute(
                sql_text("lifecycle/run_close.sql"),
                {**self.identity.params(), "state": state, "error": Jsonb(failure.as_dict()) if failure else None},
            ).fetchone()
            if closed is None:  # the run completed in an earlier attempt: its record stands
                return
            self.totals, self.batches, self.by_table = Counts(closed[0]), closed[1], closed[2]
            details = {"failure": failure.as_dict()} if failure else {}
            if self.by_table:
                details["by_table"] = self.by_table
            details.update(self._work_details(self.identity.run_id))
            ledger.append(self.conn, self._entry(state, counts={**self.totals.as_dict(), "batches": self.batches,
                                                                "held": self.plan.held}, details=details))

    def _work_details(self, run_id: str) -> dict[str, Any]:
        itemise = getattr(self.work, "ledger_details", None)
        return itemise(self.conn, run_id) if itemise else {}

    # -- batches -----------------------------------------------------------------------------------

    def _begin(self, *, statement_timeout_ms: int, synchronous_commit: str, tables: Sequence[str] = (),
               lock_holds: bool = False, lock_timeout_ms: int | None = None) -> None:
        """This transaction's timeouts, then its batch locks, in one round trip (values are ours: literals)."""
        from psycopg import sql

        t = self.timeouts
        settings = sql.SQL(sql_text("lifecycle/transaction_settings.sql")).format(
            synchronous_commit=sql.Literal(synchronous_commit), batch_lock_timeout=sql.Literal(
                f"{t.batch_lock_timeout_ms}ms"), statement_timeout=sql.Literal(f"{statement_timeout_ms}ms"),
            idle_timeout=sql.Literal(f"{t.idle_in_transaction_ms}ms"))
        locks = [sql.SQL(sql_text("lifecycle/table_lock.sql")).format(
            lock_name=sql.Literal(f"governance.table:{table}")) for table in sorted(set(tables))]
        if lock_holds:
            locks.append(sql.SQL(sql_text("lifecycle/hold_lock.sql")))
        application = sql.SQL(sql_text("lifecycle/application_lock_timeout.sql")).format(
            lock_timeout=sql.Literal(f"{lock_timeout_ms or t.lock_timeout_ms}ms"))
        self.conn.execute(sql.SQL(";\n").join([settings, *locks, application]))

    @contextmanager
    def _transaction(self, tables: Sequence[str], synchronous_commit: str,
                     lock_timeout_ms: int | None) -> Iterator[Batch]:
        batch = Batch(deleted_earlier=self.deleted_by_failed_batches)
        started = time.perf_counter()
        try:
            with self.conn.transaction():
                self._begin(statement_timeout_ms=self.timeouts.statement_timeout_ms,
                            synchronous_commit=synchronous_commit, tables=tables, lock_holds=True,
                            lock_timeout_ms=lock_timeout_ms)
                yield batch
                if batch.counts or batch.irrevocable:
                    self._progress(batch.counts + batch.irrevocable, batches=1, by_table=batch.by_table)
        except Exception:
            self.deleted_by_failed_batches |= batch.deleted_keys
            if batch.irrevocable and not self.conn.broken:
                self._progress(batch.irrevocable, batches=0)  # e.g. objects deleted before the rollback
            raise
        finally:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
            self.longest_batch_ms = max(self.longest_batch_ms, elapsed_ms)

    def batch(self, body: Callable[[Batch], None], *, tables: Sequence[str], step: str,
              synchronous_commit: str = "on", lock_timeout_ms: int | None = None,
              attempts: int | None = None) -> Counts:
        """Run `body` in one batch transaction over `tables`, retrying lock timeouts and deadlocks.

        `body` adds what it did to the Batch; that is committed with it. A body that deletes
        objects in S3 must be safe to run again (a retry finds them already gone). The wait for
        the application's locks and the attempts default to the run's Timeouts.
        """
        import psycopg

        self.step = step
        attempts = attempts or self.timeouts.batch_attempts
        for attempt in range(1, attempts + 1):
            try:
                with self._transaction(tables, synchronous_commit, lock_timeout_ms) as batch:
                    body(batch)
                if self.progress is not None:
                    self.progress.batch_done(self.totals, self.batches)
                return batch.counts
            except psycopg.Error as exc:
                if exc.sqlstate not in RETRYABLE_SQLSTATES or attempt == attempts:
                    raise
                log.warning("%s: batch in step %s hit %s (%s); retrying (attempt %d of %d)", self.subject, step,
                            type(exc).__name__, exc.sqlstate, attempt + 1, attempts)
                time.sleep(min(self.timeouts.retry_pause_s * attempt, self.timeouts.max_retry_pause_s))
        raise AssertionError("unreachable")

    def add_counts(self, **counts: int) -> None:
        """Count work done outside a batch (an archive object expired, a legal hold set), in the caller's
        transaction when there is one, so that it commits with the work's own record."""
        self._progress(Counts(**counts), batches=0)

    def _progress(self, delta: Counts, *, batches: int, by_table: Mapping[str, int] | None = None) -> None:
        """Add to the run's counts: inside a batch's transaction, or (autocommit) on its own."""
        from psycopg.types.json import Jsonb

        counts, self.batches, self.by_table = self.conn.execute(
            sql_text("lifecycle/run_progress.sql"),
            {**self.identity.params(), "delta": Jsonb(delta.nonzero()), "batches": batches,
             "by_table": Jsonb(dict(by_table or {}))},
        ).fetchone()
        self.totals = Counts(counts)


def run_outcomes(conn: psycopg.Connection, workflow: str, run_id: str) -> list[dict[str, Any]]:
    """Every rule's recorded state and counts in one run of `workflow`, for its report."""
    rows = conn.execute(sql_text("lifecycle/run_outcomes.sql"), {"workflow": workflow, "run_id": run_id})
    outcomes = []
    for rule, state, cutoff, counts, by_table, batches, started_at, finished_at, error in rows:
        outcomes.append({"rule": rule, "state": state, "cutoff": cutoff, **Counts(counts).as_dict(),
                         "by_table": by_table, "batches": batches, "started_at": started_at, "finished_at": finished_at,
                         "failure": error})
    return outcomes
