"""Business days: weekends and the configured holidays are not counted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def is_business_day(day: date, holidays: Iterable[date]) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and day not in set(holidays)


def add_business_days(start: date, days: int, holidays: frozenset[date]) -> date:
    """The business day `days` business days after `start` (start itself is not counted)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            remaining -= 1
    return day


def window(start: date, bounds: tuple[int, int], holidays: frozenset[date]) -> tuple[date, date]:
    """Earliest and latest date of a 'N–M business days' promise."""
    return (add_business_days(start, bounds[0], holidays),
            add_business_days(start, bounds[1], holidays))


def add_months(moment_date: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    month_index = moment_date.month - 1 + months
    year, month = moment_date.year + month_index // 12, month_index % 12 + 1
    for day in range(moment_date.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(moment_date.day, 28))
