"""Partition discovery against the real PostgreSQL: which tables are range-partitioned on a rule's clock, their
partitions' bounds as the catalog holds them, and where each stands against a cutoff."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql

from governance.partitions import Partition, Placement, by_placement, placement, range_partitions
from scripts.seeding import seed
from scripts.seeding.shape import PARTITIONED_CLOCKS, next_month
from tests.factories import CUTOFF

pytestmark = pytest.mark.integration

SECOND = timedelta(seconds=1)
NOVEMBER = datetime(2025, 11, 1, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def scratch_table(conn, partition_by: str) -> None:
    """app.events (id, created_at, day, other) partitioned as `partition_by` says, with no partition yet."""
    conn.execute(f"CREATE TABLE app.events (id bigint, created_at timestamptz NOT NULL, day date, "
                 f"other timestamptz) PARTITION BY {partition_by}")


def test_a_plain_table_or_a_missing_one_is_not_partitioned(conn):
    assert range_partitions(conn, "app.sessions", "created_at") is None
    assert range_partitions(conn, "app.no_such_table", "created_at") is None
    with pytest.raises(ValueError, match=r"schema\.name"):
        range_partitions(conn, "sessions", "created_at")


@pytest.mark.parametrize("partition_by", [
    "RANGE (other)",  # another timestamp column
    "RANGE (created_at, id)",  # the clock and another column
    "LIST (created_at)",  # another strategy
    "HASH (created_at)",
    "RANGE ((created_at AT TIME ZONE 'UTC'))",  # an expression of the clock, not the clock
])
def test_a_table_partitioned_any_other_way_than_by_range_on_exactly_the_clock_is_not_partitioned_on_it(
        conn, partition_by):
    """A month cannot be dropped for the rule unless the partitions are ranges of the rule's own clock."""
    scratch_table(conn, partition_by)
    assert range_partitions(conn, "app.events", "created_at") is None


def test_a_clock_that_is_not_a_date_or_timestamp_is_no_clock_to_drop_by(conn):
    scratch_table(conn, "RANGE (id)")
    conn.execute("CREATE TABLE app.events_low PARTITION OF app.events FOR VALUES FROM (0) TO (100)")
    assert range_partitions(conn, "app.events", "id") is None


def test_partitioned_on_the_clock_with_no_partition_yet_is_an_empty_list(conn):
    scratch_table(conn, "RANGE (created_at)")
    assert range_partitions(conn, "app.events", "created_at") == []


def test_the_seeded_shape_gives_every_month_with_its_bounds_and_the_default_last(conn):
    """Discovery reads back exactly the months the seeder made: contiguous UTC months from the oldest row's to
    the month after as_of, each [first instant, first instant of the next), then the DEFAULT partition."""
    seed(conn, None, scale=40, as_of=CUTOFF, media_bucket=None, put_media=False, partitioned=True)
    for table, clock in PARTITIONED_CLOCKS.items():
        partitions = range_partitions(conn, f"app.{table}", clock)
        assert partitions is not None, table
        *months, default = partitions
        assert default == Partition("app", f"{table}_default", None, None, is_default=True)
        oldest = conn.execute(sql.SQL("SELECT min({}) FROM {}").format(
            sql.Identifier(clock), sql.Identifier("app", table))).fetchone()[0]
        assert months[0].lower <= oldest < months[0].upper, table
        assert months[-1].lower == utc(2026, 12, 1), table  # as_of is in November 2026: one month ahead
        for partition in months:
            assert (partition.lower.day, partition.lower.time()) == (1, datetime.min.time()), partition
            assert partition.upper == next_month(partition.lower), partition
            assert partition.name == f"{table}_{partition.lower:%Y_%m}"
            assert partition.lower.tzinfo is UTC
        assert all(a.upper == b.lower for a, b in itertools.pairwise(months)), table


def test_bounds_are_the_same_instants_whatever_the_session_prints_them_in(conn):
    """pg_get_expr prints a bound in the session's TimeZone and DateStyle; they are read back in the same ones,
    so an odd offset (+05:45) and a day-first date style change nothing."""
    seed(conn, None, scale=0, as_of=CUTOFF, media_bucket=None, put_media=False, partitioned=True)
    expected = range_partitions(conn, "app.sessions", "created_at")
    conn.execute("SET TimeZone TO 'Asia/Kathmandu'")
    conn.execute("SET DateStyle TO 'SQL, DMY'")
    printed = conn.execute("SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                           "WHERE relname = 'sessions_2026_11'").fetchone()[0]
    assert "01/11/2026 05:45:00 +0545" in printed  # the bound really is printed differently
    assert range_partitions(conn, "app.sessions", "created_at") == expected
    assert [p.lower for p in expected[:-1]] == [utc(2026, 11, 1), utc(2026, 12, 1)]


def test_unbounded_sides_other_schemas_and_names_that_need_quoting(conn):
    """MINVALUE, MAXVALUE and infinite instants read as no bound; a partition in another schema, or with a name
    that needs quotes, is named and reached through its identifier."""
    scratch_table(conn, "RANGE (created_at)")
    conn.execute("""
        CREATE SCHEMA archive_months;
        CREATE TABLE archive_months."Events Before 2020" PARTITION OF app.events
            FOR VALUES FROM (MINVALUE) TO ('2020-01-01 00:00:00+00');
        CREATE TABLE app.events_2020s PARTITION OF app.events
            FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2030-01-01 00:00:00+00');
        CREATE TABLE app.events_later PARTITION OF app.events FOR VALUES FROM ('2030-01-01 00:00:00+00') TO (MAXVALUE);
        INSERT INTO app.events (id, created_at) VALUES (1, '2019-06-01 00:00:00+00');
        CREATE TABLE app.forever (created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
        CREATE TABLE app.forever_all PARTITION OF app.forever FOR VALUES FROM ('-infinity') TO ('infinity');
    """)
    before, twenties, later = range_partitions(conn, "app.events", "created_at")
    assert (before.schema, before.name, before.lower, before.upper) == (
        "archive_months", "Events Before 2020", None, utc(2020, 1, 1))
    assert (twenties.lower, twenties.upper) == (utc(2020, 1, 1), utc(2030, 1, 1))
    assert (later.lower, later.upper) == (utc(2030, 1, 1), None)
    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(before.identifier)).fetchone() == (1,)
    assert before.qualified_name == "archive_months.Events Before 2020"
    assert placement(before, utc(2020, 1, 1)) is Placement.EXPIRED
    assert placement(later, utc(2030, 1, 1)) is Placement.AFTER_CUTOFF
    (forever,) = range_partitions(conn, "app.forever", "created_at")
    assert (forever.lower, forever.upper, forever.is_default) == (None, None, False)
    assert placement(forever, utc(2030, 1, 1)) is Placement.STRADDLING


