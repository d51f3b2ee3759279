"""A rule's table as the catalog partitions it, and where each partition stands against a cutoff.

A time-based rule could drop a month whole instead of deleting its rows one by one, but only
when the table is range-partitioned on exactly the rule's clock. `range_partitions` finds that
out from the catalog (pg_partitioned_table, pg_inherits and each partition's bound) and lists
the partitions with their bounds, or answers None; nothing is configured by hand. `placement`
says, for a cutoff, whether a partition is wholly expired, straddles the cutoff, lies wholly
after it, or is the DEFAULT partition (which can hold any instant, so it is never wholly
expired).

A range partition FROM (lower) TO (upper) holds the rows with lower <= clock < upper (the upper
bound is exclusive), and a rule's row is due when clock < cutoff. So a partition is wholly
expired when upper <= cutoff: a month that ends exactly at the cutoff is wholly expired, one
that ends a second after it is not.

Plain Python and SQL (include/sql/partitions/); no Airflow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from psycopg import sql

from governance.db import sql_text
from governance.errors import GovernanceError

if TYPE_CHECKING:
    import psycopg


class PartitionBoundError(GovernanceError):
    """A partition's bound, as the catalog prints it, is not one this module can read."""


@dataclass(frozen=True)
class PrintedBound:
    """A partition bound as pg_get_expr prints it, taken apart: DEFAULT, or the literal text of each side
    (None for MINVALUE below, MAXVALUE above)."""

    is_default: bool
    lower: str | None = None
    upper: str | None = None


# One datum of a bound: MINVALUE, MAXVALUE or a quoted literal, a quote inside it doubled.
_DATUM = r"MINVALUE|MAXVALUE|'(?:[^']|'')*'"
_RANGE_BOUND = re.compile(rf"FOR VALUES FROM \((?P<lower>{_DATUM})\) TO \((?P<upper>{_DATUM})\)")


def parse_bound(printed: str) -> PrintedBound:
    """Take apart a bound printed by pg_get_expr(relpartbound) for a range partition on one column.

    Anything else (a list or hash bound, several columns, text this parser does not know) raises
    PartitionBoundError, naming the text (a bound holds boundary values, never a row's).
    """
    text = printed.strip()
    if text == "DEFAULT":
        return PrintedBound(is_default=True)
    match = _RANGE_BOUND.fullmatch(text)
    if match is None:
        raise PartitionBoundError(f"not the bound of a range partition on one column: {printed!r}")
    lower, upper = match["lower"], match["upper"]
    if lower == "MAXVALUE" or upper == "MINVALUE":  # PostgreSQL refuses these; never guess what they mean
        raise PartitionBoundError(f"a range bound with nothing in it: {printed!r}")
    return PrintedBound(is_default=False, lower=_literal(lower), upper=_literal(upper))


def _literal(datum: str) -> str | None:
    if datum in ("MINVALUE", "MAXVALUE"):
        return None
    return datum[1:-1].replace("''", "'")


@dataclass(frozen=True)
class Partition:
    """One partition of a range-partitioned table, and the instants its rows' clocks lie in: lower <= clock
    < upper. A bound of None is none on that side (MINVALUE, MAXVALUE or an infinite instant); a DEFAULT
    partition has neither."""

    schema: str
    name: str
    lower: datetime | None
    upper: datetime | None
    is_default: bool = False
    detach_pending: bool = False  # a DETACH PARTITION ... CONCURRENTLY of it was interrupted

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


def range_partitions(conn: psycopg.Connection, table: str, clock: str) -> list[Partition] | None:
    """The partitions of `table` ("schema.name") when it is range-partitioned on exactly the column `clock`,
    oldest first and the DEFAULT partition last; None when it is not (a plain table, another strategy,
    another column or several, an expression, a clock that is not a date or timestamp column, or no such
    table). A partitioned table with no partition yet gives [].
    """
    schema, _, name = table.partition(".")
    if not schema or not name:
        raise ValueError(f"name the table as schema.name, not {table!r}")
    rows = conn.execute(sql_text("partitions/range_partitions.sql"),
                        {"schema": schema, "table": name, "clock": clock}).fetchall()
    if not rows:
        return None
    found = [(part_schema, part_name, parse_bound(bound), pending)
             for part_schema, part_name, bound, pending in rows if part_name is not None]
    literals = [side for _, _, bound, _ in found for side in (bound.lower, bound.upper)]
    # In binary: psycopg reads text timestamps only in the ISO DateStyle, and the session may print others.
    read_back = conn.execute(sql_text("partitions/bound_instants.sql"), {"literals": literals}, binary=True)
    instants = iter(None if row[0] is None else row[0].astimezone(UTC) for row in read_back)
    partitions = [Partition(part_schema, part_name, lower=next(instants), upper=next(instants),
                            is_default=bound.is_default, detach_pending=bool(pending))
                  for part_schema, part_name, bound, pending in found]
    return sorted(partitions, key=_oldest_first)


def _oldest_first(partition: Partition) -> tuple[bool, bool, datetime | None, str]:
    # The DEFAULT partition last; before the others, one that is unbounded below.
    started = partition.lower is not None
    return partition.is_default, started, partition.lower if started else None, partition.qualified_name


class Placement(StrEnum):
    """Where a partition stands against a rule's cutoff."""

    EXPIRED = "expired"  # every instant it can hold is before the cutoff: all its rows are due
    STRADDLING = "straddling"  # it can hold instants on both sides: some rows may be due, some not
    AFTER_CUTOFF = "after_cutoff"  # every instant it can hold is at or after the cutoff: no row is due
    DEFAULT = "default"  # it can hold any instant that no other partition covers


def placement(partition: Partition, cutoff: datetime) -> Placement:
    """Where `partition` stands against `cutoff` (an aware datetime); see the module docstring for the
    boundary: the upper bound is exclusive, so upper == cutoff is wholly expired."""
    if cutoff.tzinfo is None:
        raise ValueError("the cutoff must be an aware datetime: the bounds are instants")
    if partition.is_default:
        return Placement.DEFAULT
    if partition.upper is not None and partition.upper <= cutoff:
        return Placement.EXPIRED
    if partition.lower is not None and partition.lower >= cutoff:
        return Placement.AFTER_CUTOFF
    return Placement.STRADDLING


def by_placement(partitions: Iterable[Partition], cutoff: datetime) -> dict[Placement, list[Partition]]:
    """The partitions grouped by where they stand against `cutoff` (every placement present, maybe empty)."""
    grouped: dict[Placement, list[Partition]] = {kind: [] for kind in Placement}
    for partition in partitions:
        grouped[placement(partition, cutoff)].append(partition)
    return grouped
