"""The no_raw_prompts suite at scale, against the hand-written query it replaces.

    python -m benchmarks.bench_quality                        # 10,000,000 generations
    python -m benchmarks.bench_quality --generations 1000000  # a quick check

A fresh database is loaded server-side (generate_series) with 100,000 users and `generations`
generations whose prompt hashes are SHA-256 hex (a share of them of canary prompts), and
VACUUM ANALYZE'd. Then, in the same run, on the same warm data:

* hand-written: `SELECT count(*) FROM app.generations WHERE prompt_hash !~ '^[0-9a-f]{64}$'`,
  the baseline;
* suite:        the no_raw_prompts suite, full scan, end to end (GX context, batch views, every
                expectation of every table, the results recorded), its GX import not timed;
* growth:       an incremental night with 1 % new rows on the table, then on a table of twice
                the size with the same number of new rows.

Targets: suite <= 1.5 x the hand-written query; incremental night on the doubled table <= 1.2 x
the night on the first.

The machine is shared: compare the ratios of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_purge import _drop_databases, _environment  # noqa: E402  (sys.path above)

DB = "bench_quality"
USERS = 100_000
CUTOFF = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TARGET_RATIO = 1.5
TARGET_GROWTH = 1.2

LOAD_USERS = """
INSERT INTO app.users (user_id, email, country, created_at)
SELECT g, 'u' || g || '@example.com', 'DE', timestamptz '2020-01-01' FROM generate_series(1, %(users)s) AS g
"""
# Every 50th prompt is a canary (its hash in the table proves the hashing path ran).
LOAD_GENERATIONS = """
INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, media_key, status, created_at)
SELECT g, 1 + g %% %(users)s, 'image',
       CASE WHEN g %% 50 = 0 THEN %(canary)s ELSE encode(sha256(int8send(g)), 'hex') END,
       'openai', 'generations/' || (1 + g %% %(users)s) || '/' || g || '.png', 'completed',
       timestamptz '2025-01-01' + g * interval '1 second'
FROM generate_series(%(first)s, %(last)s) AS g
"""
HAND_WRITTEN = "SELECT count(*) FROM app.generations WHERE prompt_hash !~ '^[0-9a-f]{64}$'"
SAVE_WATERMARKS = "SELECT high_key, suite, table_name FROM governance.dq_watermarks"
RESTORE_WATERMARK = "UPDATE governance.dq_watermarks SET high_key = %s WHERE suite = %s AND table_name = %s"
NIGHT_REPEATS = 3


def _timed(function) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    _environment()
    import hashlib

    import psycopg

    from governance.data_map import load_data_map
    from governance.db import apply_schemas
    from governance.policy import load_retention_policy
    from governance.quality import SuiteRun, load_canaries, load_suite
    from scripts import stack

    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations  # noqa: F401  (imported once, before any clock starts)

    _drop_databases(DB)
    url = stack.create_database(DB, replace=True)
    canaries = load_canaries()
    n = args.generations
    with psycopg.connect(url, autocommit=True) as conn:
        apply_schemas(conn)
        started = time.perf_counter()
        conn.execute(LOAD_USERS, {"users": USERS})
        conn.execute(LOAD_GENERATIONS, {"users": USERS, "first": 1, "last": n,
                                        "canary": hashlib.sha256(canaries[0].encode()).hexdigest()})
        conn.execute("VACUUM ANALYZE app.generations")
        print(f"loaded {n:,} generations in {time.perf_counter() - started:.1f} s", flush=True)
        retention = load_retention_policy()
        data_map = load_data_map(retention=retention).model

        def suite(run_id: str, full: bool):
            return SuiteRun(lambda: psycopg.connect(url, autocommit=True), conn, retention, data_map,
                            load_suite("no_raw_prompts"), run_id, CUTOFF, full, canaries=canaries).run()

        conn.execute(HAND_WRITTEN)  # warm the cache for both
        hand_seconds, count = _timed(lambda: conn.execute(HAND_WRITTEN).fetchone()[0])
        suite_seconds, outcome = _timed(lambda: suite("bench-full", True))
        hand_again, _ = _timed(lambda: conn.execute(HAND_WRITTEN).fetchone()[0])
        baseline = min(hand_seconds, hand_again)
        assert count == 0, count
        assert not outcome.failed, outcome.failure_message()
        ratio = suite_seconds / baseline
        print(f"hand-written regex count: {baseline:.2f} s (runs {hand_seconds:.2f}, {hand_again:.2f} s)")
        print(f"no_raw_prompts suite, full scan: {suite_seconds:.2f} s; ratio {ratio:.2f} "
              f"(target <= {TARGET_RATIO}) {'OK' if ratio <= TARGET_RATIO else 'MISSED'}")

        new = max(1, n // 100)

        def night(first: int, run_id: str) -> float:
            """The best of three runs of the same night: the watermark is set back before each."""
            conn.execute(LOAD_GENERATIONS, {"users": USERS, "first": first, "last": first + new - 1,
                                            "canary": hashlib.sha256(canaries[0].encode()).hexdigest()})
            conn.execute("VACUUM ANALYZE app.generations")
            marks = conn.execute(SAVE_WATERMARKS).fetchall()
            times = []
            for attempt in range(NIGHT_REPEATS):
                with conn.cursor() as cur:
                    cur.executemany(RESTORE_WATERMARK, marks)
                seconds, result = _timed(lambda attempt=attempt: suite(f"{run_id}-{attempt}", False))
                assert not result.failed, result.failure_message()
                scanned = next(r.batch for r in result.results if r.batch.table == "app.generations")
                assert scanned.scope["mode"] == "incremental", scanned.scope
                times.append(seconds)
            return min(times)

        small = night(n + 1, "bench-night-1")
        conn.execute(LOAD_GENERATIONS, {"users": USERS, "first": n + new + 1, "last": 2 * n + new,
                                        "canary": hashlib.sha256(canaries[0].encode()).hexdigest()})
        conn.execute("VACUUM ANALYZE app.generations")
        suite("bench-catch-up", False)  # the doubling itself is read once, as a night would
        large = night(2 * n + new + 1, "bench-night-2")
        growth = large / small
        print(f"incremental night, {new:,} new rows: {small:.2f} s on {n + new:,} rows, {large:.2f} s on "
              f"{2 * n + 2 * new:,} rows; growth {growth:.2f} (target <= {TARGET_GROWTH}) "
              f"{'OK' if growth <= TARGET_GROWTH else 'MISSED'}")
    _drop_databases(DB)
    return 0 if ratio <= TARGET_RATIO and growth <= TARGET_GROWTH else 1


if __name__ == "__main__":
    sys.exit(main())
