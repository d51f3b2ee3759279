"""The moderation-log archival at scale: the product's archival against a raw COPY of the same rows.

    python -m benchmarks.bench_archive                   # 5,000,000 moderation events
    python -m benchmarks.bench_archive --events 500000   # a quick check

A fresh database is loaded server-side (generate_series) with 50,000 users and `events`
moderation events, 20 % of them critical, spread evenly over the 150 days before the run's
cutoff, so that 40 % of all events are past 90 days (the critical ones among them are due for
the archive). Events are appended in time order, as a log is written: event ids and the
heap's order follow time (--shuffled scatters them instead, the worst case for every method).
0.5 % of the users are under a legal hold. After VACUUM ANALYZE the database is cloned twice,
so both methods start from identical data and caches:

* copy:    `COPY (SELECT <the archive's columns> ... critical, past 90 days, not held) TO
           STDOUT`, read and discarded (the baseline: what reading the rows costs at least);
           then, for context only, one DELETE of the same rows on the same clone, timed apart;
* archive: governance.archive.archive_rule for moderation_logs_critical, end to end: Parquet
           (zstd) files, upload with a SHA-256 checksum under Object Lock, read back and
           verification, then the deletes; run in a process of its own, whose peak RSS is
           measured. Loading the policy, building the S3 client and loading pyarrow's modules
           (once per process) happen before its clock starts.

Targets: archive throughput >= 0.5 x the COPY; peak RSS of the archiving process < 512 MB;
both must cover the same rows, and afterwards no due row is left in the table.

The machine is shared: compare the ratio of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_purge import _drop_databases, _dsn, _environment  # noqa: E402  (sys.path above)

RULE = "moderation_logs_critical"
CUTOFF = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
USERS = 50_000
HOLD_EVERY = 200
SPAN_DAYS = 150  # events spread evenly over this many days: 40 % of them are past 90 days
CRITICAL_SHARE = 0.2
DB_LOADED, DB_A, DB_B = "bench_archive_load", "bench_archive_a", "bench_archive_b"
TARGET_RATIO = 0.5
TARGET_RSS_MB = 512

LOAD_USERS = """
INSERT INTO app.users (user_id, email, country, created_at)
SELECT i, 'user' || i || '@example.com', 'DE', %(cutoff)s::timestamptz - interval '3 years'
FROM generate_series(1, %(users)s::bigint) AS i
"""
LOAD_HOLDS = """
INSERT INTO governance.legal_holds (user_id, reason, placed_by, placed_at)
SELECT i, 'benchmark hold', 'bench_archive', %(cutoff)s::timestamptz - interval '1 year'
FROM generate_series(%(hold_every)s::bigint, %(users)s::bigint, %(hold_every)s::bigint) AS i
"""
LOAD_EVENTS = """
INSERT INTO app.moderation_events
    (event_id, user_id, generation_id, prompt_hash, category, severity, action, created_at)
SELECT i,
       1 + floor(random() * %(users)s)::bigint,
       CASE WHEN random() < 0.5 THEN i * 7 END,
       md5(i::text) || md5((i + 1)::text),
       (ARRAY['nsfw','violence','hate','self_harm','spam','copyright','csam_suspected'])[1 + floor(random() * 7)::int],
       CASE WHEN random() < %(critical)s THEN 'critical' ELSE 'standard' END,
       (ARRAY['warning','content_deleted','account_suspended','prompt_blocked'])[1 + floor(random() * 4)::int],
       {created_at}
FROM generate_series(1, %(events)s::bigint) AS i
"""
# Appended in time order, as a log is (event ids and heap order follow time, a minute of jitter),
# or, with --shuffled, at random times across the heap.
IN_TIME_ORDER = ("%(cutoff)s::timestamptz - (1 - i::float8 / %(events)s) * (%(span)s * interval '1 day')"
                 " + random() * interval '1 minute'")
SHUFFLED = "%(cutoff)s::timestamptz - random() * (%(span)s * interval '1 day')"
# The baseline reads exactly the rows the archive takes: due, critical, not held.
COPY_DUE = """
COPY (
    SELECT t.event_id, t.user_id, t.user_pseudonym, t.generation_id, t.prompt_hash, t.category, t.severity, t.action,
           t.created_at AT TIME ZONE 'UTC'
    FROM app.moderation_events AS t
    WHERE t.created_at < %(rule_cutoff)s AND t.severity = 'critical'
      AND NOT EXISTS (SELECT 1 FROM governance.legal_holds AS h WHERE h.user_id = t.user_id AND h.released_at IS NULL)
) TO STDOUT WITH (FORMAT csv)
"""
# Context, not a target: deleting the same rows in one statement, after the COPY, on the same clone.
DELETE_DUE = """
DELETE FROM app.moderation_events AS t
WHERE t.created_at < %(rule_cutoff)s AND t.severity = 'critical'
  AND NOT EXISTS (SELECT 1 FROM governance.legal_holds AS h WHERE h.user_id = t.user_id AND h.released_at IS NULL)
