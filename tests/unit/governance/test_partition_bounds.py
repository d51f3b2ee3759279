"""Partition bounds as the catalog prints them, and where a partition stands against a cutoff, without a database."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from governance.partitions import (
    Partition,
    PartitionBoundError,
    Placement,
    PrintedBound,
    by_placement,
    parse_bound,
    placement,
)

CUTOFF = datetime(2025, 11, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def month(lower: datetime | None, upper: datetime | None, name: str = "sessions_m") -> Partition:
    return Partition("app", name, lower, upper)


# -- the printed bound ----------------------------------------------------------------------------


def test_a_range_bound_gives_the_literal_text_of_each_side():
    printed = "FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00')"
    assert parse_bound(printed) == PrintedBound(False, "2026-11-01 00:00:00+00", "2026-12-01 00:00:00+00")


def test_default_minvalue_and_maxvalue_are_no_bound_on_their_side():
    assert parse_bound("DEFAULT") == PrintedBound(is_default=True)
    assert parse_bound("FOR VALUES FROM (MINVALUE) TO ('2020-01-01')") == PrintedBound(False, None, "2020-01-01")
    assert parse_bound("FOR VALUES FROM ('2020-01-01') TO (MAXVALUE)") == PrintedBound(False, "2020-01-01", None)
    assert parse_bound("FOR VALUES FROM (MINVALUE) TO (MAXVALUE)") == PrintedBound(False, None, None)


def test_a_doubled_quote_inside_a_literal_is_one_quote_and_does_not_end_it():
    """The parser reads a literal to its real end: a quote inside it is doubled by pg_get_expr."""
    assert parse_bound("FOR VALUES FROM ('a'') TO (''b') TO ('c')") == PrintedBound(False, "a') TO ('b", "c")


@pytest.mark.parametrize("printed", [
    "FOR VALUES IN ('2026-11-01')",  # a list partition
    "FOR VALUES WITH (modulus 4, remainder 0)",  # a hash partition
    "FOR VALUES FROM ('2026-11-01', 1) TO ('2026-12-01', 1)",  # two columns
    "FOR VALUES FROM (MAXVALUE) TO (MAXVALUE)",  # nothing in it (PostgreSQL refuses it)
    "FOR VALUES FROM ('2026-11-01') TO (MINVALUE)",
    "FOR VALUES FROM ('2026-11-01) TO ('2026-12-01')",  # an unclosed quote
    "",
])
def test_anything_but_a_single_column_range_or_default_is_refused_by_name(printed):
    """An unreadable bound is an error, never a guess: a wrong guess could drop a month that holds kept rows."""
    with pytest.raises(PartitionBoundError, match="bound"):
        parse_bound(printed)


# -- placement against a cutoff --------------------------------------------------------------------


def test_a_month_that_ends_exactly_at_the_cutoff_is_wholly_expired():
    """The upper bound is exclusive: its last row is before the cutoff, so every row is due."""
    assert placement(month(datetime(2025, 10, 1, tzinfo=UTC), CUTOFF), CUTOFF) is Placement.EXPIRED


def test_a_month_that_ends_a_second_after_the_cutoff_straddles_it():
    """It can hold a row at the cutoff itself, which is not due."""
    assert placement(month(datetime(2025, 10, 1, tzinfo=UTC), CUTOFF + SECOND), CUTOFF) is Placement.STRADDLING


def test_a_month_that_starts_at_the_cutoff_is_wholly_after_it_and_one_that_starts_a_second_before_straddles():
    assert placement(month(CUTOFF, CUTOFF + timedelta(days=30)), CUTOFF) is Placement.AFTER_CUTOFF
    assert placement(month(CUTOFF - SECOND, CUTOFF + timedelta(days=30)), CUTOFF) is Placement.STRADDLING


def test_unbounded_sides_count_as_reaching_forever():
    assert placement(month(None, CUTOFF), CUTOFF) is Placement.EXPIRED
    assert placement(month(None, CUTOFF + SECOND), CUTOFF) is Placement.STRADDLING
    assert placement(month(None, None), CUTOFF) is Placement.STRADDLING
    assert placement(month(CUTOFF, None), CUTOFF) is Placement.AFTER_CUTOFF
    assert placement(month(CUTOFF - SECOND, None), CUTOFF) is Placement.STRADDLING


def test_the_default_partition_is_default_whatever_the_cutoff():
    """It can hold any instant no other partition covers, so it is never wholly expired."""
    default = Partition("app", "sessions_default", None, None, is_default=True)
    assert placement(default, CUTOFF) is Placement.DEFAULT
    assert placement(default, datetime(9999, 1, 1, tzinfo=UTC)) is Placement.DEFAULT


def test_instants_are_compared_not_wall_clocks():
    """A cutoff given in another time zone is the same instant: 02:00 at UTC+2 is midnight UTC."""
    plus_two = timezone(timedelta(hours=2))
    october = month(datetime(2025, 10, 1, tzinfo=UTC), CUTOFF)
    assert placement(october, datetime(2025, 11, 1, 2, tzinfo=plus_two)) is Placement.EXPIRED
    assert placement(october, datetime(2025, 11, 1, 1, 59, 59, tzinfo=plus_two)) is Placement.STRADDLING


def test_a_cutoff_without_a_time_zone_is_refused():
    with pytest.raises(ValueError, match="aware"):
        placement(month(None, CUTOFF), datetime(2025, 11, 1))


def test_by_placement_groups_every_partition_once_and_names_every_placement():
    partitions = [month(datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 10, 1, tzinfo=UTC), "sessions_2025_09"),
                  month(datetime(2025, 10, 1, tzinfo=UTC), CUTOFF, "sessions_2025_10"),
                  month(CUTOFF, datetime(2025, 12, 1, tzinfo=UTC), "sessions_2025_11")]
    grouped = by_placement(partitions, CUTOFF + timedelta(days=3))
    assert set(grouped) == set(Placement)
    assert [p.name for p in grouped[Placement.EXPIRED]] == ["sessions_2025_09", "sessions_2025_10"]
    assert [p.name for p in grouped[Placement.STRADDLING]] == ["sessions_2025_11"]
    assert grouped[Placement.AFTER_CUTOFF] == grouped[Placement.DEFAULT] == []
