"""Business days and calendar months (SPEC §5 payout dates, §7 reopening)."""

from datetime import date

import pytest

from domain.calendar import add_business_days, add_months, is_business_day, window

NO_HOLIDAYS: frozenset[date] = frozenset()
MAY_DAY = frozenset({date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5)})


def test_weekdays_are_business_days_and_weekends_are_not() -> None:
    friday, saturday, sunday = date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8)

    assert is_business_day(friday, NO_HOLIDAYS)
    assert not is_business_day(saturday, NO_HOLIDAYS)
    assert not is_business_day(sunday, NO_HOLIDAYS)


def test_a_configured_holiday_is_not_a_business_day() -> None:
    assert not is_business_day(date(2026, 5, 4), MAY_DAY)
    assert is_business_day(date(2026, 5, 4), NO_HOLIDAYS)


@pytest.mark.parametrize(("start", "days", "expected"), [
    (date(2026, 3, 2), 0, date(2026, 3, 2)),
    (date(2026, 3, 2), 3, date(2026, 3, 5)),
    (date(2026, 3, 5), 3, date(2026, 3, 10)),  # Thursday + 3 skips the weekend
    (date(2026, 3, 7), 1, date(2026, 3, 9)),  # from a Saturday
])
def test_business_days_skip_weekends(start: date, days: int, expected: date) -> None:
    result = add_business_days(start, days, NO_HOLIDAYS)

    assert result == expected


def test_business_days_skip_configured_holidays() -> None:
    start = date(2026, 4, 30)  # Thursday; 1 May Friday, 4–5 May Monday–Tuesday off

    result = add_business_days(start, 2, MAY_DAY)

    assert result == date(2026, 5, 7)


def test_a_window_gives_the_earliest_and_latest_day() -> None:
    result = window(date(2026, 4, 30), (3, 5), MAY_DAY)

    assert result == (date(2026, 5, 8), date(2026, 5, 12))


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2023, 8, 31), 6, date(2024, 2, 29)),  # leap year
    (date(2026, 3, 31), 6, date(2026, 9, 30)),
    (date(2026, 1, 15), 6, date(2026, 7, 15)),
    (date(2026, 9, 30), 6, date(2027, 3, 30)),
    (date(2026, 12, 31), 2, date(2027, 2, 28)),
])
def test_adding_months_keeps_the_day_or_clamps_to_the_month_end(start: date, months: int,
                                                                 expected: date) -> None:
    result = add_months(start, months)

    assert result == expected
