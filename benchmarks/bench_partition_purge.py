"""The retention purge on a table partitioned by month: dropping expired months against one plain DELETE.

    python -m benchmarks.bench_partition_purge                  # 5,000,000 sessions over 24 monthly partitions
    python -m benchmarks.bench_partition_purge --rows 500000    # a quick check

A fresh database is loaded server-side (generate_series) with 50,000 users, 250 of them under a
legal hold, and `rows` sessions in app.sessions range-partitioned by month on created_at (the
seeder's partitioned shape, scripts/seeding/shape.reshape): 24 months, 2024-12 to 2026-11, and a
DEFAULT partition. `expired_fraction` of the rows lie before the `sessions` rule's cutoff (P13M:
2025-10-25 02:00 UTC for the run's cutoff 2026-11-25 02:00 UTC), spread evenly over the ten
months wholly before it and the first 24 days of the month that straddles it; the rest lie evenly
between the rule's cutoff and the run's. Rows are written in time order, as sessions arrive.
After VACUUM ANALYZE each method runs on a clone of it (a file copy made just before the method runs,
so that its pages are in the OS cache and none in shared_buffers), after a CHECKPOINT and a read of
the table, so every method starts from identical data in the same state:

* delete: one DELETE ... WHERE created_at < cutoff AND NOT EXISTS (active legal hold), in one
          transaction (the baseline);
* purge:  governance.purge.purge_rule(..., "sessions", ...), the product's purge, connected as
          the workflows' least-privileged role: it drops the ten expired months whole (their held
          rows moved to the DEFAULT partition first) and walks the straddling month and DEFAULT.

A second database has twice as many months after the cutoff: a copy of the loaded one (so the
expired months are the same files, byte for byte) with 13 more months, 2026-12 to 2027-12, and as
many rows again after the run's cutoff, at the same density (26 months after the cutoff instead of
13, 8,000,000 rows at full size). The purge runs on it too, and its time is compared with the first
purge's (growth).

While each method runs, a thread inserts single rows into the current month (2026-11), one per
autocommit transaction, timing each (bench_purge.Inserter), and another runs a server-side loop
that polls pg_locks about once a millisecond for a granted AccessExclusiveLock on the parent
app.sessions (pg_sleep(0.0005) between polls, which with the poll itself makes about 1.1 ms here;
the interval achieved is printed), reporting the longest contiguous stretch it saw: at least from
the first poll that saw the lock to the last one, at most from the poll before to the poll after.
The purge's own figure, governance.partition_drops.detach_us, times the detach, move and drop
statement; the lock is held until that transaction commits.

Targets: the purge at least 10x faster than the DELETE; concurrent insert p99 < 50 ms during the
purge; no lock on the parent held 250 ms or longer (both ways of measuring it); the purge on twice
the retained months at most 1.2x the purge's time; all three must leave exactly the same loaded
rows before the cutoff, and the DELETE and the purge the same rows overall (count, sum of keys and
a hash of every column). Clones are dropped once measured, and all at the end, also on error.
Loading the policy and building the S3 client happen before the clock starts.

Each method runs --repeat times (default 3), in rounds of DELETE, purge, purge on 2x retained,
each time on a fresh clone. Times come from each method's fastest run (on a shared machine,
interference only adds time, and one measurement of a second or two is not enough to judge a 1.2x
growth); the parent's lock and the insert latencies from the purge's worst run. For diagnosis:
--purge-first runs the purge before the DELETE in each round; --no-writer runs each method alone.

The machine is shared: compare the ratios of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_purge import (  # noqa: E402  (sys.path above)
    CUTOFF,
    HOLD_EVERY,
    INSERT_KEY_BASE,
    LOAD_HOLDS,
    LOAD_USERS,
    RULE,
    USERS,
    Inserter,
    _drop_databases,
    _dsn,
    _environment,
    _prepare,
    _rule_cutoff,
    single_delete,
)

FIRST_MONTH = datetime(2024, 12, 1, tzinfo=UTC)  # 24 months to 2026-11, the run's month
DB_LOADED, DB_GROWTH_LOADED = "bench_partition_load", "bench_partition_growth_load"
DB_DELETE, DB_PURGE, DB_GROWTH = "bench_partition_delete", "bench_partition_purge", "bench_partition_growth"
WATCH_STOP_KEY = (7_311, 1)  # the advisory lock (two-int space) whose release ends the pg_locks watch
WATCH_PAUSE_S = 0.0005  # pg_sleep(0.001) sleeps about 2 ms here, pg_sleep(0.0005) about 1.1 ms

TARGET_SPEEDUP = 10.0
TARGET_INSERT_P99_MS = 50.0
TARGET_PARENT_LOCK_MS = 250.0
TARGET_GROWTH = 1.2

# `rows` sessions with keys from `first_key`, evenly spaced in time and key order from `lower` to `upper`.
# random() draws in a fixed order after setseed, so the expired rows (loaded first) are the same rows in
# every database loaded with the same number of them.
LOAD_SESSIONS = """
INSERT INTO app.sessions (session_id, user_id, ip_hash, user_agent, created_at)
SELECT k,
       1 + floor(random() * %(users)s)::bigint,
       md5(k::text) || md5((-k)::text),
       (ARRAY['Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
              'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) Safari/604.1',
              'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/138.0 Safari/537.36',
              'Clipia/4.2 (Android 15)'])[1 + floor(random() * 4)::int],
       %(lower)s::timestamptz + ((i - 0.5) / %(rows)s)::float8 * (%(upper)s::timestamptz - %(lower)s::timestamptz)
