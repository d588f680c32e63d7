"""Calendar months as the privacy policy counts them: same day and time n months later in UTC,
clamped to the last day of a shorter month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from consentd.domain.months import add_months


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (at(2026, 3, 15), 12, at(2027, 3, 15)),
        (at(2026, 11, 30), 1, at(2026, 12, 30)),
        (at(2026, 12, 31), 1, at(2027, 1, 31)),
        (at(2026, 6, 10), 6, at(2026, 12, 10)),
        (at(2026, 7, 10), 6, at(2027, 1, 10)),
        (at(2026, 1, 31), 0, at(2026, 1, 31)),
    ],
    ids=["plain-year", "plain-month", "year-rollover", "six-months", "six-months-rollover", "zero"],
)
def test_same_day_and_time_n_months_later(start: datetime, months: int, end: datetime) -> None:
    """When the day exists in the target month, only the month (and year) move."""
    assert add_months(start, months) == end


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (at(2027, 1, 31), 1, at(2027, 2, 28)),
        (at(2028, 1, 31), 1, at(2028, 2, 29)),
        (at(2028, 2, 29), 12, at(2029, 2, 28)),
        (at(2026, 3, 31), 6, at(2026, 9, 30)),
        (at(2026, 8, 30), 6, at(2027, 2, 28)),
        (at(2026, 5, 31), 1, at(2026, 6, 30)),
        (at(2027, 2, 28), 12, at(2028, 2, 28)),
    ],
    ids=["jan31-feb", "jan31-leap-feb", "leap-day", "mar31-sep", "aug30-feb", "may31-jun", "feb28"],
)
def test_days_29_to_31_clamp_to_the_last_day(start: datetime, months: int, end: datetime) -> None:
    """A day the target month lacks becomes its last day: the period is shorter, never longer."""
    assert add_months(start, months) == end


def test_never_longer_than_the_calendar_span() -> None:
    """For every day of a leap year, 12 months later is at most 366 days later and keeps time."""
    day = at(2028, 1, 1)
    while day.year == 2028:
        later = add_months(day, 12)
        assert later - day <= timedelta(days=366)
        assert later.time() == day.time()
        assert later.month == day.month
        day += timedelta(days=1)


def test_counts_in_utc_whatever_the_offset_given() -> None:
    """An instant given with an offset is counted in UTC (here 31 Jan 23:30 UTC, not 1 Feb)."""
    paris = timezone(timedelta(hours=1))
    result = add_months(datetime(2027, 2, 1, 0, 30, tzinfo=paris), 1)
    assert result == datetime(2027, 2, 28, 23, 30, tzinfo=UTC)
    assert result.tzinfo is UTC


def test_refuses_naive_times_and_negative_counts() -> None:
    """A naive datetime or a negative count is a programming error."""
    with pytest.raises(ValueError, match="aware"):
        add_months(datetime(2026, 1, 1), 1)
    with pytest.raises(ValueError, match="negative"):
        add_months(at(2026, 1, 1), -1)
