"""Randomness and time: the per-table random streams, the reference now and its cutoffs, near-cutoff sampling."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

DAY = 86_400
HOUR = 3_600
NEAR_OFFSETS = np.array([-DAY, -HOUR, -1, 0, 1, HOUR, DAY], dtype=np.int64)


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent PCG64 stream per table: adding a draw to one table leaves the others alone."""
    return np.random.Generator(np.random.PCG64([seed, zlib.crc32(name.encode())]))


def default_as_of() -> datetime:
    """Today 00:00 UTC."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def normalise_as_of(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Clock:
    """The reference now (as_of) and the instants the retention rules count back to, in epoch seconds."""

    as_of: datetime

    @property
    def now(self) -> int:
        return int(self.as_of.timestamp())

    def before(self, *, years: int = 0, months: int = 0, days: int = 0) -> int:
        """Calendar arithmetic, as the policy's periods use it (P1M before 31 March is 28/29 February)."""
        from dateutil.relativedelta import relativedelta

        return int((self.as_of - relativedelta(years=years, months=months, days=days)).timestamp())

    @property
    def start(self) -> int:
        return self.before(years=8)


def near_cutoff(rng: np.random.Generator, ts: np.ndarray, rows: np.ndarray,
                bounds: tuple[np.ndarray, np.ndarray], cutoff: int, share: float) -> np.ndarray:
    """Move a share of `rows` (at least one) onto `cutoff`, or 1 s, 1 h or 1 day either side of it.

    `bounds` are per-row arrays (lo, hi) aligned with `ts`; a row only moves where its new time
    stays inside them (never before its parent, never after its end). Returns the rows moved.
    """
    if len(rows) == 0:
        return rows
    target = cutoff + rng.choice(NEAR_OFFSETS, len(rows))
    lo, hi = bounds
    fits = (lo[rows] <= target) & (target <= hi[rows])
    candidates, targets = rows[fits], target[fits]
    if len(candidates) == 0:
        return candidates
    wanted = min(len(candidates), max(1, round(share * len(rows))))
    chosen = np.sort(rng.choice(len(candidates), wanted, replace=False))
    ts[candidates[chosen]] = targets[chosen]
    return candidates[chosen]


def within(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform instant in [lo, hi] per row."""
    return lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)
