"""The rows an archive object holds, read back by key and clock: exactly the instants PostgreSQL keeps (microseconds,
UTC), or a reason why they cannot be matched, never a rounded clock."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from governance.archive_rows import ArchivedRows, rows_in

MOMENT = datetime(2026, 7, 25, 2, 0, 0, 123_457, tzinfo=UTC)  # not a whole millisecond
MICROS = 1_784_944_800_123_457  # MOMENT in microseconds since the Unix epoch


def parquet(keys, clocks, clock_type: str, *, tz: str | None = "UTC", key_type: str = "int64") -> bytes:
    """A Parquet body with event_id and created_at of these types ("us", "ns", ... for a timestamp's unit)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    clock = pa.timestamp(clock_type, tz=tz) if clock_type in ("s", "ms", "us", "ns") else pa.type_for_alias(clock_type)
    table = pa.table({"event_id": pa.array(keys, pa.type_for_alias(key_type)), "created_at": pa.array(clocks, clock)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def read(body: bytes):
    return rows_in(body, key="event_id", clock="created_at")


def test_the_archives_own_unit_reads_back_to_the_microsecond_in_utc():
    """What the archival writes (timestamp in microseconds, UTC) comes back as the same instants, in order."""
    clocks = [MOMENT, MOMENT + timedelta(microseconds=1)]
    rows, problem = read(parquet([7, 7], clocks, "us"))
    assert problem is None
    assert (rows.keys.to_pylist(), rows.clocks.to_pylist()) == ([7, 7], clocks)
    assert str(rows.clocks.type) == "timestamp[us, tz=UTC]"


@pytest.mark.parametrize("unit", ["s", "ms"])
def test_a_coarser_unit_is_exact_in_microseconds(unit):
    whole = MOMENT.replace(microsecond=0) if unit == "s" else MOMENT.replace(microsecond=123_000)
    rows, problem = read(parquet([1], [whole], unit))
    assert problem is None
    assert rows.clocks.to_pylist() == [whole]


def test_nanoseconds_are_taken_only_where_they_are_whole_microseconds():
    """A writer in nanoseconds (pandas') gives instants PostgreSQL can hold when they are whole microseconds; one
    finer would match no row of the table, so the object does not verify."""
    nanos = int(MOMENT.replace(microsecond=0).timestamp()) * 10**9 + MOMENT.microsecond * 1000
    whole, problem = read(parquet([1], [nanos], "ns"))
    assert problem is None
    assert whole.clocks.to_pylist() == [MOMENT]
    finer, problem = read(parquet([1], [nanos + 1], "ns"))
    assert finer is None
    assert "finer than a microsecond" in problem


def test_a_clock_in_another_time_zone_is_the_same_instant():
    rows, _ = read(parquet([1], [MOMENT], "us", tz="Europe/Berlin"))
    assert rows.clocks.to_pylist() == [MOMENT]
    assert rows.params()["clocks_us"] == f"{{{MICROS}}}"


@pytest.mark.parametrize(("body", "expected"), [
    (lambda: parquet([1], [MOMENT.replace(tzinfo=None)], "us", tz=None), "not a timestamp with a time zone"),
    (lambda: parquet([1], ["2026-07-25"], "string"), "created_at column is string, not a timestamp"),
    (lambda: parquet(["1"], [MOMENT], "us", key_type="string"), "event_id column is string, not an integer"),
    (lambda: parquet([1, None], [MOMENT, MOMENT], "us"), "rows with no event_id or no created_at"),
    (lambda: b"PAR1 not really", "does not read as Parquet with columns event_id and created_at (ArrowInvalid)"),
])
def test_what_cannot_name_a_row_exactly_is_a_reason_not_rows(body, expected):
    rows, problem = read(body())
    assert rows is None
    assert expected in problem


def test_a_body_without_the_clock_column_is_refused():
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table({"event_id": pa.array([1], pa.int64())}), out)
    rows, problem = read(out.getvalue())
    assert rows is None
    assert "does not read as Parquet with columns event_id and created_at" in problem


def test_rows_go_to_the_database_as_two_array_literals_in_key_order():
    """Keys, and clocks in integer microseconds since the epoch: what archive/rows.sql turns back into rows."""
    later = MOMENT + timedelta(microseconds=1)
    rows = ArchivedRows.of([(7, MOMENT), (7, later), (8, MOMENT.astimezone(ZoneInfo("Europe/Berlin")))])
    assert rows.params() == {"keys": "{7,7,8}", "clocks_us": f"{{{MICROS},{MICROS + 1},{MICROS}}}"}
    assert [chunk.params()["keys"] for chunk in rows.chunks(2)] == ["{7,7}", "{8}"]
    assert rows.with_keys([7]).params()["clocks_us"] == f"{{{MICROS},{MICROS + 1}}}"
    assert rows.key_range() == (7, 8)
    assert ArchivedRows.of([]).params() == {"keys": "{}", "clocks_us": "{}"}
    assert ArchivedRows.of([]).key_range() == (None, None)
