"""Cross-border transfers, counted before they can be deleted: the capture, and the figures of a period.

The nightly purge deletes the generations and payments that record transfers, so a monthly
count of what is left undercounts. A *capture* runs ahead of every purge and erasure: it looks
at the rows whose clock falls after the last capture and before the run's cutoff, and keeps,
per UTC day, recipient and source table, the number of records and a HyperLogLog sketch of
their data subjects (governance.transfer_daily). No id is kept: the sketch holds, for each of
2^14 registers, the highest rank of a keyed hash of the subjects that fall in it. Sketches of any
set of days merge exactly (the highest rank per register), so distinct subjects over a month,
or any period, are estimated with a standard error of 1.04 / sqrt(2^14) = 0.81 %, and exactly in
practice for small counts (linear counting). See docs/decisions/0011-transfer-capture.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from governance.db import sql_text
from governance.errors import PermanentError
from governance.register import UNKNOWN_COUNTRY, Recipient, TransferRegister

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

SKETCH_PRECISION = 14
SKETCH_REGISTERS = 1 << SKETCH_PRECISION
SKETCH_STANDARD_ERROR = 1.04 / math.sqrt(SKETCH_REGISTERS)
# A capture looks at this much history per transaction (the first one backfills years, a night's
# looks at a day, one after a paused month at a month), so that none holds a snapshot for hours.
CAPTURE_STEP_DAYS = 31


class InvalidPeriod(PermanentError, ValueError):
    """A report period that is malformed, inverted, or not yet over."""


def sketch_seed(pseudonym_key: bytes) -> int:
    """The secret 64-bit seed the subject sketches hash with: derived from the pseudonym key, so that it
    is as secret and as stable (a changed seed would stop sketches of different days from merging), and
    so that the pseudonym key itself never reaches a statement."""
    digest = hmac.new(pseudonym_key, b"governance:transfer-subject-sketch", hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def estimate_subjects(filled: int, inverse_sum: float) -> int:
    """Distinct subjects from a merged sketch: `filled` registers that are not 0, and the sum of
    2^-rank over them. HyperLogLog's estimate, with linear counting while it is the better one."""
    if filled == 0:
        return 0
    m = SKETCH_REGISTERS
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / (inverse_sum + (m - filled))
    if raw <= 2.5 * m and filled < m:
        return round(m * math.log(m / (m - filled)))
    return round(raw)


# -- where transfers show up -------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A table column that records transfers, and the recipients it records."""

    table: str
    column: str
    match: str
    clock: str
    subject_column: str
    pseudonym_column: str | None
    legal_basis_column: str | None
    recipients: tuple[Recipient, ...]

    def query(self) -> Any:
        from psycopg import sql

        def column(name: str | None) -> Any:
            return sql.Identifier(name) if name else sql.SQL("NULL")

        basis = (sql.SQL("({0} IS NULL OR btrim({0}::text) = '')").format(sql.Identifier(self.legal_basis_column))
                 if self.legal_basis_column else sql.SQL("false"))
        return sql.SQL(sql_text("transfers/capture_source.sql")).format(
            table=sql.Identifier("app", self.table), clock=sql.Identifier(self.clock),
            column=sql.Identifier(self.column), subject=column(self.subject_column),
            pseudonym=column(self.pseudonym_column), without_basis=basis,
        )

    def earliest_query(self) -> Any:
        from psycopg import sql

        return sql.SQL(sql_text("transfers/earliest_row.sql")).format(
            table=sql.Identifier("app", self.table), clock=sql.Identifier(self.clock))

    def attribute(self, seen: str) -> tuple[str, bool, list[str], list[str]]:
        """The recipient a recorded value names: (recipient, registered, countries, data categories).
        A value no recipient claims is an unregistered transfer, kept under the value itself."""
        for recipient in self.recipients:
            place = next(p for p in recipient.shows_up_in if (p.table, p.column) == (self.table, self.column))
            if self.match == "code" and seen == recipient.code:
                return recipient.code, True, recipient.countries, list(place.data_categories)
            if self.match == "country" and seen in recipient.countries:
                return recipient.code, True, [seen], list(place.data_categories)
        if self.match == "country":
            categories = sorted({c for r in self.recipients for p in r.shows_up_in
                                 if (p.table, p.column) == (self.table, self.column) for c in p.data_categories})
            return f"{self.table}.{self.column}={seen}", False, [seen], categories
        return seen, False, [UNKNOWN_COUNTRY], []


