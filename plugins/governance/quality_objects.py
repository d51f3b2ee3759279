"""Facts about the archive objects, gathered from S3 for the archive_integrity suite to judge.

GX validates tables, not buckets: this module looks at every object the manifests list and
writes what it found, one row per manifest, into the session-local table dq_archive_objects,
which the suite's batch view reads. It never trusts a checksum that S3 reports (the local S3
server does not verify the ones clients send): it recomputes SHA-256 from the bytes, on full
runs for every object and on incremental nights for the objects new since the last run. The
newest event in an object, which decides how long it must stay locked, is read from the
Parquet file's own column statistics.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from governance.db import sql_text

if TYPE_CHECKING:
    import psycopg

    from governance.policy import RetentionPolicy

READ_CHUNK = 8 * 1024 * 1024
SPOOL_IN_MEMORY = 16 * 1024 * 1024  # larger objects go to a temporary file while they are read
MISSING_CODES = {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}


def _newest_event(spooled: Any, clock: str) -> datetime | None:
    """The largest value of the clock column, from the Parquet footer's statistics."""
    import pyarrow.parquet as pq

    spooled.seek(0)
    metadata = pq.ParquetFile(spooled).metadata
    index = metadata.schema.names.index(clock)
    newest = None
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(index).statistics
        if statistics is not None and statistics.has_min_max:
            newest = statistics.max if newest is None else max(newest, statistics.max)
    if isinstance(newest, datetime) and newest.tzinfo is None:  # Parquet timestamps are UTC
        newest = newest.replace(tzinfo=UTC)
    return newest if isinstance(newest, datetime) else None


def _read(s3: Any, where: dict[str, str], clock: str) -> tuple[str, datetime | None]:
    """The SHA-256 of the object's bytes, streamed, and the newest event in it."""
    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spooled:
        body = s3.get_object(**where)["Body"]
        for chunk in iter(lambda: body.read(READ_CHUNK), b""):
            digest.update(chunk)
            spooled.write(chunk)
        try:
            newest = _newest_event(spooled, clock)
        except Exception:  # not Parquet (or not ours): the checksum already tells
            newest = None
    return digest.hexdigest(), newest


def check_archive_objects(conn: psycopg.Connection, s3: Any, policy: RetentionPolicy, *,
                          read_bytes_after: int | None, read_all_bytes: bool) -> tuple[int | None, dict[str, int]]:
    """Fill dq_archive_objects; return the highest manifest id and how many objects were looked at and read."""
    from botocore.exceptions import ClientError

    conn.execute(sql_text("quality/archive_checks.sql"))
    high, looked, read = None, 0, 0
    manifests = conn.execute(sql_text("quality/archived_manifests.sql")).fetchall()
    for manifest_id, bucket, key, version_id, sha256, recorded_until, rule_name in manifests:
        high = manifest_id if high is None else max(high, manifest_id)
        looked += 1
        where = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        facts: dict[str, Any] = {"manifest_id": manifest_id, "object_exists": True, "sha256_matches": None,
                                 "lock_mode": None, "retain_until": None, "recorded_retain_until": recorded_until,
                                 "required_until": None}
        try:
            head = s3.head_object(**where)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in MISSING_CODES:
                raise
            facts["object_exists"] = False
        else:
            facts["lock_mode"] = head.get("ObjectLockMode")
            facts["retain_until"] = head.get("ObjectLockRetainUntilDate")
            if read_all_bytes or (read_bytes_after is not None and manifest_id > read_bytes_after):
                rule = policy.rule(rule_name) if rule_name else None
                clock = rule.clock if rule and rule.clock else "created_at"
                actual, newest = _read(s3, where, clock)
                read += 1
                facts["sha256_matches"] = actual == sha256.strip()
                if newest is not None and rule and rule.archive:
                    facts["required_until"] = rule.archive.retain_for.after(newest)
        conn.execute(sql_text("quality/record_archive_check.sql"), facts)
    return high, {"objects_checked": looked, "objects_read": read}