FROM generate_series(1, %(rows)s::bigint) AS i, LATERAL (SELECT %(first_key)s::bigint + i - 1 AS k) AS key
"""

# What is left of the loaded rows: count, sum of keys and a hash of every column, all of them and those
# before the rule's cutoff (the held ones), and how many are still due and not held (must be none).
REMAINING = """
WITH loaded AS (
    SELECT t.created_at < %(cutoff)s AS expired,
           EXISTS (SELECT 1 FROM governance.legal_holds AS h WHERE h.user_id = t.user_id AND h.released_at IS NULL)
               AS held,
           t.session_id,
           hashtextextended(concat_ws('|', t.session_id, t.user_id, t.ip_hash, t.user_agent,
                                      (extract(epoch FROM t.created_at) * 1000000)::bigint), 0)::numeric AS digest
    FROM app.sessions AS t
    WHERE t.session_id < %(base)s
)
SELECT count(*), coalesce(sum(session_id), 0)::bigint, coalesce(sum(digest), 0),
       count(*) FILTER (WHERE expired), coalesce(sum(session_id) FILTER (WHERE expired), 0)::bigint,
       coalesce(sum(digest) FILTER (WHERE expired), 0),
       count(*) FILTER (WHERE expired AND NOT held)
FROM loaded
"""
REMAINING_FIELDS = ("rows", "key_sum", "digest", "expired_rows", "expired_key_sum", "expired_digest",
                    "due_not_held")

DROPS = """
SELECT count(*), coalesce(sum(rows_deleted), 0)::bigint, coalesce(sum(held_rows_moved), 0)::bigint,
       coalesce(max(detach_us), 0)::bigint, coalesce(sum(detach_us), 0)::bigint
