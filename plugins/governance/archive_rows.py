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

The rows stay in Arrow arrays, and go to PostgreSQL as two array literals bound as parameters:
the keys, and the clocks as integer microseconds since the Unix epoch (UTC), which the statements
turn back into timestamptz exactly (archive/delete_archived.sql says how). An object's 200,000
rows are never turned into Python objects one by one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ArchivedRows:
    """Rows by key (an int64 array) and clock (a timestamp array in microseconds, UTC), in the object's order."""

    keys: Any  # pyarrow.Array
    clocks: Any  # pyarrow.Array

    def __len__(self) -> int:
        return len(self.keys)

    def chunks(self, size: int) -> Iterator[ArchivedRows]:
        for first in range(0, len(self), size):
            yield ArchivedRows(self.keys.slice(first, size), self.clocks.slice(first, size))

    def key_range(self) -> tuple[int | None, int | None]:
        import pyarrow.compute as pc

        found = pc.min_max(self.keys)
        return found["min"].as_py(), found["max"].as_py()

    def with_keys(self, keys: Iterable[int]) -> ArchivedRows:
        """These rows whose key is one of `keys` (every row of such a key, whatever its clock)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        chosen = pc.is_in(self.keys, value_set=pa.array(list(keys), pa.int64()))
        return ArchivedRows(self.keys.filter(chosen), self.clocks.filter(chosen))

    def params(self) -> dict[str, str]:
        """The bind parameters %(keys)s and %(clocks_us)s of the statements that take rows by key and clock."""
        import pyarrow as pa

        return {"keys": _array_literal(self.keys), "clocks_us": _array_literal(self.clocks.cast(pa.int64()))}

    @classmethod
    def of(cls, rows: Iterable[tuple[int, datetime]]) -> ArchivedRows:
        """From (key, clock) rows as the database returns them."""
        import pyarrow as pa

        pairs = list(rows)
        return cls(pa.array([key for key, _ in pairs], pa.int64()),
                   pa.array([clock for _, clock in pairs], pa.timestamp("us", tz="UTC")))


def _array_literal(values: Any) -> str:
    """A PostgreSQL array literal of integers, "{1,2,3}", built in Arrow (one string, not one object per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.cast(pa.string())
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(text)], pa.int32()), text), ",")
    return "{" + joined[0].as_py() + "}"


def rows_in(body: bytes, *, key: str, clock: str) -> tuple[ArchivedRows | None, str | None]:
    """The rows a Parquet body holds, by key and clock; or None and why they cannot be named exactly."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(body), columns=[key, clock])
    except Exception as exc:  # a body that is not Parquet, or lacks a column: named by its class only
        return None, f"it does not read as Parquet with columns {key} and {clock} ({type(exc).__name__})"
    keys, clocks = table.column(key).combine_chunks(), table.column(clock).combine_chunks()
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
    return ArchivedRows(keys.cast(pa.int64()), exact), None
