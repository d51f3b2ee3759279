"""The rows an archive object holds, named as the archival deletes them: each by its key and its clock.

On the partitioned shape of the reference database a table's primary key is (key, clock), so
the key alone may name two rows, only one of them archived. The archival therefore reads both
columns back from the verified object, and deletes, keeps back (a legal hold) or forgets exactly
the rows whose key and clock it holds. Both shapes run the same statements.

The clock must come back to the microsecond, which is how PostgreSQL keeps a timestamptz. The
archive writes it as a Parquet timestamp in microseconds, UTC. Read back, a coarser unit (ms, s)
is exact in microseconds too; a finer one (ns) is taken only where every value is a whole
microsecond, and one without a time zone is refused, since its instant is unknown. A clock that
cannot be matched exactly would leave its rows both in the table and in the object.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class ArchivedRows:
    """Rows by key and clock (UTC, microseconds), in the order the object holds them."""

    keys: list[int]
    clocks: list[datetime]

    def __len__(self) -> int:
        return len(self.keys)

    def chunks(self, size: int) -> Iterator[ArchivedRows]:
        for first in range(0, len(self.keys), size):
            yield ArchivedRows(self.keys[first:first + size], self.clocks[first:first + size])

    def params(self) -> dict[str, Any]:
        """The bind parameters of the statements that take rows by key and clock (%(keys)s, %(clocks)s)."""
        return {"keys": self.keys, "clocks": self.clocks}

    def without(self, found: set[tuple[int, datetime]]) -> ArchivedRows:
        """These rows less those in `found` (pairs of key and clock, as rows() gives them)."""
        kept = [(key, clock) for key, clock in zip(self.keys, self.clocks, strict=True) if (key, clock) not in found]
        return ArchivedRows([key for key, _ in kept], [clock for _, clock in kept])

    @classmethod
    def of(cls, rows: list[tuple[int, datetime]] | Any) -> ArchivedRows:
        """From (key, clock) rows as the database returns them."""
        pairs = [(key, clock.astimezone(UTC)) for key, clock in rows]
        return cls([key for key, _ in pairs], [clock for _, clock in pairs])

    def pairs(self) -> set[tuple[int, datetime]]:
        return set(zip(self.keys, self.clocks, strict=True))


def rows_in(body: bytes, *, key: str, clock: str) -> tuple[ArchivedRows | None, str | None]:
    """The rows a Parquet body holds, by key and clock; or None and why they cannot be named exactly."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(body), columns=[key, clock])
    except Exception as exc:  # a body that is not Parquet, or lacks a column: named by its class only
        return None, f"it does not read as Parquet with columns {key} and {clock} ({type(exc).__name__})"
    keys, clocks = table.column(key), table.column(clock)
    if not pa.types.is_integer(keys.type):
        return None, f"its {key} column is {keys.type}, not an integer"
    if not pa.types.is_timestamp(clocks.type) or clocks.type.tz is None:
        return None, f"its {clock} column is {clocks.type}, not a timestamp with a time zone"
    if keys.null_count or clocks.null_count:
        return None, f"it holds rows with no {key} or no {clock}"
    try:
        exact = clocks.cast(pa.timestamp("us", tz="UTC"), safe=True)
    except pa.ArrowInvalid:
        return None, f"its {clock} column holds instants finer than a microsecond, which no row of the table has"
    return ArchivedRows(keys.to_pylist(), [moment.astimezone(UTC) for moment in exact.to_pylist()]), None
