"""The retention purge at scale: the product's batched purge against one plain DELETE.

    python -m benchmarks.bench_purge                  # 5,000,000 sessions, 40 % expired
    python -m benchmarks.bench_purge --rows 500000    # a quick check

A fresh database is loaded server-side (generate_series) with ~50,000 users and `rows`
sessions of rule `sessions` (app.sessions, P13M on created_at): `expired_fraction` of them
older than the rule's cutoff, the rest newer, mixed at random along the key. 0.5 % of the
users are under a legal hold. After VACUUM ANALYZE the database is cloned twice, so both
methods start from identical data and an identical cache, each after a CHECKPOINT and a
read of the table:

* single:  one DELETE ... WHERE created_at < cutoff AND NOT EXISTS (active legal hold), in
           one transaction (the baseline);
* batched: governance.purge.purge_rule(..., "sessions", ...), the product's purge, on the run
           lifecycle, connected as the workflows' least-privileged role.

While each method runs, a thread with its own connection inserts new sessions one row per
autocommit transaction (as fast as it can, pausing 0.5 ms between rows) and records each
insert's latency. Targets: batched throughput >= 0.8 x single, longest batch transaction
< 250 ms, concurrent insert p99 < 50 ms during the batched purge; both methods must delete
exactly the same rows. Each clone is dropped as soon as its method is measured (autovacuum
of its dead rows must not run during the other method); all are dropped at the end, also
on error. Loading the policy and building the S3 client happen before the clock starts.

Diagnosis: --batched-first swaps the order; --no-writer runs each method alone.

The machine is shared: compare the ratios of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

RULE = "sessions"
CUTOFF = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # the run's cutoff; the rule's is 13 months earlier
USERS = 50_000
HOLD_EVERY = 200  # every 200th user is under an active legal hold (0.5 %)
DB_LOADED, DB_A, DB_B = "bench_purge_load", "bench_purge_a", "bench_purge_b"
INSERT_KEY_BASE = 10**12  # keys of the rows the concurrent writer adds, far above the loaded ones
INSERT_PAUSE_S = 0.0005

TARGET_RATIO = 0.8
TARGET_LONGEST_BATCH_MS = 250.0
TARGET_INSERT_P99_MS = 50.0

LOAD_USERS = """
INSERT INTO app.users (user_id, email, display_name, country, created_at)
SELECT i, 'user' || i || '@example.com', 'User ' || i, (ARRAY['DE','FR','GB','US','RU','NL'])[1 + i %% 6],
       %(cutoff)s::timestamptz - interval '3 years'
FROM generate_series(1, %(users)s::bigint) AS i
"""

LOAD_HOLDS = """
INSERT INTO governance.legal_holds (user_id, reason, placed_by, placed_at)
SELECT i, 'benchmark hold', 'bench_purge', %(cutoff)s::timestamptz - interval '1 year'
FROM generate_series(%(hold_every)s::bigint, %(users)s::bigint, %(hold_every)s::bigint) AS i
"""

# random() draws in a fixed order after setseed, so a run's data is reproducible.
LOAD_SESSIONS = """
INSERT INTO app.sessions (session_id, user_id, ip_hash, user_agent, created_at)
SELECT i,
       1 + floor(random() * %(users)s)::bigint,
       md5(i::text) || md5((-i)::text),
       (ARRAY['Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
              'Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) Safari/604.1',
              'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/138.0 Safari/537.36',
              'Clipia/4.2 (Android 15)'])[1 + floor(random() * 4)::int],
       CASE WHEN random() < %(expired_fraction)s
            THEN %(rule_cutoff)s::timestamptz - interval '1 second' - random() * interval '700 days'
            ELSE %(rule_cutoff)s::timestamptz + random() * (%(cutoff)s::timestamptz - %(rule_cutoff)s::timestamptz)
       END
FROM generate_series(1, %(rows)s::bigint) AS i
"""

# The baseline: the same due and held predicates as the rule (due_by_clock.sql, held.sql).
SINGLE_DELETE = """
DELETE FROM app.sessions AS t
WHERE t.created_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM governance.legal_holds AS h WHERE h.user_id = t.user_id AND h.released_at IS NULL)
"""

INSERT_SESSION = (
    "INSERT INTO app.sessions (session_id, user_id, ip_hash, user_agent, created_at) VALUES (%s, %s, %s, %s, %s)"
)

# What is left of the loaded rows: equal in both databases when both deleted the same rows.
REMAINING = """
SELECT count(*), coalesce(sum(session_id), 0)::bigint,
       count(*) FILTER (WHERE created_at < %(cutoff)s
                        AND NOT EXISTS (SELECT 1 FROM governance.legal_holds AS h
                                        WHERE h.user_id = t.user_id AND h.released_at IS NULL))
