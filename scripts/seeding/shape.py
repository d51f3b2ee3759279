"""The reference database's two shapes, and switching between them inside the seed's transaction.

    plain        every table as include/sql/schema/app.sql makes it (the default)
    partitioned  app.sessions, app.usage_events and app.moderation_events range-partitioned by month
                 on their clock (include/sql/schema/app_partitioned.sql), one partition per month
                 from the month of the table's oldest row to the month after as_of, and a DEFAULT one

The rows are the same in both shapes: only where PostgreSQL keeps them differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from scripts.seeding.schema import NULL, Table

# Each partitioned table and the column it is partitioned on: the clock its retention rules count
# from in include/policy/retention.yaml (a test checks that they still agree).
PARTITIONED_CLOCKS = {"sessions": "created_at", "usage_events": "created_at", "moderation_events": "created_at"}


def month_start(moment: datetime) -> datetime:
    """The first instant of the moment's month, in UTC."""
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """The starts of every month from first's to last's, both included (UTC)."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def partition_months(tables: Mapping[str, Table], as_of: datetime) -> dict[str, list[datetime]]:
    """For each partitioned table, the months it gets a partition for: every month that holds one of its
    rows, and every month up to the one after as_of, so that the application's next inserts (this month
    and the next) have their partition before anyone makes one."""
    following = next_month(month_start(as_of))
    months = {}
    for name, clock in PARTITIONED_CLOCKS.items():
        instants = tables[name].columns[clock] if name in tables else np.array([], dtype=np.int64)
        instants = instants[instants != NULL]
        first, last = following, following
        if len(instants):
            first = min(first, datetime.fromtimestamp(int(instants.min()), UTC))
            last = max(last, datetime.fromtimestamp(int(instants.max()), UTC))
        months[name] = months_between(min(first, month_start(as_of)), last)
    return months


def partition_name(table: str, month: datetime) -> str:
    """sessions, 2026-11 -> sessions_2026_11 (the DEFAULT partition is sessions_default)."""
    return f"{table}_{month:%Y_%m}"


def reshape(cur: Any, months_by_table: Mapping[str, Sequence[datetime]] | None) -> None:
    """Give the three tables the plain shape (None) or the partitioned one, in the caller's transaction.

    The partitioned shape is made afresh on every seed, since its months follow the data. A table that
    is already plain and should stay so is left alone: a plain seed runs no DDL at all.
    """
    from governance.db import sql_text

    partitioned_now = [row[0] for row in cur.execute(sql_text("seed/partitioned_tables.sql"),
                                                     {"tables": list(PARTITIONED_CLOCKS)})]
    if months_by_table is None:
        if not partitioned_now:
            return
        _drop(cur, partitioned_now)
        cur.execute(sql_text("schema/app.sql"))  # idempotent: makes again only the tables it finds missing
    else:
        _drop(cur, PARTITIONED_CLOCKS)
        cur.execute(sql_text("schema/app_partitioned.sql"))
        cur.execute(_month_partitions(months_by_table))
    # The new tables (and each partition, which the purge's block walk deletes from directly) get the
    # group roles' privileges whichever role seeds; default privileges only follow the role that set them.
    cur.execute(sql_text("schema/grants.sql"))


def _drop(cur: Any, tables: Iterable[str]) -> None:
    from psycopg import sql

    from governance.db import sql_text

    names = sql.SQL(", ").join(sql.Identifier("app", name) for name in tables)
    cur.execute(sql.SQL(sql_text("seed/drop_reshaped_tables.sql")).format(tables=names))


def _month_partitions(months_by_table: Mapping[str, Sequence[datetime]]) -> Any:
    """Every month partition, as one batch of statements (one round trip for a few hundred tables)."""
    from psycopg import sql

    from governance.db import sql_text

    template = sql.SQL(sql_text("seed/month_partition.sql").strip())
    statements = [
        template.format(partition=sql.Identifier("app", partition_name(table, month)),
                        parent=sql.Identifier("app", table),
                        lower=sql.Literal(month), upper=sql.Literal(next_month(month)))
        for table, months in months_by_table.items() for month in months
    ]
    return sql.SQL(";\n").join(statements)
