"""What the database names in S3 that S3 no longer has: the media objects its rows still need, and the
indexed reports. `stack.py up` reports both and marks gone reports in the index; `seed.py --restore-media`
puts the missing media back.

Each bucket is listed once, into a session-local table, and compared with the rows in SQL: no object is
asked for one by one. Which rows need an object comes from the retention policy, as the data-quality
check of orphaned media reads it (quality_batches.media_tables): a row with a media key whose media was
not deleted.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql

try:
    from governance.db import sql_text
except ModuleNotFoundError:  # plugins/ is not on sys.path yet
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
    from governance.db import sql_text

from governance.quality_batches import LISTING_PAGE, media_tables
from governance.storage import chunks, list_keys


def _per_media_table(fragment: str) -> sql.Composable:
    """FRAGMENT (include/sql/stack/) once per table of the policy that holds media, joined by UNION ALL."""
    from governance.policy import load_retention_policy

    parts = []
    for (table, media_column), marker in media_tables(load_retention_policy().model).items():
        needed = sql.SQL("t.{} IS NULL").format(sql.Identifier(marker)) if marker else sql.SQL("TRUE")
        parts.append(sql.SQL(sql_text(fragment)).format(table=sql.Identifier("app", table),
                                                        media_column=sql.Identifier(media_column),
                                                        still_needed=needed))
    return sql.SQL(" UNION ALL ").join(parts)


def _list_media(conn: Any, s3: Any, bucket: str) -> None:
    conn.execute(sql_text("quality/media_listing.sql"))
    with conn.cursor() as cur:
        for page in chunks(list_keys(s3, bucket), LISTING_PAGE):
            with cur.copy(sql_text("quality/copy_media_objects.sql")) as copy:
                for key in page:
                    copy.write_row((key,))


def missing_media_keys(conn: Any, s3: Any, bucket: str) -> list[str]:
    """The keys the rows still need that the media bucket lacks, sorted."""
    _list_media(conn, s3, bucket)
    query = sql.SQL("SELECT object_key FROM ({}) AS missing ORDER BY object_key").format(
        _per_media_table("stack/media_missing.sql"))
    return [key for (key,) in conn.execute(query)]


def count_missing_media(conn: Any, s3: Any, bucket: str) -> tuple[int, int]:
    """(objects the rows still need that the media bucket lacks, objects the rows still need)."""
    _list_media(conn, s3, bucket)
    missing = sql.SQL("SELECT count(*) FROM ({}) AS missing").format(_per_media_table("stack/media_missing.sql"))
    needed = sql.SQL("SELECT coalesce(sum(needed), 0) FROM ({}) AS needed").format(
        _per_media_table("stack/media_needed.sql"))
    return conn.execute(missing).fetchone()[0], int(conn.execute(needed).fetchone()[0])


@dataclass(frozen=True)
class ReportCheck:
    gone: int  # indexed reports whose object is gone (missing_since set)
    indexed: int
    newly: int  # of those, found gone by this check
    back: int  # reports found gone before whose object is there again


def _object_versions(s3: Any, bucket: str) -> list[tuple[str, str, str]]:
    """(bucket, key, version id) of every object version ("null" where the bucket is not versioned);
    none for a bucket that does not exist."""
    from botocore.exceptions import ClientError

    found = []
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            found += [(bucket, item["Key"], item["VersionId"]) for item in page.get("Versions", [])]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
    return found


def mark_missing_reports(conn: Any, s3: Any) -> ReportCheck:
    """Set governance.report_index.missing_since on each report whose object is gone, clear it on each that is
    back, and commit. Needs a role that may UPDATE the index: the stack's owner connection."""
    with conn.transaction():
        conn.execute(sql_text("stack/report_listing.sql"))
        buckets = [bucket for (bucket,) in conn.execute(sql_text("stack/report_buckets.sql"))]
        with conn.cursor() as cur:
            for bucket in buckets:
                for page in chunks(_object_versions(s3, bucket), LISTING_PAGE):
                    with cur.copy(sql_text("stack/copy_report_objects.sql")) as copy:
                        for row in page:
                            copy.write_row(row)
        changed = [gone for (gone,) in conn.execute(sql_text("stack/mark_missing_reports.sql"), {"buckets": buckets})]
        gone, indexed = conn.execute(sql_text("stack/report_counts.sql")).fetchone()
    return ReportCheck(gone=gone, indexed=indexed, newly=sum(changed), back=len(changed) - sum(changed))