FROM app.sessions AS t
WHERE session_id < %(base)s
"""


# -- the stack -----------------------------------------------------------------------------


def _dsn(database: str, user: str = "postgres") -> str:
    from scripts import stack

    return stack.SETTINGS.dsn(database, user)


def _environment() -> None:
    """The S3 and policy settings the purge reads, from the local stack unless already set."""
    from scripts import stack

    for name, value in stack.environment(stack.SETTINGS).items():
        os.environ.setdefault(name, value)


def _drop_databases(*names: str) -> None:
    from scripts import stack

    for name in names or (DB_B, DB_A, DB_LOADED):
        stack.drop_database(name)


def _rule_cutoff() -> datetime:
    from governance.policy import load_retention_policy

    rule = load_retention_policy().model.rule(RULE)
    return rule.period.before(CUTOFF)


# -- the data ------------------------------------------------------------------------------


def load(rows: int, expired_fraction: float) -> dict[str, float]:
    """Create DB_LOADED with the schemas and the data, VACUUM ANALYZE it, clone it as DB_A and DB_B; timings in s.

    Each method runs on a clone, not on the database that was just loaded: a clone starts with
    none of its pages in shared_buffers (buffers belong to one database's files) and all of
    them in the OS cache (the file copy just wrote them), so both methods start alike. The
    loaded database still holds much of itself in shared_buffers and is dropped.
    """
    import psycopg

    from governance.db import apply_schemas
    from scripts import stack

    timings: dict[str, float] = {}
    started = time.perf_counter()
    stack.create_database(DB_LOADED)
    params = {"users": USERS, "hold_every": HOLD_EVERY, "rows": rows, "expired_fraction": expired_fraction,
              "cutoff": CUTOFF, "rule_cutoff": _rule_cutoff()}
    with psycopg.connect(_dsn(DB_LOADED)) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        apply_schemas(conn)
        # The secondary indexes are built once after the load (apply_schemas recreates them),
        # and the foreign-key trigger is skipped: every user_id is in 1..USERS by construction.
        conn.execute("DROP INDEX app.sessions_user_id_idx, app.sessions_created_at_idx")
        conn.execute("SET session_replication_role = replica")
        conn.execute(LOAD_USERS, params)
        conn.execute(LOAD_HOLDS, params)
        conn.execute("SELECT setseed(0.42)")
        conn.execute(LOAD_SESSIONS, params)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        apply_schemas(conn)
    with psycopg.connect(_dsn(DB_LOADED), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) app.users, app.sessions, governance.legal_holds")
    timings["load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for clone in (DB_A, DB_B):
        stack.create_database(clone, template=DB_LOADED, file_copy=True)
    timings["clone_s"] = time.perf_counter() - started
    _drop_databases(DB_LOADED)
    return timings


# -- the concurrent writer -----------------------------------------------------------------


class Inserter(threading.Thread):
    """An application writing new sessions, one autocommit row at a time, timing each insert."""

    def __init__(self, database: str, seed: int, active: bool = True):
        super().__init__(name=f"inserter-{database}", daemon=True)
        self.database, self.active = database, active
        self.rng = random.Random(seed)
        self.latencies_ms: list[float] = []
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        if not self.active:  # --no-writer: the method runs alone
            self.ready.set()
            return
        try:
            with psycopg.connect(_dsn(self.database), autocommit=True) as conn:
                key = INSERT_KEY_BASE
                self.ready.set()
                while not self.stop.is_set():
                    row = (key, self.rng.randint(1, USERS), f"{key:064x}", "Clipia/4.2 (Android 15)", CUTOFF)
                    started = time.perf_counter()
                    conn.execute(INSERT_SESSION, row)
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
                    key += 1
                    time.sleep(INSERT_PAUSE_S)
        except BaseException as exc:  # reported by the caller, which must not hang on `ready`
            self.error = exc
            self.ready.set()

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies_ms)

        def percentile(p: float) -> float:
            return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 2) if ordered else float("nan")

        return {"count": len(ordered), "p50_ms": percentile(0.50), "p99_ms": percentile(0.99),
                "max_ms": round(ordered[-1], 2) if ordered else float("nan")}


def _prepare(database: str) -> None:
    """The same start for each method: a checkpoint, and the table read once (the OS cache warm)."""
    import psycopg

    with psycopg.connect(_dsn(database), autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM app.sessions").fetchone()
        conn.execute("CHECKPOINT")


def measured(database: str, method: Callable[[], dict[str, Any]], seed: int,
             with_writer: bool = True) -> dict[str, Any]:
    """Run one method on `database` while an Inserter writes to it; the method's figures and the writer's."""
    _prepare(database)
    writer = Inserter(database, seed, active=with_writer)
    writer.start()
    writer.ready.wait()
    if writer.error:
        raise RuntimeError(f"the concurrent writer could not start: {writer.error}") from writer.error
    started = time.perf_counter()
    try:
        result = method()
    finally:
        seconds = time.perf_counter() - started
        writer.stop.set()
        writer.join()
    if writer.error:
        raise RuntimeError(f"the concurrent writer failed: {writer.error}") from writer.error
    result["seconds"] = round(seconds, 3)
    result["rows_per_s"] = round(result["rows_deleted"] / seconds) if seconds else 0
    result["inserts"] = writer.summary()
    return result


# -- the two methods -----------------------------------------------------------------------


def single_delete(database: str, rule_cutoff: datetime) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(_dsn(database)) as conn:  # not autocommit: one transaction
        deleted = conn.execute(SINGLE_DELETE, {"cutoff": rule_cutoff}).rowcount
        conn.commit()
    return {"rows_deleted": deleted}


def batched_purge(database: str, batch_size: int, policy: Any, s3: Any) -> dict[str, Any]:
    """The product's purge_rule, on the workflows' own least-privileged role, with its up-front count timed."""
    import psycopg

    from governance.lifecycle import RuleRun
    from governance.purge import PurgeSettings, RulePurge
    from scripts import stack

    settings = PurgeSettings(run_id="bench", run_cutoff=CUTOFF, dry_run=False, batch_size=batch_size,
                             max_rows_per_rule=10**9, media_bucket=os.environ["MEDIA_BUCKET"])
    spent: dict[str, float] = {}
    work = RulePurge(s3, policy, RULE, settings)  # what purge_rule() runs, with its check timed
    check = work.check

    def timed_check(run: RuleRun) -> Any:
        started = time.perf_counter()
        plan = check(run)
        spent["count_s"] = round(time.perf_counter() - started, 3)
        return plan

    work.check = timed_check  # type: ignore[method-assign]
    with psycopg.connect(_dsn(database, stack.WORKFLOW_ROLE), autocommit=True) as conn:
        outcome = RuleRun(conn, work.identity(), timeouts=settings.timeouts).execute(work)
    return {"rows_deleted": outcome.counts["rows_deleted"], "eligible": outcome.eligible, "held": outcome.held,
            "batches": outcome.batches, "longest_batch_ms": outcome.longest_batch_ms, **spent}


def remaining(database: str, rule_cutoff: datetime) -> tuple[int, int, int]:
    """(rows, sum of keys, rows still due and not held) of the loaded rows."""
    import psycopg

    with psycopg.connect(_dsn(database)) as conn:
        return conn.execute(REMAINING, {"cutoff": rule_cutoff, "base": INSERT_KEY_BASE}).fetchone()


# -- the run -------------------------------------------------------------------------------


def _verdict(single: dict[str, Any], batched: dict[str, Any], same_rows: bool, writer: bool) -> dict[str, Any]:
    ratio = batched["rows_per_s"] / single["rows_per_s"] if single["rows_per_s"] else 0.0
    checks = {
        f"throughput ratio >= {TARGET_RATIO}": ratio >= TARGET_RATIO,
        f"longest batch < {TARGET_LONGEST_BATCH_MS:g} ms": batched["longest_batch_ms"] < TARGET_LONGEST_BATCH_MS,
        "both deleted the same rows": same_rows,
    }
    if writer:
        checks[f"insert p99 during batched < {TARGET_INSERT_P99_MS:g} ms"] = (
            batched["inserts"]["p99_ms"] < TARGET_INSERT_P99_MS)
    return {"throughput_ratio": round(ratio, 3), "checks": checks, "passed": all(checks.values())}


def run(rows: int = 5_000_000, expired_fraction: float = 0.4, batch_size: int | None = None,
        batched_first: bool = False, writer: bool = True) -> dict:
    """Load, clone, run both methods with a concurrent writer, compare; drops its databases at the end.

    batched_first and writer=False are for diagnosis (order effects; each method alone).
    """
    from governance.policy import load_retention_policy
    from governance.storage import client_from_env

    _environment()
    rule_cutoff = _rule_cutoff()
    # Set-up, not purge work: made before the clock starts. The sessions rule has no media,
    # so the S3 client is never called.
    policy, s3 = load_retention_policy(), client_from_env()
    batch_size = batch_size or policy.model.defaults.batch_size
    methods = {
        "single": (DB_A, lambda: single_delete(DB_A, rule_cutoff)),
        "batched": (DB_B, lambda: batched_purge(DB_B, batch_size, policy, s3)),
    }
    order = ["batched", "single"] if batched_first else ["single", "batched"]
    results: dict[str, dict[str, Any]] = {}
    left: dict[str, tuple[int, int, int]] = {}
    _drop_databases()  # left over by an interrupted run
    try:
        timings = load(rows, expired_fraction)
        for seed, name in enumerate(order, start=1):
            database, method = methods[name]
            results[name] = measured(database, method, seed, writer)
            left[name] = remaining(database, rule_cutoff)
            _drop_databases(database)  # its autovacuum must not run during the other method
    finally:
        _drop_databases()
    single, batched = results["single"], results["batched"]
    same_rows = (left["single"] == left["batched"] and left["single"][2] == 0
                 and single["rows_deleted"] == batched["rows_deleted"])
    return {
        "rows": rows, "expired_fraction": expired_fraction, "batch_size": batch_size, "users": USERS,
        "held_users": USERS // HOLD_EVERY, "rule_cutoff": rule_cutoff.isoformat(), "order": order,
        "writer": writer,
        **{key: round(value, 2) for key, value in timings.items()},
        "single": single, "batched": batched, "rows_left": left["single"][0],
        **_verdict(single, batched, same_rows, writer),
    }


def report(result: dict[str, Any]) -> str:
    """The result as a readable table."""
    single, batched = result["single"], result["batched"]
    lines = [
        f"purge benchmark: {result['rows']:,} sessions, {result['expired_fraction']:.0%} expired "
        f"(before {result['rule_cutoff']}), {result['users']:,} users, {result['held_users']} under legal hold, "
        f"batch_size {result['batch_size']:,}",
        f"load {result['load_s']:.1f} s (generate, index, VACUUM ANALYZE), clone {result['clone_s']:.1f} s, "
        f"order: {' then '.join(result['order'])}"
        + ("" if result["writer"] else ", no concurrent writer (--no-writer)"),
        "",
        f"{'':28s}{'single DELETE':>16s}{'batched purge':>16s}",
    ]
    cells = [
        ("rows deleted", f"{single['rows_deleted']:,}", f"{batched['rows_deleted']:,}"),
        ("seconds", f"{single['seconds']:.2f}", f"{batched['seconds']:.2f}"),
        ("  of which counting", "-", f"{batched.get('count_s', float('nan')):.2f}"),
        ("rows/s", f"{single['rows_per_s']:,}", f"{batched['rows_per_s']:,}"),
        ("batches", "1", f"{batched['batches']:,}"),
        ("longest transaction ms", f"{single['seconds'] * 1000:,.0f}", f"{batched['longest_batch_ms']:,.1f}"),
        ("concurrent inserts", f"{single['inserts']['count']:,}", f"{batched['inserts']['count']:,}"),
    ]
    cells += [(f"  insert {key[:-3]} ms", f"{single['inserts'][key]:,}", f"{batched['inserts'][key]:,}")
              for key in ("p50_ms", "p99_ms", "max_ms")]
    lines += [f"{label:28s}{a:>16s}{b:>16s}" for label, a, b in cells]
    lines += [
        "",
        f"throughput ratio batched/single: {result['throughput_ratio']:.3f}",
    ]
    lines += [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in result["checks"].items()]
    lines.append(f"overall: {'PASS' if result['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--expired-fraction", type=float, default=0.4)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the policy's defaults.batch_size")
    parser.add_argument("--batched-first", action="store_true", help="run the batched purge before the single DELETE")
    parser.add_argument("--no-writer", action="store_true", help="run each method without the concurrent writer")
    parser.add_argument("--json", action="store_true", help="print the result as JSON after the table")
    args = parser.parse_args(argv)
    result = run(rows=args.rows, expired_fraction=args.expired_fraction, batch_size=args.batch_size,
                 batched_first=args.batched_first, writer=not args.no_writer)
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