FROM governance.partition_drops WHERE rule = %(rule)s AND run_id = %(run_id)s
"""

# The watch: one statement, server-side, so that its polls keep their pace whatever the client does.
# Polls pg_locks for a granted AccessExclusiveLock on `parent` every pause_s (plus the poll's own time)
# until it can take the advisory lock that the benchmark holds while the method runs. The first poll
# plans the query on a cold catalog cache (tens of ms in a fresh clone): the gaps are counted from the
# second one on.
WATCH_FUNCTION = """
CREATE FUNCTION pg_temp.watch_parent_lock(parent oid, stop_class int, stop_object int, pause_s float8)
RETURNS TABLE (polls bigint, polls_seen bigint, stretches int, longest_seen_us bigint, longest_bound_us bigint,
               mean_gap_us bigint, max_gap_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
    db oid := (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database());
    second_at timestamptz;
    at timestamptz;
    previous_at timestamptz;
    first_seen timestamptz;
    before_first timestamptz;
    last_seen timestamptz;
BEGIN
    polls := 0; polls_seen := 0; stretches := 0; longest_seen_us := 0; longest_bound_us := 0; max_gap_us := 0;
    LOOP
        at := clock_timestamp();
        IF polls = 1 THEN
            second_at := at;
        ELSIF polls > 1 THEN
            max_gap_us := greatest(max_gap_us, (extract(epoch FROM at - previous_at) * 1000000)::bigint);
        END IF;
        polls := polls + 1;
        IF EXISTS (SELECT FROM pg_catalog.pg_locks AS l
                   WHERE l.locktype = 'relation' AND l.database = db AND l.relation = parent
                     AND l.mode = 'AccessExclusiveLock' AND l.granted) THEN
            polls_seen := polls_seen + 1;
            IF first_seen IS NULL THEN
                first_seen := at;
                before_first := coalesce(previous_at, at);
            END IF;
            last_seen := at;
        ELSIF first_seen IS NOT NULL THEN
            stretches := stretches + 1;
            longest_seen_us := greatest(longest_seen_us,
                                        (extract(epoch FROM last_seen - first_seen) * 1000000)::bigint);
            longest_bound_us := greatest(longest_bound_us,
                                         (extract(epoch FROM at - before_first) * 1000000)::bigint);
            first_seen := NULL;
        END IF;
        previous_at := at;
        EXIT WHEN pg_catalog.pg_try_advisory_lock(stop_class, stop_object);
        PERFORM pg_catalog.pg_sleep(pause_s);
    END LOOP;
    PERFORM pg_catalog.pg_advisory_unlock(stop_class, stop_object);
    IF first_seen IS NOT NULL THEN  -- still held at the end: bounded by the last poll
        stretches := stretches + 1;
        longest_seen_us := greatest(longest_seen_us,
                                    (extract(epoch FROM last_seen - first_seen) * 1000000)::bigint);
        longest_bound_us := greatest(longest_bound_us, (extract(epoch FROM at - before_first) * 1000000)::bigint);
    END IF;
    mean_gap_us := CASE WHEN polls > 2
                        THEN (extract(epoch FROM previous_at - second_at) * 1000000)::bigint / (polls - 2) END;
    RETURN NEXT;
END
$$
"""
WATCH_FIELDS = ("polls", "polls_seen", "stretches", "longest_seen_us", "longest_bound_us", "mean_gap_us",
                "max_gap_us")


# -- the data ------------------------------------------------------------------------------


def months(first: datetime, end: datetime) -> list[datetime]:
    """The month partitions for rows from `first` to `end` (excluded)."""
    from scripts.seeding.shape import months_between

    return months_between(first, end - timedelta(microseconds=1))


def _sessions(conn: Any, first_key: int, rows: int, lower: datetime, upper: datetime) -> None:
    conn.execute(LOAD_SESSIONS, {"users": USERS, "first_key": first_key, "rows": rows, "lower": lower,
                                 "upper": upper})


def load(database: str, expired: int, retained: int) -> float:
    """Create `database` in the partitioned shape (FIRST_MONTH to the run's month) with the users, holds and
    sessions (`expired` before the rule's cutoff, `retained` from it to the run's cutoff), VACUUM ANALYZE it;
    seconds."""
    import psycopg

    from governance.db import apply_schemas
    from scripts import stack
    from scripts.seeding.shape import reshape

    started = time.perf_counter()
    stack.create_database(database)
    rule_cutoff = _rule_cutoff()
    params = {"users": USERS, "hold_every": HOLD_EVERY, "cutoff": CUTOFF}
    with psycopg.connect(_dsn(database)) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        apply_schemas(conn)
        reshape(conn, {"sessions": months(FIRST_MONTH, CUTOFF)})  # the other two: a DEFAULT partition only
        # The secondary indexes are built once after the load (apply_schemas recreates them, on every
        # partition), and the foreign-key trigger is skipped: every user_id is in 1..USERS by construction.
        conn.execute("DROP INDEX app.sessions_user_id_idx, app.sessions_created_at_idx")
        conn.execute("SET session_replication_role = replica")
        conn.execute(LOAD_USERS, params)
        conn.execute(LOAD_HOLDS, params)
        conn.execute("SELECT setseed(0.42)")
        _sessions(conn, 1, expired, FIRST_MONTH, rule_cutoff)
        _sessions(conn, expired + 1, retained, rule_cutoff, CUTOFF)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        apply_schemas(conn)
    _vacuum(database)
    return time.perf_counter() - started


def extend(template: str, database: str, first_key: int, retained: int) -> float:
    """`database`: a copy of `template` with as many months again after the run's cutoff, and `retained` more
    rows in them (the density of the retained months), VACUUM ANALYZE; seconds. The months before the run's
    cutoff are the template's own, byte for byte."""
    import psycopg
    from psycopg import sql

    from governance.db import sql_text
    from scripts import stack
    from scripts.seeding.shape import next_month, partition_name

    started = time.perf_counter()
    stack.create_database(database, template=template, file_copy=True)
    end = _growth_end()
    after = next_month(months(FIRST_MONTH, CUTOFF)[-1])
    template_sql = sql.SQL(sql_text("seed/month_partition.sql").strip())
    with psycopg.connect(_dsn(database)) as conn:
        for month in months(after, end):
            conn.execute(template_sql.format(
                partition=sql.Identifier("app", partition_name("sessions", month)),
                parent=sql.Identifier("app", "sessions"), lower=sql.Literal(month),
                upper=sql.Literal(next_month(month))))
        conn.execute(sql_text("schema/grants.sql"))  # the new months' privileges, as reshape gives them
        conn.execute("SET session_replication_role = replica")
        conn.execute("SELECT setseed(0.43)")
        _sessions(conn, first_key, retained, CUTOFF, end)
        conn.commit()
    _vacuum(database)
    return time.perf_counter() - started


def _growth_end() -> datetime:
    """Where the rows of the database with twice the retained months end: as far after the run's cutoff as
    the rule's cutoff is before it."""
    return CUTOFF + (CUTOFF - _rule_cutoff())


def vacuum_seconds(database: str) -> float:
    """How long a VACUUM of app.sessions takes to reclaim what the DELETE left (its dead rows and their index
    entries): work the DELETE leaves to autovacuum, and a dropped month does not."""
    import psycopg

    with psycopg.connect(_dsn(database), autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM app.sessions")
        return round(time.perf_counter() - started, 3)


def _vacuum(database: str) -> None:
    import psycopg

    with psycopg.connect(_dsn(database), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) app.users, app.sessions, governance.legal_holds")


def clone(template: str, *names: str) -> float:
    """File copies of `template` (none of their pages in shared_buffers, all in the OS cache); seconds."""
    from scripts import stack

    started = time.perf_counter()
    for name in names:
        stack.create_database(name, template=template, file_copy=True)
    return time.perf_counter() - started


# -- what runs beside each method ------------------------------------------------------------


class ParentLockWatch(threading.Thread):
    """Runs WATCH_FUNCTION on its own connection while a method runs; `start_watch` and `stop_watch` bracket it."""

    def __init__(self, database: str):
        super().__init__(name=f"lock-watch-{database}", daemon=True)
        self.database = database
        self.result: dict[str, int] = {}
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self._holder: Any = None

    def start_watch(self) -> None:
        import psycopg

        self._holder = psycopg.connect(_dsn(self.database), autocommit=True)
        self._holder.execute("SELECT pg_advisory_lock(%s, %s)", WATCH_STOP_KEY)
        self.start()
        self.ready.wait()
        if self.error:
            raise RuntimeError(f"the lock watch could not start: {self.error}") from self.error

    def stop_watch(self) -> dict[str, int]:
        try:
            self._holder.execute("SELECT pg_advisory_unlock(%s, %s)", WATCH_STOP_KEY)
        finally:
            self._holder.close()
        self.join()
        if self.error:
            raise RuntimeError(f"the lock watch failed: {self.error}") from self.error
        return self.result

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(_dsn(self.database), autocommit=True) as conn:
                conn.execute(WATCH_FUNCTION)
                parent = conn.execute("SELECT 'app.sessions'::regclass::oid").fetchone()[0]
                self.ready.set()
                row = conn.execute("SELECT * FROM pg_temp.watch_parent_lock(%s, %s, %s, %s)",
                                   (parent, *WATCH_STOP_KEY, WATCH_PAUSE_S)).fetchone()
                self.result = dict(zip(WATCH_FIELDS, row, strict=True))
        except BaseException as exc:  # reported by the caller, which must not hang on `ready`
            self.error = exc
            self.ready.set()


class LockRetries(logging.Handler):
    """Counts the purge's lock-timeout retries and the partitions it walked instead of dropping (its warnings)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.retries = 0
        self.walked_instead = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.retries += "retrying" in message
        self.walked_instead += "not dropped" in message


def measured(database: str, method: Callable[[], dict[str, Any]], seed: int, with_writer: bool) -> dict[str, Any]:
    """Run one method on `database` while an Inserter writes to it and the lock watch polls; its figures."""
    _prepare(database)
    writer = Inserter(database, seed, active=with_writer)
    writer.start()
    writer.ready.wait()
    if writer.error:
        raise RuntimeError(f"the concurrent writer could not start: {writer.error}") from writer.error
    watch = ParentLockWatch(database)
    watch.start_watch()
    time.sleep(0.05)  # the watch's first polls and the writer's first rows before the clock starts
    started = time.perf_counter()
    try:
        result = method()
    finally:
        seconds = time.perf_counter() - started
        writer.stop.set()
        result_watch = watch.stop_watch()
        writer.join()
    if writer.error:
        raise RuntimeError(f"the concurrent writer failed: {writer.error}") from writer.error
    result["seconds"] = round(seconds, 3)
    result["rows_per_s"] = round(result["rows_deleted"] / seconds) if seconds else 0
    result["inserts"] = writer.summary()
    result["watch"] = result_watch
    return result


# -- the product's purge -----------------------------------------------------------------------


def _timed(work: Any, name: str, spent: dict[str, float], key: str) -> None:
    """Time each call of work.<name> into spent[key] (added up); nothing if the method is not there."""
    method = getattr(work, name, None)
    if method is None:
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[key] = round(spent.get(key, 0.0) + time.perf_counter() - started, 3)

    setattr(work, name, timed)


def partition_purge(database: str, batch_size: int, policy: Any, s3: Any, run_id: str) -> dict[str, Any]:
    """What purge_rule(conn, s3, policy=..., rule="sessions", settings=...) runs, on the workflows' role,
    with its check, its drops and its walk timed."""
    import psycopg

    from governance.lifecycle import RuleRun
    from governance.purge import PurgeSettings, RulePurge
    from scripts import stack

    settings = PurgeSettings(run_id=run_id, run_cutoff=CUTOFF, dry_run=False, batch_size=batch_size,
                             max_rows_per_rule=10**9, media_bucket=os.environ["MEDIA_BUCKET"])
    spent: dict[str, float] = {}
    work = RulePurge(s3, policy, RULE, settings)
    _timed(work, "check", spent, "check_s")
    _timed(work, "execute", spent, "execute_s")
    _timed(work, "_walk_blocks", spent, "walk_s")
    retries = LockRetries()
    logging.getLogger("governance").addHandler(retries)
    try:
        with psycopg.connect(_dsn(database, stack.WORKFLOW_ROLE), autocommit=True) as conn:
            outcome = RuleRun(conn, work.identity(), timeouts=settings.timeouts).execute(work)
    finally:
        logging.getLogger("governance").removeHandler(retries)
    if "execute_s" in spent and "walk_s" in spent:
        spent["drops_s"] = round(spent["execute_s"] - spent["walk_s"], 3)
    return {"rows_deleted": outcome.counts["rows_deleted"], "eligible": outcome.eligible, "held": outcome.held,
            "batches": outcome.batches, "longest_batch_ms": outcome.longest_batch_ms,
            "lock_retries": retries.retries, "walked_instead": retries.walked_instead, **spent}


def drops(database: str, run_id: str) -> dict[str, int]:
    """What governance.partition_drops recorded for the run."""
    import psycopg

    with psycopg.connect(_dsn(database)) as conn:
        row = conn.execute(DROPS, {"rule": RULE, "run_id": run_id}).fetchone()
    return dict(zip(("partitions", "rows_deleted", "held_rows_moved", "max_detach_us", "sum_detach_us"), row,
                    strict=True))


def remaining(database: str, rule_cutoff: datetime) -> dict[str, Any]:
    """REMAINING_FIELDS of the loaded rows left in `database`."""
    import psycopg

    with psycopg.connect(_dsn(database)) as conn:
        row = conn.execute(REMAINING, {"cutoff": rule_cutoff, "base": INSERT_KEY_BASE}).fetchone()
    return dict(zip(REMAINING_FIELDS, row, strict=True))


# -- the run -------------------------------------------------------------------------------


def _fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of a method's runs (interference only adds time), with every run's seconds, and the worst
    figures of any run for what the targets bound (the parent's lock, the concurrent inserts)."""
    chosen = dict(min(runs, key=lambda result: result["seconds"]))
    chosen["all_seconds"] = [result["seconds"] for result in runs]
    chosen["worst"] = {
        "max_detach_us": max(result.get("drops", {}).get("max_detach_us", 0) for result in runs),
        "watch_bound_us": max(result["watch"]["longest_bound_us"] for result in runs),
        "watch_seen_us": max(result["watch"]["longest_seen_us"] for result in runs),
        "insert_p99_ms": max(result["inserts"]["p99_ms"] for result in runs),
        "insert_max_ms": max(result["inserts"]["max_ms"] for result in runs),
    }
    return chosen


def _same_rows(left: dict[str, dict[str, Any]]) -> dict[str, bool]:
    expired = ("expired_rows", "expired_key_sum", "expired_digest")
    return {
        "delete and purge left the same rows": left["delete"] == left["purge"],
        "no row due and not held is left": all(state["due_not_held"] == 0 for state in left.values()),
        "the purge on 2x retained months left the same rows before the cutoff": (
            all(left["growth"][name] == left["purge"][name] for name in expired)),
    }


def _verdict(results: dict[str, dict[str, Any]], left: dict[str, dict[str, Any]], deleted: set[int],
             writer: bool) -> dict[str, Any]:
    """The targets: times from each method's fastest run, the lock and the inserts from the purge's worst."""
    delete, purge, growth = results["delete"], results["purge"], results["growth"]
    worst = purge["worst"]
    speedup = delete["seconds"] / purge["seconds"] if purge["seconds"] else 0.0
    growth_ratio = growth["seconds"] / purge["seconds"] if purge["seconds"] else float("inf")
    checks = {
        f"purge >= {TARGET_SPEEDUP:g}x faster than the DELETE ({speedup:.2f}x)": speedup >= TARGET_SPEEDUP,
        f"parent locked < {TARGET_PARENT_LOCK_MS:g} ms: max detach_us ({worst['max_detach_us'] / 1000:.1f} ms)": (
            worst["max_detach_us"] / 1000 < TARGET_PARENT_LOCK_MS),
        f"parent locked < {TARGET_PARENT_LOCK_MS:g} ms: longest stretch the pg_locks watch saw, upper bound "
        f"({worst['watch_bound_us'] / 1000:.1f} ms)": worst["watch_bound_us"] / 1000 < TARGET_PARENT_LOCK_MS,
        f"purge on 2x retained months <= {TARGET_GROWTH:g}x the purge's time ({growth_ratio:.2f}x)": (
            growth_ratio <= TARGET_GROWTH),
        "every method and run deleted the same number of rows": len(deleted) == 1,
        **_same_rows(left),
    }
    if writer:
        checks[f"insert p99 during the purge < {TARGET_INSERT_P99_MS:g} ms ({worst['insert_p99_ms']} ms)"] = (
            worst["insert_p99_ms"] < TARGET_INSERT_P99_MS)
    return {"speedup": round(speedup, 2), "growth_ratio": round(growth_ratio, 3), "checks": checks,
            "passed": all(checks.values())}


def _databases(repeat: int) -> dict[str, list[str]]:
    """The clones each method runs on, `repeat` each."""
    suffix = [""] + [f"_{n}" for n in range(2, repeat + 1)]
    return {name: [database + end for end in suffix]
            for name, database in (("delete", DB_DELETE), ("purge", DB_PURGE), ("growth", DB_GROWTH))}


def _all_databases(repeat: int) -> list[str]:
    return [DB_LOADED, DB_GROWTH_LOADED, *[name for names in _databases(repeat).values() for name in names]]


def _schedule(databases: dict[str, list[str]], purge_first: bool) -> list[tuple[str, str]]:
    """(method, database) in the order they run: rounds of the DELETE and the two purges, the purges swapping
    places every other round, so that neither always runs right after the DELETE."""
    order: list[tuple[str, str]] = []
    for index, (delete, purge, growth) in enumerate(
            zip(databases["delete"], databases["purge"], databases["growth"], strict=True)):
        purges = [("purge", purge), ("growth", growth)][:: 1 if index % 2 == 0 else -1]
        order += [purges[0], ("delete", delete), purges[1]] if purge_first else [("delete", delete), *purges]
    return order


def _measure(schedule: list[tuple[str, str]], methods: dict[str, Callable[[str], dict[str, Any]]],
             writer: bool, timings: dict[str, float]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Each (method, database) of the schedule on a fresh clone, dropped once measured; the runs of each
    method, and what the first run of each left."""
    rule_cutoff = _rule_cutoff()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}
    left: dict[str, dict[str, Any]] = {}
    for seed, (name, database) in enumerate(schedule, start=1):
        # Made just before it is measured: every clone starts with its files just copied.
        timings["clone_s"] += clone(DB_GROWTH_LOADED if name == "growth" else DB_LOADED, database)
        started = time.perf_counter()
        result = measured(database, lambda name=name, database=database: methods[name](database), seed, writer)
        if name != "delete":
            result["drops"] = drops(database, f"bench-{database}")
        else:  # what the DELETE leaves to do: its dead rows, which a dropped month never has (not in the target)
            result["vacuum_s"] = vacuum_seconds(database)
        runs[name].append(result)
        if name not in left:
            left[name] = remaining(database, rule_cutoff)
        _drop_databases(database)  # its autovacuum must not run during the next method
        timings["measure_s"] += time.perf_counter() - started
    return runs, left


def run(rows: int = 5_000_000, expired_fraction: float = 0.4, batch_size: int | None = None,
        purge_first: bool = False, writer: bool = True, repeat: int = 3) -> dict:
    """Load both shapes, clone, run the DELETE and the purges with a concurrent writer and the lock watch,
    compare; drops its databases at the end."""
    from governance.policy import load_retention_policy
    from governance.storage import client_from_env

    _environment()
    rule_cutoff = _rule_cutoff()
    policy, s3 = load_retention_policy(), client_from_env()  # set-up, not purge work (the rule has no media)
    batch_size = batch_size or policy.model.defaults.batch_size
    expired = round(rows * expired_fraction)
    retained = rows - expired
    growth_end = _growth_end()
    schedule = _schedule(_databases(repeat), purge_first)
    methods = {
        "delete": lambda database: single_delete(database, rule_cutoff),
        "purge": lambda database: partition_purge(database, batch_size, policy, s3, f"bench-{database}"),
        "growth": lambda database: partition_purge(database, batch_size, policy, s3, f"bench-{database}"),
    }
    timings = {"clone_s": 0.0, "measure_s": 0.0}
    every = _all_databases(repeat)
    _drop_databases(*every)  # left over by an interrupted run
    try:
        timings["load_s"] = load(DB_LOADED, expired, retained)
        timings["growth_load_s"] = extend(DB_LOADED, DB_GROWTH_LOADED, expired + retained + 1, retained)
        runs, left = _measure(schedule, methods, writer, timings)
    finally:
        _drop_databases(*every)
    results = {name: _fastest(items) for name, items in runs.items()}
    return {
        "rows": rows, "expired_fraction": expired_fraction, "expired_rows": expired, "batch_size": batch_size,
        "users": USERS, "held_users": USERS // HOLD_EVERY, "rule_cutoff": rule_cutoff.isoformat(),
        "partitions": len(months(FIRST_MONTH, CUTOFF)), "growth_partitions": len(months(FIRST_MONTH, growth_end)),
        "growth_rows": expired + 2 * retained,
        "order": [name for name, _ in schedule], "writer": writer, "repeat": repeat,
        **{key: round(value, 2) for key, value in timings.items()},
        **results, "runs": runs, "rows_left": left["purge"]["rows"], "left": left,
        **_verdict(results, left, {result["rows_deleted"] for items in runs.values() for result in items}, writer),
    }


def _cells(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    delete, purge, growth = result["delete"], result["purge"], result["growth"]

    def each(fmt: Callable[[dict[str, Any]], str], with_delete: str = "-") -> tuple[str, str, str]:
        return with_delete, fmt(purge), fmt(growth)

    def ms(value: float) -> str:
        return f"{value / 1000:,.1f}"

    cells = [
        ("rows deleted", *each(lambda r: f"{r['rows_deleted']:,}", f"{delete['rows_deleted']:,}")),
        ("seconds", *each(lambda r: f"{r['seconds']:.3f}", f"{delete['seconds']:.3f}")),
        ("  of which the check (count)", *each(lambda r: f"{r.get('check_s', float('nan')):.3f}")),
        ("  of which the drops", *each(lambda r: f"{r.get('drops_s', float('nan')):.3f}")),
        ("  of which the walk", *each(lambda r: f"{r.get('walk_s', float('nan')):.3f}")),
        ("rows/s", *each(lambda r: f"{r['rows_per_s']:,}", f"{delete['rows_per_s']:,}")),
        ("then VACUUM of its dead rows, s", "-" if "vacuum_s" not in delete else f"{delete['vacuum_s']:.3f}", "-", "-"),
        ("partitions dropped", *each(lambda r: f"{r['drops']['partitions']}")),
        ("held rows moved to DEFAULT", *each(lambda r: f"{r['drops']['held_rows_moved']:,}")),
        ("batches", *each(lambda r: f"{r['batches']:,}", "1")),
        ("lock retries / walked instead", *each(lambda r: f"{r['lock_retries']} / {r['walked_instead']}")),
        ("longest transaction ms", *each(lambda r: f"{r['longest_batch_ms']:,.1f}", ms(delete["seconds"] * 1e6))),
        ("parent lock: max detach_us ms", *each(lambda r: ms(r["drops"]["max_detach_us"]))),
        ("parent lock: watch, seen ms", *each(lambda r: ms(r["watch"]["longest_seen_us"]),
                                              ms(delete["watch"]["longest_seen_us"]))),
        ("parent lock: watch, bound ms", *each(lambda r: ms(r["watch"]["longest_bound_us"]),
                                               ms(delete["watch"]["longest_bound_us"]))),
        ("  stretches seen", *each(lambda r: f"{r['watch']['stretches']}", f"{delete['watch']['stretches']}")),
        ("  poll interval mean/max ms", *each(
            lambda r: f"{ms(r['watch']['mean_gap_us'] or 0)}/{ms(r['watch']['max_gap_us'])}",
            f"{ms(delete['watch']['mean_gap_us'] or 0)}/{ms(delete['watch']['max_gap_us'])}")),
        ("concurrent inserts", *each(lambda r: f"{r['inserts']['count']:,}", f"{delete['inserts']['count']:,}")),
    ]
    cells += [(f"  insert {key[:-3]} ms", *each(lambda r, key=key: f"{r['inserts'][key]:,}",
                                                f"{delete['inserts'][key]:,}"))
              for key in ("p50_ms", "p99_ms", "max_ms")]
    return cells


def report(result: dict[str, Any]) -> str:
    """The result as a readable table."""
    lines = [
        f"partitioned purge benchmark: {result['rows']:,} sessions over {result['partitions']} monthly partitions "
        f"and DEFAULT, {result['expired_fraction']:.0%} ({result['expired_rows']:,}) before {result['rule_cutoff']}, "
        f"{result['users']:,} users, {result['held_users']} under legal hold, batch_size {result['batch_size']:,}",
        f"2x retained: {result['growth_rows']:,} sessions over {result['growth_partitions']} partitions, the same "
        f"expired months and rows",
        f"load {result['load_s']:.1f} s (generate, index, VACUUM ANALYZE), 2x retained {result['growth_load_s']:.1f} s "
        "(copy, add months, VACUUM ANALYZE), "
        f"clones {result['clone_s']:.1f} s, measured and checked {result['measure_s']:.1f} s; "
        f"order: {', '.join(result['order'])}"
        + ("" if result["writer"] else "; no concurrent writer (--no-writer)"),
    ]
    if result["repeat"] > 1:
        lines.append(f"each method {result['repeat']} times, the fastest shown: "
                     f"DELETE {result['delete']['all_seconds']} s, purge {result['purge']['all_seconds']} s, "
                     f"2x retained {result['growth']['all_seconds']} s")
    lines += ["", f"{'':34s}{'single DELETE':>16s}{'partition purge':>17s}{'2x retained':>14s}"]
    lines += [f"{label:34s}{a:>16s}{b:>17s}{c:>14s}" for label, a, b, c in _cells(result)]
    lines += [
        "",
        f"speedup DELETE/purge: {result['speedup']:.2f}x; growth 2x retained/purge: {result['growth_ratio']:.3f}x",
        f"with the VACUUM the DELETE's dead rows need (not in the target): (DELETE + VACUUM)/purge "
        f"{(result['delete']['seconds'] + result['delete'].get('vacuum_s', 0)) / result['purge']['seconds']:.2f}x",
        f"(the watch polls pg_locks server-side every {WATCH_PAUSE_S * 1000:g} ms plus the poll's own time; "
        "'seen' runs from the first poll that saw the lock to the last, 'bound' from the poll before to the "
        "poll after)",
    ]
    worst = result["purge"]["worst"]
    lines.append(f"worst of the {result['repeat']} purges: parent lock {worst['max_detach_us'] / 1000:.1f} ms "
                 f"(detach_us), {worst['watch_seen_us'] / 1000:.1f}-{worst['watch_bound_us'] / 1000:.1f} ms (watch); "
                 f"insert p99 {worst['insert_p99_ms']} ms, max {worst['insert_max_ms']} ms")
    lines += [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in result["checks"].items()]
    lines.append(f"overall: {'PASS' if result['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--expired-fraction", type=float, default=0.4)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the policy's defaults.batch_size")
    parser.add_argument("--purge-first", action="store_true", help="run the purge before the single DELETE")
    parser.add_argument("--no-writer", action="store_true", help="run each method without the concurrent writer")
    parser.add_argument("--repeat", type=int, default=3,
                        help="run each method this many times, in rounds, on fresh clones (the fastest counts)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON after the table")
    args = parser.parse_args(argv)
    result = run(rows=args.rows, expired_fraction=args.expired_fraction, batch_size=args.batch_size,
                 purge_first=args.purge_first, writer=not args.no_writer, repeat=max(1, args.repeat))
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
