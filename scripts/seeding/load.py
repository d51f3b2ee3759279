"""Loading: the tables' shape, TRUNCATE and COPY of the app tables in one transaction, and make the media bucket
match the rows."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from scripts.seeding.schema import LEGAL_HOLDS, NULL, TABLE_ORDER, TRUNCATE, Table
from scripts.seeding.shape import reshape

try:
    from governance import storage
except ModuleNotFoundError:  # plugins/ is not on sys.path yet
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))
    from governance import storage

MEDIA_WORKERS = 16
COPY_CHUNK_ROWS = 100_000
MEDIA_BODIES = {"png": b"\x89PNG\r\n\x1a\n", "jpg": b"\xff\xd8\xff\xe0", "mp4": b"\x00\x00\x00\x18ftypmp42"}


def _as_text(column: str, values: np.ndarray) -> list[str]:
    """COPY text format of one column (values hold no tab, newline or backslash)."""
    if values.dtype == np.bool_:
        return np.where(values, "t", "f").tolist()
    if values.dtype.kind != "i":
        return ["\\N" if value is None else value for value in values.tolist()]
    if column.endswith("_at"):
        text = np.datetime_as_string(values.astype("datetime64[s]"), unit="s")
        return np.where(values == NULL, "\\N", text).tolist()
    text = list(map(str, values.tolist()))
    for row in np.flatnonzero(values == NULL).tolist():
        text[row] = "\\N"
    return text


def copy_table(cur: Any, table: Table) -> None:
    """COPY one table in chunks of text built column by column from its arrays."""
    from psycopg import sql

    if not len(table):
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier("app", table.name), sql.SQL(", ").join(map(sql.Identifier, table.columns)))
    with cur.copy(statement) as copy:
        for start in range(0, len(table), COPY_CHUNK_ROWS):
            parts = [_as_text(column, values[start:start + COPY_CHUNK_ROWS])
                     for column, values in table.columns.items()]
            copy.write("\n".join(map("\t".join, zip(*parts, strict=True))) + "\n")


def load(conn: Any, tables: dict[str, Table],
         partition_months: Mapping[str, Sequence[datetime]] | None = None) -> dict[str, float]:
    """Replace the app tables (and legal holds) with `tables` in one transaction; seconds per table.

    With `partition_months` the partitionable tables are made partitioned, with those months; without,
    plain (shape.reshape). A failure anywhere rolls back to the shape and rows there were.
    """
    seconds: dict[str, float] = {}
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET LOCAL timezone TO 'UTC'")  # COPY's timestamps are written without an offset
        cur.execute("SET LOCAL synchronous_commit TO off")
        started = time.perf_counter()
        reshape(cur, partition_months)
        seconds["shape"] = time.perf_counter() - started
        cur.execute(TRUNCATE)
        for name in TABLE_ORDER:
            started = time.perf_counter()
            copy_table(cur, tables[name])
            seconds[name] = time.perf_counter() - started
        cur.execute(LEGAL_HOLDS)
    return seconds


# -- media --------------------------------------------------------------------------------


def base_media_keys(tables: dict[str, Table]) -> list[str]:
    """Objects the rows name: every media_key, except of generations whose media moderation removed."""
    g, u = tables["generations"].columns, tables["uploads"].columns
    keep = (g["media_key"] != None) & (g["media_deleted_at"] == NULL)  # noqa: E711 (elementwise)
    return g["media_key"][keep].tolist() + [key for key in u["media_key"].tolist() if key]


def replace_media(s3: Any, bucket: str, keys: Sequence[str]) -> int:
    """Make generations/ and uploads/ in the bucket hold exactly `keys`; returns how many objects were put.

    Objects an earlier seed left there and no row names are deleted; a key already present is
    kept (its body depends only on its extension), so a rerun puts only what is missing. The
    puts run on a thread pool: the local S3 server, not the client, sets the pace (~400/s).
    """
    present = {key for prefix in ("generations/", "uploads/") for key in storage.list_keys(s3, bucket, prefix)}
    wanted = set(keys)
    for batch in storage.chunks(sorted(present - wanted), storage.DELETE_OBJECTS_MAX_KEYS):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    return put_media(s3, bucket, [key for key in keys if key not in present])


def put_media(s3: Any, bucket: str, keys: Sequence[str]) -> int:
    """Put the seed's object for each key (its body depends only on the extension); returns how many.

    Also how `seed.py --restore-media` recreates the objects of existing rows that the bucket lost.
    """

    def put(key: str) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=MEDIA_BODIES[key.rsplit(".", 1)[1]])

    pool_size = getattr(s3.meta.config, "max_pool_connections", None) or MEDIA_WORKERS
    with ThreadPoolExecutor(max_workers=min(MEDIA_WORKERS, pool_size)) as pool:
        for _ in pool.map(put, keys):
            pass
    return len(keys)
