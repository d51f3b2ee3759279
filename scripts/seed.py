"""Seed the reference database (schema app) with deterministic, realistic data.

    python scripts/seed.py --scale 2000                          # 2,000 users and their rows, media objects
    python scripts/seed.py --scale 200 --inject raw_ips,overdue  # plant known violations, list them in JSON
    python scripts/seed.py --scale 0                             # empty reference schema
    python scripts/seed.py --scale 2000 --partitioned            # the same rows; sessions, usage_events and
                                                                 # moderation_events partitioned by month
    python scripts/seed.py --write-canaries                      # regenerate include/canaries/prompts.txt
    python scripts/seed.py --restore-media                       # put back the media objects the rows name and the
                                                                 # bucket lost (the local S3 server lost its data)

--partitioned makes app.sessions, app.usage_events and app.moderation_events range-partitioned
by month on created_at (include/sql/schema/app_partitioned.sql): a partition per month from the
oldest row's to the month after --as-of, named like sessions_2026_11, a DEFAULT partition
(sessions_default), and a primary key of (id, created_at). Without it those tables are plain,
as app.sql makes them (made again if an earlier seed partitioned them). The rows are the same.

Every run first TRUNCATEs the nine app tables and governance.legal_holds (never the audit
ledger), so a rerun replaces the data. The same --seed, --scale and --as-of give byte-identical
table contents: every draw comes from numpy Generator(PCG64) streams named per table.

The data, per user on average: ~10 generations, ~2 uploads, ~5 sessions, ~20 usage events,
3 cookie consents, ~0.6 moderation events, ~1 payment; disclosures for ~0.3 % of users. About
8 % of accounts and 5 % of generations and uploads are deleted. Timestamps spread over the
8 years before --as-of, and some rows sit exactly on, or 1 s / 1 h / 1 day either side of,
every retention cutoff (account deletion + 30 days, moderation 90 days and critical 7 years,
sessions and usage 13 months, payments 5/6/7 years by billing country, deletion by the user).

Without --inject the data breaks no promise that a check can see: prompts and IPs are only
SHA-256 hex, recipients are only codes of the register (include/policy/transfers.yaml), and a
generation flagged `content_deleted` has media_deleted_at set and no object in the bucket.
Rows past their retention period do exist, as in any database that ages: the purge has work.

--inject plants INJECT_COUNT (5) violations per kind, with ids from 9,000,000,000 up, on users
of their own, so the base rows are the same with or without injections. Their keys go to the
summary and to --injections-out (JSON):

    {"seed": 42, "scale": 200, "as_of": "...", "injections": {NAME: {
        "description": "...",
        "violations": {table: [keys]},   # the rows that break the promise
        "rules": {rule: [keys]},         # overdue, prohibited_media: what each retention rule must remove
        "planted": {table: [keys]},      # every row the injection inserted (violations, hosts, children)
        "media_keys": [...]}}}           # objects it put (none with --no-media)

cookie_consents keys are [user_id, category] pairs. Raw values never appear in the manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: sys.path[0] is scripts/, not the repository
    sys.path.insert(0, str(ROOT))

from scripts.seeding import (  # noqa: E402  (needs the repository on sys.path)
    CANARY_COUNT,
    CANARY_FILE,
    INJECT_COUNT,
    INJECTIONS,
    default_as_of,
    parse_injections,
    put_media,
    seed,
    write_canary_file,
)

DEFAULT_INJECTIONS_OUT = ROOT / ".local" / "injections.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=None, help="number of users; 0 leaves the schema empty")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default=None, help="the reference now, ISO 8601 (default: today 00:00 UTC)")
    parser.add_argument("--database-url", default=os.environ.get("APP_DB_URL"))
    parser.add_argument("--media-bucket", default=os.environ.get("MEDIA_BUCKET"))
    parser.add_argument("--no-media", action="store_true", help="do not touch the media bucket")
    parser.add_argument("--partitioned", action="store_true",
                        help="sessions, usage_events and moderation_events range-partitioned by month")
    parser.add_argument("--inject", default="", help=f"comma-separated: {','.join(INJECTIONS)}")
    parser.add_argument("--injections-out", type=Path, default=DEFAULT_INJECTIONS_OUT)
    parser.add_argument("--write-canaries", action="store_true", help=f"write {CANARY_FILE.name} and exit")
    parser.add_argument("--restore-media", action="store_true",
                        help="touch no row: put the objects the existing rows still need that the media bucket lacks")
    return parser


def _checked(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, ...]:
    if args.scale is None or args.scale < 0:
        parser.error("--scale N (N >= 0) is required")
    if not args.database_url:
        parser.error("--database-url or APP_DB_URL is required")
    if not args.no_media and not args.media_bucket:
        parser.error("--media-bucket or MEDIA_BUCKET is required (or --no-media)")
    try:
        return parse_injections(args.inject)
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits; this keeps type checkers content


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.write_canaries:
        print(f"wrote {CANARY_COUNT} canary prompts to {write_canary_file()}")
        return 0
    if args.restore_media:
        return restore_media(parser, args)
    names = _checked(parser, args)
    import psycopg

    from governance import storage  # importable once scripts.seeding is (it puts plugins/ on sys.path)

    s3 = None if args.no_media else storage.client_from_env()
    with psycopg.connect(args.database_url) as conn:
        summary = seed(conn, s3, scale=args.scale, seed=args.seed, as_of=args.as_of or default_as_of(),
                       media_bucket=args.media_bucket, put_media=not args.no_media, inject=names,
                       partitioned=args.partitioned)
    args.injections_out.parent.mkdir(parents=True, exist_ok=True)
    args.injections_out.write_text(json.dumps(summary.manifest(), indent=2) + "\n")
    print(summary.line())
    if names:
        print(f"injections: {', '.join(names)} ({INJECT_COUNT} violations each); keys in {args.injections_out}")
    return 0


def restore_media(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Recreate the media objects of the rows as they are (no reseed), with the seed's own bodies."""
    if not args.database_url or not args.media_bucket:
        parser.error("--restore-media needs --database-url (or APP_DB_URL) and --media-bucket (or MEDIA_BUCKET)")
    import psycopg

    from governance import storage
    from scripts.s3_reconcile import missing_media_keys

    s3 = storage.client_from_env()
    with psycopg.connect(args.database_url) as conn:
        keys = missing_media_keys(conn, s3, args.media_bucket)
    put = put_media(s3, args.media_bucket, keys)
    print(f"restored {put:,} media objects in {args.media_bucket}" if put else
          f"nothing to restore: {args.media_bucket} has every object the rows need")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
