"""A month of transfer capture and the monthly report, against the hand-written GROUP BY they replace.

    python -m benchmarks.bench_transfers                         # 10,000,000 generations in one month
    python -m benchmarks.bench_transfers --generations 1000000   # a quick check

A fresh database is loaded server-side (generate_series) with 100,000 users and `generations`
generations spread evenly over November 2026, sent to five AI providers of the register (one
of them with two destination countries), and VACUUM ANALYZE'd. Then, in the same run, on the
same warm data:

* hand-written: per day and provider, `count(*)` and `count(DISTINCT user_id)`, and the same for
  the month (what a report without a capture would run, before any purge), the baseline;
* product:      30 nightly captures, one per day as retention_purge runs them (records and
                subject sketches per day), then the month's inventory built from them
                (volumes, subjects, coverage, findings), end to end.

Target: product <= 1.5 x the hand-written queries. It also prints the capture's storage, and
the subject estimates' largest error against the exact counts.

The machine is shared: compare the ratios of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_purge import _drop_databases, _environment  # noqa: E402  (sys.path above)
from benchmarks.bench_quality import _timed  # noqa: E402

DB = "bench_transfers"
USERS = 100_000
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 30
TARGET_RATIO = 1.5
PROVIDERS = ("openai", "stability_ai", "runway", "google_vertex", "kling_ai")

LOAD_USERS = """
INSERT INTO app.users (user_id, email, country, created_at)
SELECT g, 'u' || g || '@example.com', 'DE', timestamptz '2020-01-01' FROM generate_series(1, %(users)s) AS g
"""
# Each user's generations go to one or two providers; the month is covered evenly, to the second.
LOAD_GENERATIONS = """
INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, status, created_at)
SELECT g, 1 + (g * 7919) %% %(users)s, 'image', encode(sha256(int8send(g)), 'hex'),
       (%(providers)s::text[])[1 + ((g * 7919) %% %(users)s + g %% 2) %% 5], 'completed',
       %(start)s::timestamptz + (g - 1) * (%(seconds)s::float8 / %(n)s) * interval '1 second'
FROM generate_series(1::bigint, %(n)s) AS g
"""
HAND_DAILY = """
SELECT (created_at AT TIME ZONE 'UTC')::date, model_provider, count(*), count(DISTINCT user_id)
FROM app.generations WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1, 2
"""
HAND_MONTH = """
SELECT model_provider, count(*), count(DISTINCT user_id)
FROM app.generations WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    _environment()
    import psycopg

    from governance.db import apply_schemas
    from governance.dsr import load_subject_rights_policy
    from governance.register import load_jurisdictions, load_transfer_register
    from governance.transfer_report import RussianCalendar, build_document
    from governance.transfers import Period, capture, sketch_seed
    from scripts import stack

    _drop_databases(DB)
    url = stack.create_database(DB, replace=True)
    n = args.generations
    end = MONTH_START + timedelta(days=DAYS)
    window = {"start": MONTH_START, "end": end}
    register, lists = load_transfer_register(), load_jurisdictions()
    fz152 = load_subject_rights_policy().model.jurisdictions["fz152"]
    calendar = RussianCalendar(frozenset(fz152.holidays), fz152.zone)
    seed = sketch_seed(b"bench-key-" * 4)
    with psycopg.connect(url, autocommit=True) as conn:
        apply_schemas(conn)
        started = time.perf_counter()
        conn.execute(LOAD_USERS, {"users": USERS})
        conn.execute(LOAD_GENERATIONS, {"users": USERS, "n": n, "providers": list(PROVIDERS), "start": MONTH_START,
                                        "seconds": DAYS * 86400})
        conn.execute("VACUUM ANALYZE app.generations")
        print(f"loaded {n:,} generations over {DAYS} days in {time.perf_counter() - started:.1f} s", flush=True)

        def hand() -> dict:
            conn.execute(HAND_DAILY, window).fetchall()
            return {code: (records, subjects) for code, records, subjects in conn.execute(HAND_MONTH, window)}

        def product() -> dict:
            # The capture starts where the previous night ended: seed its first window at the month's start.
            conn.execute("TRUNCATE governance.transfer_daily, governance.transfer_windows")
            conn.execute("INSERT INTO governance.transfer_windows (captured_from, captured_to, method, run_id,"
                         " register_sha256, records) VALUES (%s, %s, 'captured', 'bench-start', %s, 0)",
                         (MONTH_START - timedelta(days=1), MONTH_START, register.sha256))
            for day in range(1, DAYS + 1):
                capture(conn, register.model, register_sha256=register.sha256, until=MONTH_START + timedelta(days=day),
                        run_id=f"bench-night-{day}", seed=seed)
            return build_document(conn, register=register.model, register_sha256=register.sha256,
                                  jurisdictions=lists.model, jurisdictions_sha256=lists.sha256, calendar=calendar,
                                  period=Period(date(2026, 11, 1), date(2026, 12, 1)))

        hand()  # warm the cache for both
        hand_seconds, exact = _timed(hand)
        product_seconds, document = _timed(product)
        hand_again, _ = _timed(hand)
        baseline = min(hand_seconds, hand_again)
        ratio = product_seconds / baseline
        found = {r["code"]: (r["volume"]["records"], r["volume"]["subjects"]) for r in document["recipients"]
                 if r["volume"]["records"]}
        assert {code: records for code, (records, _) in found.items()} == {c: r for c, (r, _) in exact.items()}
        worst = max(abs(found[code][1] - subjects) / subjects for code, (_, subjects) in exact.items())
        storage = conn.execute("SELECT pg_total_relation_size('governance.transfer_daily')").fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM governance.transfer_daily").fetchone()[0]
        print(f"hand-written GROUP BY (per day and for the month): {baseline:.2f} s (runs {hand_seconds:.2f}, "
              f"{hand_again:.2f} s)")
        print(f"30 nightly captures + the month's inventory: {product_seconds:.2f} s; ratio {ratio:.2f} "
              f"(target <= {TARGET_RATIO}) {'OK' if ratio <= TARGET_RATIO else 'MISSED'}")
        print(f"records exact for every recipient; subjects within {100 * worst:.2f} % of count(DISTINCT); "
              f"capture storage {storage / 1e6:.1f} MB in {rows:,} rows for the month")
    _drop_databases(DB)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