"""
DUE_LEFT = """
SELECT count(*) FROM app.moderation_events AS t
WHERE t.created_at < %(rule_cutoff)s AND t.severity = 'critical'
  AND NOT EXISTS (SELECT 1 FROM governance.legal_holds AS h WHERE h.user_id = t.user_id AND h.released_at IS NULL)
"""
# The archiving process: its outcome and its peak RSS, as JSON on its last line.
WORKER = """
import json, os, resource, sys, time
from datetime import datetime
sys.path[:0] = [os.path.join(sys.argv[1], "plugins"), sys.argv[1]]
import psycopg
from governance.archive import ArchiveSettings, archive_rule
from governance.policy import load_retention_policy
from governance.storage import client_from_env
policy, s3 = load_retention_policy(), client_from_env()
# Set-up, not archive work: pyarrow loads its modules (and pandas) on first use, once per process.
import pyarrow as pa, pyarrow.compute as pc, pyarrow.csv, pyarrow.parquet
pc.unique(pa.array([1]))
settings = ArchiveSettings(run_id="bench", run_cutoff=datetime.fromisoformat(sys.argv[3]), dry_run=False,
                           batch_size=policy.model.defaults.batch_size, archive_bucket=sys.argv[4])
started = time.perf_counter()
with psycopg.connect(sys.argv[2], autocommit=True) as conn:
    outcome, objects = archive_rule(conn, s3, policy=policy, rule="moderation_logs_critical", settings=settings)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": outcome.counts["rows_archived"], "objects": len(objects),
                  "bytes": sum(o["row_count"] for o in objects), "peak_rss_mb":
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _rule_cutoff() -> datetime:
    from governance.policy import load_retention_policy

    return load_retention_policy().model.rule(RULE).period.before(CUTOFF)


def load(events: int, shuffled: bool = False) -> dict[str, float]:
    import psycopg

    from governance.db import apply_schemas
    from scripts import stack

    started = time.perf_counter()
    stack.create_database(DB_LOADED)
    params = {"users": USERS, "hold_every": HOLD_EVERY, "events": events, "cutoff": CUTOFF, "span": SPAN_DAYS,
              "critical": CRITICAL_SHARE}
    with psycopg.connect(_dsn(DB_LOADED)) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        apply_schemas(conn)
        conn.execute("SET session_replication_role = replica")
        conn.execute(LOAD_USERS, params)
        conn.execute(LOAD_HOLDS, params)
        conn.execute("SELECT setseed(0.42)")
        conn.execute(LOAD_EVENTS.format(created_at=SHUFFLED if shuffled else IN_TIME_ORDER), params)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
    with psycopg.connect(_dsn(DB_LOADED), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) app.users, app.moderation_events, governance.legal_holds")
    load_s = time.perf_counter() - started
    for clone in (DB_A, DB_B):
        stack.create_database(clone, template=DB_LOADED, file_copy=True)
    _drop_databases(DB_LOADED)
    return {"load_s": load_s}


def _prepare(database: str) -> None:
    import psycopg

    with psycopg.connect(_dsn(database), autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM app.moderation_events").fetchone()
        conn.execute("CHECKPOINT")


def raw_copy(database: str, rule_cutoff: datetime) -> dict[str, Any]:
    import psycopg

    _prepare(database)
    rows = size = 0
    started = time.perf_counter()
    with psycopg.connect(_dsn(database)) as conn, conn.cursor().copy(COPY_DUE, {"rule_cutoff": rule_cutoff}) as copy:
        for data in copy:
            size += len(data)
            rows += bytes(data).count(b"\n")
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    with psycopg.connect(_dsn(database)) as conn:
        deleted = conn.execute(DELETE_DUE, {"rule_cutoff": rule_cutoff}).rowcount
        conn.commit()
    delete_s = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds), "csv_mb": size >> 20,
            "delete_rows": deleted, "delete_s": round(delete_s, 3)}


