"""A data-subject export at scale: one person with 100,000 generations, among a million rows of others.

    python -m benchmarks.bench_dsr_export                        # 100,000 generations
    python -m benchmarks.bench_dsr_export --generations 10000    # a quick check

A fresh database is loaded server-side (generate_series) with 20,000 users, each with a few rows
in every table of the data map, and one person with `generations` generations and as many usage
events and sessions. Then, in the same run:

* copy:   `COPY (SELECT * FROM <table> WHERE user_id = <person>) TO STDOUT` for every table of the
          data map, read and discarded (the baseline: what reading the person's rows costs);
* export: governance.dsr_export end to end, in a process of its own whose peak RSS is measured:
          one REPEATABLE READ snapshot, every category to JSON and CSV, a presigned link per
          media object, README, SHA256SUMS, the zip, the upload with a SHA-256 checksum and its
          read-back. Run twice: for the big person, and for a person with 1,000 generations.

Targets: the peak RSS of the big export stays within 64 MB of the small one's (memory does not
grow with the person's rows); the export covers exactly the rows the COPY read. The rows/s
ratio is reported, with no target: the export writes each row twice (JSON and CSV), signs a
link per object and compresses, where the COPY only reads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "plugins", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_purge import _drop_databases, _dsn, _environment  # noqa: E402  (sys.path above)

DATABASE = "bench_dsr_export"
OTHERS = 20_000
BIG, SMALL = 1, 2  # the people exported
SMALL_GENERATIONS = 1_000
TARGET_RSS_GROWTH_MB = 64

LOAD = [
    """INSERT INTO app.users (user_id, email, display_name, country, created_at)
       SELECT i, 'user' || i || '@example.com', 'User ' || i, 'DE', now() - interval '2 years'
       FROM generate_series(1, %(users)s::bigint) AS i""",
    # Everyone else: a few rows in each table.
    """INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, media_key, created_at)
       SELECT i, 3 + i %% (%(users)s - 2), 'image', md5(i::text) || md5((i + 1)::text), 'openai',
              'generations/' || i || '.png', now() - (i %% 300) * interval '1 day'
       FROM generate_series(1, %(others_rows)s::bigint) AS i""",
    """INSERT INTO app.usage_events (event_id, user_id, event_type, created_at)
       SELECT i, 3 + i %% (%(users)s - 2), 'login', now() - (i %% 300) * interval '1 day'
       FROM generate_series(1, %(others_rows)s::bigint) AS i""",
    """INSERT INTO app.sessions (session_id, user_id, ip_hash, user_agent, created_at)
       SELECT i, 3 + i %% (%(users)s - 2), md5(i::text) || md5((i + 2)::text), 'Mozilla/5.0',
              now() - (i %% 300) * interval '1 day'
       FROM generate_series(1, %(others_rows)s::bigint) AS i""",
    # The two people exported.
    """INSERT INTO app.generations (generation_id, user_id, kind, prompt_hash, model_provider, media_key, created_at)
       SELECT 100000000 + i, CASE WHEN i <= %(big)s THEN 1 ELSE 2 END, 'video', md5(i::text) || md5(i::text),
              'openai', 'generations/p/' || i || '.mp4', now() - (i %% 300) * interval '1 day'
       FROM generate_series(1, %(big)s + %(small)s) AS i""",
    """INSERT INTO app.usage_events (event_id, user_id, event_type, created_at)
       SELECT 100000000 + i, CASE WHEN i <= %(big)s THEN 1 ELSE 2 END, 'generate', now() - (i %% 300) * interval '1 day'
       FROM generate_series(1, %(big)s + %(small)s) AS i""",
    """INSERT INTO app.sessions (session_id, user_id, ip_hash, user_agent, created_at)
       SELECT 100000000 + i, CASE WHEN i <= %(big)s THEN 1 ELSE 2 END, md5(i::text) || md5(i::text), 'Mozilla/5.0',
              now() - (i %% 300) * interval '1 day'
       FROM generate_series(1, %(big)s + %(small)s) AS i""",
    """INSERT INTO app.payments (payment_id, user_id, processor, amount_minor, currency, billing_country, created_at)
       SELECT i, 1 + i %% 2, 'stripe', 990, 'EUR', 'DE', now() - i * interval '1 day'
       FROM generate_series(1, 24) AS i""",
]

# The export, in its own process: the bundle's counts, size and the process's peak RSS on its last line.
WORKER = """
import json, os, resource, sys, tempfile, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
sys.path[:0] = [os.path.join(sys.argv[1], "plugins"), sys.argv[1]]
import psycopg
from botocore.config import Config
from governance.data_map import load_data_map
from governance.dsr import Subject
from governance.dsr_export import ExportSettings, upload_bundle, write_bundle
from governance.policy import load_retention_policy
from governance.pseudonyms import pseudonym
from governance.storage import client_from_env
from tests.conftest import arrow_filesystem
retention = load_retention_policy()
data_map = load_data_map(retention=retention)
s3, presigner = client_from_env(), client_from_env(config=Config(signature_version="s3v4"))
filesystem = arrow_filesystem(dict(os.environ))
person = int(sys.argv[3])
now = datetime.now(UTC)
settings = ExportSettings(request_id="bench", generated_at=now, media_bucket=os.environ["MEDIA_BUCKET"],
                          archive_bucket=os.environ["ARCHIVE_BUCKET"], link_expires_after=timedelta(days=7),
                          bundle_expires_at=now + timedelta(days=30))
