"""The transfer report's periods, 152-FZ lawful dates and subject estimates, without a database."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from governance.register import load_jurisdictions, load_transfer_register
from governance.transfer_report import RussianCalendar, lawful_from
from governance.transfers import (
    SKETCH_PRECISION,
    SKETCH_REGISTERS,
    SKETCH_STANDARD_ERROR,
    InvalidPeriod,
    Period,
    estimate_subjects,
    resolve_period,
)

AS_OF = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_no_dates_mean_the_previous_calendar_month():
    assert resolve_period(None, "", as_of=AS_OF) == Period(date(2026, 11, 1), date(2026, 12, 1))
    assert resolve_period(None, None, as_of=datetime(2027, 1, 1, tzinfo=UTC)) == Period(date(2026, 12, 1),
                                                                                          date(2027, 1, 1))


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-11-01", "2026-12-02", "period_end: 2026-12-02 is later than the run's date 2026-12-01"),
        ("2026-11-10", "2026-11-01", "period_end: 2026-11-01 must be after period_start 2026-11-10"),
        ("2026-11-10", "2026-11-10", "period_end: 2026-11-10 must be after period_start"),
        ("2026-13-01", "2026-12-01", "period_start: '2026-13-01' is not an ISO date"),
        ("yesterday", "2026-12-01", "period_start: 'yesterday' is not an ISO date"),
        ("2026-11-01", None, "period_end: give both period_start and period_end, or neither"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(start, end, message):
    with pytest.raises(InvalidPeriod, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        resolve_period(start, end, as_of=AS_OF)


def test_labels_and_previous_periods():
    month = Period(date(2026, 1, 1), date(2026, 2, 1))
    assert month.label == "2026-01"
    assert month.previous() == Period(date(2025, 12, 1), date(2026, 1, 1))
    days = Period(date(2026, 11, 10), date(2026, 11, 20))
    assert days.label == "2026-11-10_2026-11-20"
    assert days.previous() == Period(date(2026, 10, 31), date(2026, 11, 10))


def test_lawful_date_is_filing_plus_ten_russian_working_days_for_a_country_that_is_not_adequate():
    """Filed on Friday 2026-10-30: the working days skip weekends and 4 November (a holiday), so the
    tenth is Monday 16 November and transfers may start on the 17th. Adequate countries: the filing day."""
    register, lists = load_transfer_register().model, load_jurisdictions().model
    calendar = RussianCalendar(frozenset({date(2026, 11, 4)}), UTC)
    openai = register.recipient("openai").model_copy(deep=True)
    notification = openai.ru_152fz.notification.model_copy(update={"date": date(2026, 10, 30)})
    openai = openai.model_copy(update={"ru_152fz": openai.ru_152fz.model_copy(update={"notification": notification})})
    us = openai.destination("US")
    assert lawful_from(openai, us, lists, calendar) == date(2026, 11, 17)
    gb = us.model_copy(update={"country": "GB"})
    assert lawful_from(openai, gb, lists, calendar) == date(2026, 10, 30)
    pinned = us.model_copy(update={"lawful_from": date(2026, 12, 24)})
    assert lawful_from(openai, pinned, lists, calendar) == date(2026, 12, 24)


def _sketch(subjects: range) -> tuple[int, float]:
    """A HyperLogLog sketch built as capture_source.sql builds one from a 64-bit hash: the top 14 bits
    pick the register, the rank is 1 + the trailing zeros of the other 50 (51 when they are all 0)."""
    registers = [0] * SKETCH_REGISTERS
    rng = random.Random(7)
    low = (1 << (64 - SKETCH_PRECISION)) - 1
    for _ in subjects:
        h = rng.getrandbits(64)
        rest = h & low
        rank = (rest & -rest).bit_length() if rest else 64 - SKETCH_PRECISION + 1
        registers[h >> (64 - SKETCH_PRECISION)] = max(registers[h >> (64 - SKETCH_PRECISION)], rank)
    filled = [r for r in registers if r]
    return len(filled), sum(2.0 ** -r for r in filled)


@pytest.mark.parametrize("count", [0, 1, 40, 5_000, 200_000])
def test_subject_estimate_is_within_three_standard_errors(count):
    estimate = estimate_subjects(*_sketch(range(count)))
    assert abs(estimate - count) <= max(1, 3 * SKETCH_STANDARD_ERROR * count), (estimate, count)