@pytest.mark.parametrize(("upper", "expected"), [
    (NOVEMBER, Placement.EXPIRED),  # ends exactly at the cutoff: its last instant is before it
    (NOVEMBER + SECOND, Placement.STRADDLING),  # ends a second after: it holds the cutoff's own second
])
def test_the_boundary_as_the_database_routes_rows(conn, upper, expected):
    """Rows planted at the partition's last microsecond and at the cutoff itself land where PostgreSQL routes
    them, and the placement agrees with the rule's test (clock < cutoff) on every row of the partition."""
    scratch_table(conn, "RANGE (created_at)")
    conn.execute(sql.SQL("CREATE TABLE app.events_2025_10 PARTITION OF app.events FOR VALUES FROM ({}) TO ({})")
                 .format(sql.Literal(utc(2025, 10, 1)), sql.Literal(upper)))
    conn.execute("CREATE TABLE app.events_default PARTITION OF app.events DEFAULT")
    for at in (utc(2025, 10, 1), upper - timedelta(microseconds=1), NOVEMBER):
        conn.execute("INSERT INTO app.events (id, created_at) VALUES (1, %s)", (at,))
    october, default = range_partitions(conn, "app.events", "created_at")
    assert placement(october, NOVEMBER) is expected
    assert placement(default, NOVEMBER) is Placement.DEFAULT
    not_due = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE NOT (created_at < %s)").format(october.identifier),
                           (NOVEMBER,)).fetchone()[0]
    assert (not_due == 0) is (expected is Placement.EXPIRED)


def test_date_and_timestamp_clocks_give_the_instants_a_timestamptz_cutoff_compares_them_as(conn):
    """A date or timestamp (without time zone) clock is compared with the cutoff in the session's time zone;
    its bounds read as the same instants, so the placement matches the rows' own comparison."""
    conn.execute("SET TimeZone TO 'Europe/Berlin'")
    conn.execute("""
        CREATE TABLE app.daily (day date NOT NULL) PARTITION BY RANGE (day);
        CREATE TABLE app.daily_2025_10 PARTITION OF app.daily FOR VALUES FROM ('2025-10-01') TO ('2025-11-01');
        CREATE TABLE app.local (at timestamp NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE app.local_2025_10 PARTITION OF app.local
            FOR VALUES FROM ('2025-10-01 00:00') TO ('2025-11-01 00:00');
    """)
    berlin_midnight = conn.execute("SELECT '2025-11-01 00:00'::timestamptz").fetchone()[0]
    for table, clock in (("app.daily", "day"), ("app.local", "at")):
        (october,) = range_partitions(conn, table, clock)
        assert october.upper == berlin_midnight.astimezone(UTC) == utc(2025, 10, 31, 23)
        assert placement(october, berlin_midnight) is Placement.EXPIRED
        assert placement(october, berlin_midnight - SECOND) is Placement.STRADDLING


def test_by_placement_on_the_seeded_shape_splits_at_the_sessions_rule_cutoff(conn):
    """With the sessions rule's 13 months before the seed's as_of, every month before October 2025 is expired,
    October 2025 straddles, the months after are after the cutoff, and the DEFAULT partition is default."""
    seed(conn, None, scale=20, as_of=CUTOFF, media_bucket=None, put_media=False, partitioned=True)
    cutoff = utc(2025, 10, 25, 2)  # CUTOFF - P13M
    grouped = by_placement(range_partitions(conn, "app.sessions", "created_at"), cutoff)
    assert grouped[Placement.EXPIRED][-1].name == "sessions_2025_09"
    assert [p.name for p in grouped[Placement.STRADDLING]] == ["sessions_2025_10"]
    assert [p.name for p in grouped[Placement.AFTER_CUTOFF]][0::13] == ["sessions_2025_11", "sessions_2026_12"]
    assert [p.name for p in grouped[Placement.DEFAULT]] == ["sessions_default"]