class InconsistentSource(PermanentError, ValueError):
    """Two recipients read the same column with a different clock or subject."""


def sources(register: TransferRegister) -> list[Source]:
    """The columns that record transfers, each with the recipients it records (in register order)."""
    found: dict[tuple[str, str], Source] = {}
    for recipient in register.recipients:
        for place in recipient.shows_up_in:
            key = (place.table, place.column)
            shape = (place.match, place.clock, place.subject_column, place.pseudonym_column, place.legal_basis_column)
            known = found.get(key)
            if known is None:
                found[key] = Source(place.table, place.column, *shape, recipients=(recipient,))
                continue
            if (known.match, known.clock, known.subject_column, known.pseudonym_column,
                    known.legal_basis_column) != shape:
                raise InconsistentSource(f"transfers.yaml: recipients {known.recipients[0].code!r} and "
                                         f"{recipient.code!r} read {place.table}.{place.column} differently")
            found[key] = Source(known.table, known.column, *shape, recipients=(*known.recipients, recipient))
    return list(found.values())


# -- the capture ---------------------------------------------------------------------------------


@dataclass
class Capture:
    """What one capture did: the windows it added (none when the captures had reached `until`)."""

    until: datetime
    windows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(w["records"] for w in self.windows)

    def summary(self) -> dict[str, Any]:
        return {"until": self.until, "windows": len(self.windows), "records": self.records,
                "backfilled": any(w["method"] == "backfilled" for w in self.windows),
                "captured_from": self.windows[0]["captured_from"] if self.windows else None}


def _day_start(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time.min, tzinfo=UTC)


def _steps(start: datetime, end: datetime, days: int) -> Iterator[tuple[datetime, datetime]]:
    while start < end:
        stop = min(end, start + timedelta(days=days))
        yield start, stop
        start = stop


def capture(conn: psycopg.Connection, register: TransferRegister, *, register_sha256: str, until: datetime,
            run_id: str, seed: int) -> Capture:
    """Capture every transfer recorded before `until` that no earlier capture saw. Idempotent: a
    rerun with the same `until` adds nothing. Each window commits with its aggregates, so a killed
    capture loses nothing and its rerun starts where it stopped. The first capture backfills from
    the oldest row still in the database. At most CAPTURE_STEP_DAYS per transaction."""
    until = until.astimezone(UTC)
    result = Capture(until=until)
    found = sources(register)
    reached = conn.execute(sql_text("transfers/last_window.sql")).fetchone()[0]
    if reached is not None:
        steps, method = list(_steps(reached, until, CAPTURE_STEP_DAYS)), "captured"
    else:
        oldest = [conn.execute(source.earliest_query()).fetchone()[0] for source in found]
        start = _day_start(min([moment for moment in oldest if moment is not None] + [until]))
        steps, method = list(_steps(start, until, CAPTURE_STEP_DAYS)), "backfilled"
    for captured_from, captured_to in steps:
        window = _capture_window(conn, found, captured_from, captured_to, method=method, run_id=run_id,
                                 register_sha256=register_sha256, seed=seed)
        if window:
            result.windows.append(window)
            log.info("captured transfers %s to %s (%s): %d records", f"{captured_from:%Y-%m-%d %H:%M:%S}",
                     f"{captured_to:%Y-%m-%d %H:%M:%S} UTC", method, window["records"])
    return result


def _capture_window(conn: psycopg.Connection, found: list[Source], captured_from: datetime, captured_to: datetime,
                    *, method: str, run_id: str, register_sha256: str, seed: int) -> dict[str, Any] | None:
    with conn.transaction():
        conn.execute(sql_text("transfers/lock_windows.sql"))
        reached = conn.execute(sql_text("transfers/last_window.sql")).fetchone()[0]
        if reached is not None and reached > captured_from:  # another capture got here first
            return None
        params = {"captured_from": captured_from, "captured_to": captured_to, "sketch_seed": seed}
        rows = []
        for source in found:
            for day, seen, records, without_basis, sketch in conn.execute(source.query(), params):
                recipient, registered, countries, categories = source.attribute(seen)
                rows.append({"day": day, "recipient": recipient, "registered": registered,
                             "source_table": source.table, "countries": countries, "data_categories": categories,
                             "records": records, "records_without_basis": without_basis, "subject_sketch": sketch})
        total = sum(row["records"] for row in rows)
        window_id = conn.execute(sql_text("transfers/record_window.sql"), {
            "captured_from": captured_from, "captured_to": captured_to, "method": method, "run_id": run_id,
            "register_sha256": register_sha256, "records": total}).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(sql_text("transfers/record_daily.sql"), [{**row, "window_id": window_id} for row in rows])
    return {"window_id": window_id, "captured_from": captured_from, "captured_to": captured_to, "method": method,
            "records": total}