started = time.perf_counter()
with psycopg.connect(sys.argv[2], autocommit=True) as conn, tempfile.TemporaryDirectory() as work:
    bundle = write_bundle(conn, presigner, filesystem, data_map=data_map.model, retention=retention.model,
                          subject=Subject(person, pseudonym(b"k" * 32, "users", person)), settings=settings,
                          work_dir=Path(work))
    upload_bundle(s3, bundle, bucket=sys.argv[4], key=f"bench/{person}.zip", expires_at=settings.bundle_expires_at)
seconds = time.perf_counter() - started
rows = sum(count for category, count in bundle.counts.items() if category != data_map.model.media.category)
print(json.dumps({"seconds": seconds, "rows": rows, "zip_mb": bundle.size_bytes / 2**20,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def load(generations: int) -> float:
    import psycopg

    from governance.db import apply_schemas
    from scripts import stack

    started = time.perf_counter()
    stack.create_database(DATABASE)
    params = {"users": OTHERS + 2, "others_rows": OTHERS * 15, "big": generations, "small": SMALL_GENERATIONS}
    with psycopg.connect(_dsn(DATABASE)) as conn:
        apply_schemas(conn)
        conn.execute("SET session_replication_role = replica")
        for statement in LOAD:
            conn.execute(statement, params)
        conn.execute("SET session_replication_role = DEFAULT")
        conn.commit()
    with psycopg.connect(_dsn(DATABASE), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def raw_copy(person: int) -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    from governance.data_map import load_data_map

    rows = 0
    started = time.perf_counter()
    with psycopg.connect(_dsn(DATABASE)) as conn:
        for entry in load_data_map().model.categories:
            query = sql.SQL("COPY (SELECT * FROM {} WHERE {} = {}) TO STDOUT").format(
                sql.Identifier("app", entry.table), sql.Identifier(entry.subject_column), sql.Literal(person))
            with conn.cursor().copy(query) as copy:
                for data in copy:
                    rows += bytes(data).count(b"\n")
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}


def export(person: int, bucket: str) -> dict[str, Any]:
    from scripts import stack

    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(ROOT), _dsn(DATABASE, stack.WORKFLOW_ROLE), str(person), bucket],
        capture_output=True, text=True, check=True, env=dict(os.environ), cwd=ROOT)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["rows_per_s"] = round(measured["rows"] / measured["seconds"])
    return measured


def run(generations: int) -> dict[str, Any]:
    from governance.storage import client_from_env

    _environment()
    _drop_databases(DATABASE)
    s3 = client_from_env()
    bucket = f"bench-exports-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    try:
        load_s = load(generations)
        copy = raw_copy(BIG)
        small = export(SMALL, bucket)
        big = export(BIG, bucket)
    finally:
        _drop_databases(DATABASE)
        for key in [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]:
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
    growth = big["peak_rss_mb"] - small["peak_rss_mb"]
    return {"generations": generations, "load_s": round(load_s, 1), "copy": copy, "export": big, "small": small,
            "ratio": round(big["rows_per_s"] / copy["rows_per_s"], 3), "rss_growth_mb": round(growth, 1),
            "same_rows": big["rows"] == copy["rows"],
            "passed": growth < TARGET_RSS_GROWTH_MB and big["rows"] == copy["rows"]}


def report(result: dict[str, Any]) -> str:
    copy, big, small = result["copy"], result["export"], result["small"]
    return "\n".join([
        f"person with {result['generations']:,} generations (and as many sessions and usage events); "
        f"loaded in {result['load_s']} s",
        f"  COPY of the person's rows:  {copy['rows']:,} rows in {copy['seconds']} s ({copy['rows_per_s']:,} rows/s)",
        f"  export, end to end:         {big['rows']:,} rows in {big['seconds']:.2f} s ({big['rows_per_s']:,} rows/s),"
        f" zip {big['zip_mb']:.1f} MB",
        f"  ratio export/COPY:          {result['ratio']}",
        f"  peak RSS:                   {big['peak_rss_mb']:.0f} MB; for {SMALL_GENERATIONS:,} generations "
        f"{small['peak_rss_mb']:.0f} MB; growth {result['rss_growth_mb']} MB (target < {TARGET_RSS_GROWTH_MB} MB)",
        f"  same rows as the COPY:      {'yes' if result['same_rows'] else 'NO'}",
        f"  {'PASS' if result['passed'] else 'FAIL'}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.generations)
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