def archive(database: str, bucket: str, rule_cutoff: datetime) -> dict[str, Any]:
    import psycopg

    from scripts import stack

    _prepare(database)
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(ROOT), _dsn(database, stack.WORKFLOW_ROLE), CUTOFF.isoformat(), bucket],
        capture_output=True, text=True, check=True, env=dict(os.environ))
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    with psycopg.connect(_dsn(database)) as conn:
        measured["due_left"] = conn.execute(DUE_LEFT, {"rule_cutoff": rule_cutoff}).fetchone()[0]
    measured["rows_per_s"] = round(measured["rows"] / measured["seconds"])
    return measured


def run(events: int = 5_000_000, shuffled: bool = False) -> dict[str, Any]:
    from governance.storage import client_from_env

    _environment()
    rule_cutoff = _rule_cutoff()
    s3 = client_from_env()
    bucket = f"bench-archive-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    _drop_databases(DB_B, DB_A, DB_LOADED)
    try:
        timings = load(events, shuffled)
        baseline = raw_copy(DB_A, rule_cutoff)
        _drop_databases(DB_A)
        product = archive(DB_B, bucket, rule_cutoff)
    finally:
        _drop_databases(DB_B, DB_A, DB_LOADED)
    ratio = product["rows_per_s"] / baseline["rows_per_s"] if baseline["rows_per_s"] else 0.0
    checks = {
        f"throughput ratio >= {TARGET_RATIO}": ratio >= TARGET_RATIO,
        f"peak RSS < {TARGET_RSS_MB} MB": product["peak_rss_mb"] < TARGET_RSS_MB,
        "both covered the same rows": product["rows"] == baseline["rows"],
        "no due row left in the table": product["due_left"] == 0,
    }
    return {"events": events, "shuffled": shuffled, "critical_share": CRITICAL_SHARE, "span_days": SPAN_DAYS,
            "users": USERS,
            "rule_cutoff": rule_cutoff.isoformat(), **{k: round(v, 2) for k, v in timings.items()},
            "copy": baseline, "archive": product, "throughput_ratio": round(ratio, 3), "checks": checks,
            "passed": all(checks.values())}


def report(result: dict[str, Any]) -> str:
    copy, product = result["copy"], result["archive"]
    lines = [
        f"archive benchmark: {result['events']:,} moderation events over {result['span_days']} days, "
        f"{result['critical_share']:.0%} critical, {'shuffled' if result['shuffled'] else 'in time order'}, "
        f"due before {result['rule_cutoff']}; load {result['load_s']:.1f} s",
        "",
        f"{'':28s}{'raw COPY':>16s}{'archival':>16s}",
        f"{'rows':28s}{copy['rows']:>16,}{product['rows']:>16,}",
        f"{'seconds':28s}{copy['seconds']:>16.2f}{product['seconds']:>16.2f}",
        f"{'rows/s':28s}{copy['rows_per_s']:>16,}{product['rows_per_s']:>16,}",
        f"{'objects':28s}{'-':>16s}{product['objects']:>16,}",
        f"{'peak RSS MB':28s}{'-':>16s}{product['peak_rss_mb']:>16,.0f}",
        "",
        f"throughput ratio archival/COPY: {result['throughput_ratio']:.3f}",
        f"  for context: one DELETE of the same rows took {copy['delete_s']:.2f} s; COPY + DELETE "
        f"{copy['seconds'] + copy['delete_s']:.2f} s, ratio archival/(COPY + DELETE) "
        f"{(copy['seconds'] + copy['delete_s']) / product['seconds']:.3f}",
    ]
    lines += [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in result["checks"].items()]
    lines.append(f"overall: {'PASS' if result['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--shuffled", action="store_true", help="events at random times across the heap")
    args = parser.parse_args(argv)
    result = run(events=args.events, shuffled=args.shuffled)
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
