"""The seeder at scale: how fast `make seed` bulk-loads the reference database (COPY, no media).

    python -m benchmarks.bench_seed                   # 100,000 users: ~1,000,000 generations
    python -m benchmarks.bench_seed --scale 10000     # a quick check

A fresh database (schemas applied) is created on the local server, seeded with `scale` users
and --no-media, and dropped at the end, also on error. Target: 1M generations (scale 100,000,
about 4.2M rows in all tables) loaded in under 60 s. The machine is shared: read the figure of
one run, not differences between runs. As a baseline measured in the same run, the server
fills a copy of app.generations (same columns and indexes) with as many rows from
`generate_series` in one INSERT ... SELECT, which is as fast as the server itself can load
them; the benchmark prints the seeder's generations rate as a ratio of that.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

DATABASE = "bench_seed"
AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
TARGET_SECONDS = 60.0
TARGET_SCALE = 100_000


BASELINE_SQL = """
INSERT INTO baseline_generations
    (generation_id, user_id, kind, prompt_hash, model_provider, media_key, status, created_at)
SELECT g, g %% 100000 + 1, 'image', md5(g::text) || md5((-g)::text), 'openai',
       'generations/' || g || '.png', 'completed', %(as_of)s::timestamptz - g * interval '1 second'
FROM generate_series(1, %(rows)s) AS g
"""


def server_side_baseline(conn, rows: int) -> float:
    """Seconds the server takes to fill a copy of app.generations (indexes, no FK) with `rows` rows itself."""
    import time

    conn.execute("CREATE TABLE baseline_generations (LIKE app.generations INCLUDING DEFAULTS INCLUDING INDEXES)")
    conn.commit()
    started = time.perf_counter()
    conn.execute(BASELINE_SQL, {"rows": rows, "as_of": AS_OF})
    conn.commit()
    return time.perf_counter() - started


def run(scale: int = TARGET_SCALE) -> dict:
    """Seed `scale` users into a fresh database; rows/s and seconds for generations and for the whole load."""
    import psycopg

    from governance.db import apply_schemas
    from scripts import seeding, stack

    url = stack.create_database(DATABASE, replace=True)
    try:
        with psycopg.connect(url) as conn:
            apply_schemas(conn)
            summary = seeding.seed(conn, None, scale=scale, as_of=AS_OF, media_bucket=None, put_media=False)
            baseline_seconds = server_side_baseline(conn, summary.counts["generations"])
    finally:
        stack.drop_database(DATABASE)
    seconds, counts = summary.seconds, summary.counts
    rows = sum(counts.values())
    result = {
        "scale": scale,
        "generations": counts["generations"],
        "generations_copy_seconds": round(seconds["generations"], 2),
        "generations_rows_per_s": round(counts["generations"] / seconds["generations"]),
        "rows": rows,
        "seconds": round(seconds["total"], 2),
        "rows_per_s": round(rows / seconds["total"]),
        "build_seconds": round(seconds["build"], 2),
        "copy_seconds": {name: round(seconds[name], 2) for name in counts},
        "baseline_rows_per_s": round(counts["generations"] / baseline_seconds),
    }
    result["ratio_to_baseline"] = round(result["generations_rows_per_s"] / result["baseline_rows_per_s"], 3)
    if scale == TARGET_SCALE:
        result["passed"] = seconds["total"] < TARGET_SECONDS
    return result


def report(result: dict) -> str:
    lines = [
        f"seed benchmark: scale {result['scale']:,} users, {result['rows']:,} rows "
        f"({result['generations']:,} generations), no media",
        f"  whole seed (generate, COPY every table, commit): {result['seconds']:.1f} s, "
        f"{result['rows_per_s']:,} rows/s",
        f"  generations COPY: {result['generations_copy_seconds']:.1f} s, {result['generations_rows_per_s']:,} rows/s",
        f"  baseline, server-side INSERT ... SELECT generate_series: {result['baseline_rows_per_s']:,} rows/s",
        f"  ratio seeder/baseline (generations): {result['ratio_to_baseline']:.2f}",
        f"  generating the data in numpy: {result['build_seconds']:.1f} s",
    ]
    if "passed" in result:
        lines.append(f"  {'PASS' if result['passed'] else 'FAIL'}  1M generations seeded in < {TARGET_SECONDS:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=TARGET_SCALE)
    parser.add_argument("--json", action="store_true", help="print the result as JSON after the summary")
    args = parser.parse_args(argv)
    result = run(args.scale)
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result.get("passed", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