# -- the figures of a period --------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in whole UTC days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == _next_month(self.start)

    @property
    def label(self) -> str:
        """`2026-11` for a calendar month, `2026-11-01_2026-11-16` otherwise (end exclusive)."""
        return f"{self.start:%Y-%m}" if self.is_month else f"{self.start}_{self.end}"

    def previous(self) -> Period:
        """The period before: the month before a calendar month, or as many days just before."""
        if self.is_month:
            start = _next_month(self.start, -1)
            return Period(start, self.start)
        return Period(self.start - timedelta(days=self.days), self.start)

    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time.min, tzinfo=UTC), datetime.combine(self.end, time.min, tzinfo=UTC))


def _next_month(day: date, months: int = 1) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _parse_day(name: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidPeriod(f"{name}: {str(value)[:40]!r} is not an ISO date such as 2026-11-01") from None


def resolve_period(period_start: Any, period_end: Any, *, as_of: datetime) -> Period:
    """The period a run reports on: both dates given (end exclusive), or neither, which means the
    calendar month before `as_of` (the run's cutoff). A period that has not ended by `as_of`, or
    that ends before it starts, is refused: its counts would still change."""
    start, end = _parse_day("period_start", period_start), _parse_day("period_end", period_end)
    today = as_of.astimezone(UTC).date()
    if start is None and end is None:
        end = today.replace(day=1)
        return Period(_next_month(end, -1), end)
    if start is None or end is None:
        missing = "period_start" if start is None else "period_end"
        raise InvalidPeriod(f"{missing}: give both period_start and period_end, or neither (the previous month)")
    if end <= start:
        raise InvalidPeriod(f"period_end: {end} must be after period_start {start} (the end is exclusive)")
    if end > today:
        raise InvalidPeriod(f"period_end: {end} is later than the run's date {today}; a period is reported once "
                            "it is over")
    return Period(start, end)


@dataclass(frozen=True)
class Coverage:
    days: int
    captured: int
    backfilled: int
    missing: tuple[date, ...]

    def sentence(self) -> str:
        text = f"{self.captured} of {self.days} days captured"
        if self.backfilled:
            text += (f" ({self.backfilled} backfilled from what was still in the database at the first capture: "
                     "rows deleted before it are not counted)")
        return text


def coverage(conn: psycopg.Connection, period: Period) -> Coverage:
    rows = conn.execute(sql_text("transfers/coverage.sql"),
                        {"period_start": period.start, "period_end": period.end}).fetchall()
    return Coverage(days=len(rows), captured=sum(1 for _, covered, _ in rows if covered),
                    backfilled=sum(1 for _, covered, backfilled in rows if covered and backfilled),
                    missing=tuple(day for day, covered, _ in rows if not covered))


@dataclass(frozen=True)
class Volume:
    records: int
    subjects: int
    records_without_basis: int
    first_day: date
    last_day: date
    registered: bool


def volumes(conn: psycopg.Connection, period: Period) -> dict[tuple[str, str, str, str], Volume]:
    """(grain, recipient, country, data category) -> volume; grains: recipient_country, recipient,
    recipient_category, country and total ('' where a grain has no such part)."""
    rows = conn.execute(sql_text("transfers/volumes.sql"), {"period_start": period.start, "period_end": period.end})
    return {(grain, name, place, category): Volume(records, estimate_subjects(filled, inverse_sum), without_basis,
                                                   first_day, last_day, registered)
            for grain, name, place, category, registered, records, without_basis, first_day, last_day, filled,
            inverse_sum in rows}


def transfer_days(conn: psycopg.Connection, since: date, period_end: date) -> dict[tuple[str, str], tuple[date, date]]:
    """(recipient, country) -> (first day, last day) with a transfer in [since, period_end)."""
    rows = conn.execute(sql_text("transfers/days_with_transfers.sql"), {"since": since, "period_end": period_end})
    return {(recipient, country): (first, last) for recipient, country, first, last in rows}
