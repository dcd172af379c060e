"""Deadlines: the end of the 10th business day after the day of receipt, local time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.core.deadlines import BusinessCalendar, calendar_deadline

NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")

# hand-checked against a 2026/2027 wall calendar and the US federal holiday list
CASES = [
    # received (local NY)          deadline day   why
    (datetime(2026, 11, 25, 10, 0, tzinfo=NY), date(2026, 12, 10), "Thanksgiving 11-26 skipped"),
    (datetime(2026, 11, 28, 12, 0, tzinfo=NY), date(2026, 12, 11), "Saturday: count from Monday"),
    (datetime(2026, 11, 23, 9, 0, tzinfo=NY), date(2026, 12, 8), "Monday, Thanksgiving inside"),
    (datetime(2026, 12, 21, 9, 0, tzinfo=NY), date(2027, 1, 6), "Christmas and New Year"),
    (datetime(2026, 11, 29, 23, 59, tzinfo=NY), date(2026, 12, 11), "Sunday night"),
    (datetime(2027, 1, 15, 8, 0, tzinfo=NY), date(2027, 2, 1), "MLK day 1-18 skipped"),
]


@pytest.mark.parametrize(("received", "due", "why"), CASES)
def test_deadline_is_end_of_tenth_business_day(received: datetime, due: date, why: str) -> None:
    cal = BusinessCalendar("US", None, "America/New_York")
    deadline = cal.deadline(received)
    assert deadline.astimezone(NY).date() == due, why
    assert deadline.astimezone(NY).time().hour == 23
    assert deadline.tzinfo is not None


def test_wednesday_before_thanksgiving_is_due_december_10() -> None:
    cal = BusinessCalendar()
    deadline = cal.deadline(datetime.fromisoformat("2026-11-25T10:00:00-05:00"))
    assert deadline.astimezone(NY).isoformat(timespec="seconds") == "2026-12-10T23:59:59-05:00"


def test_late_friday_in_los_angeles_counts_as_friday_there() -> None:
    cal = BusinessCalendar("US", None, "America/Los_Angeles")
    received = datetime(2026, 12, 4, 23, 30, tzinfo=LA)  # already Saturday in UTC
    assert received.astimezone(UTC).weekday() == 5
    deadline = cal.deadline(received)
    assert deadline.astimezone(LA).date() == date(2026, 12, 18)
    assert deadline == datetime(2026, 12, 19, 7, 59, 59, 999999, tzinfo=UTC)


def test_the_configured_timezone_decides_the_day_of_receipt() -> None:
    received = datetime(2026, 12, 3, 23, 30, tzinfo=LA)  # Thursday in LA, Friday in NY
    la = BusinessCalendar("US", None, "America/Los_Angeles").deadline(received)
    ny = BusinessCalendar("US", None, "America/New_York").deadline(received)
    assert la.astimezone(LA).date() == date(2026, 12, 17)
    assert ny.astimezone(NY).date() == date(2026, 12, 18)


def test_subdivision_holidays_count() -> None:
    # Cesar Chavez Day (March 31) is a California state holiday, not a federal one
    received = datetime(2027, 3, 26, 12, 0, tzinfo=LA)  # Friday
    ca = BusinessCalendar("US", "CA", "America/Los_Angeles")
    us = BusinessCalendar("US", None, "America/Los_Angeles")
    assert not ca.is_business_day(date(2027, 3, 31))
    assert ca.deadline(received).astimezone(LA).date() == date(2027, 4, 12)
    assert us.deadline(received).astimezone(LA).date() == date(2027, 4, 9)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        BusinessCalendar().deadline(datetime(2026, 11, 25, 10, 0))


def test_warning_starts_two_business_days_before_the_deadline_day() -> None:
    cal = BusinessCalendar()
    deadline = cal.deadline(datetime(2026, 11, 25, 10, 0, tzinfo=NY))  # Thu 12-10
    warn = cal.warn_at(deadline, 2)
    assert warn.astimezone(NY) == datetime(2026, 12, 8, 0, 0, tzinfo=NY)


def test_business_days_between_counts_after_start_day() -> None:
    cal = BusinessCalendar()
    start = datetime(2026, 11, 25, 10, 0, tzinfo=NY)
    assert cal.business_days_between(start, datetime(2026, 12, 10, 12, 0, tzinfo=NY)) == 10
    assert cal.business_days_between(datetime(2026, 12, 10, 12, 0, tzinfo=NY), start) == -10


def test_privacy_deadline_counts_calendar_days() -> None:
    due = calendar_deadline(datetime(2026, 11, 25, 10, 0, tzinfo=NY), 45, NY)
    assert due.astimezone(NY).date() == date(2027, 1, 9)


# -- the calendar, year by year (stored years: worker.store.calendar) -------------------

COUNTRIES = [("US", None), ("US", "CA"), ("GB", None), ("DE", "BY"), ("FR", None),
             ("JP", None), ("BR", None), ("NL", None)]  # fmt: skip


@pytest.mark.parametrize(("country", "subdivision"), COUNTRIES)
def test_a_year_of_the_library_holds_only_its_own_days(
    country: str, subdivision: str | None
) -> None:
    # what makes a year storable on its own: observed days that fall in another year
    # (New Year's Day on a Saturday, observed on 31 December) are in that year's
    cal = BusinessCalendar(country, subdivision)
    for year in range(1995, 2061):
        days = cal.library_holidays(year)
        assert all(day.year == year for day in days), (country, year)


@pytest.mark.parametrize(("country", "subdivision"), COUNTRIES)
def test_year_by_year_answers_as_the_library_s_own_calendar(
    country: str, subdivision: str | None
) -> None:
    import holidays

    theirs = holidays.country_holidays(country, subdiv=subdivision)
    ours = BusinessCalendar(country, subdivision)
    day = date(2019, 12, 1)
    while day < date(2031, 2, 1):
        assert (day in theirs) == (ours.holiday_name(day) is not None), day
        assert ours.is_business_day(day) == (day.weekday() < 5 and day not in theirs), day
        day = date.fromordinal(day.toordinal() + 1)


def test_a_preloaded_year_is_not_built_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cal = BusinessCalendar("US", None, "America/New_York")
    stored = cal.library_holidays(2026)
    stored[date(2026, 12, 9)] = "a stored day off"  # proves the stored year is the one used
    cal.preload(2026, stored)
    built: list[int] = []
    real = cal.library_holidays
    monkeypatch.setattr(cal, "library_holidays", lambda y: built.append(y) or real(y))
    deadline = cal.deadline(datetime(2026, 11, 25, 10, 0, tzinfo=NY))
    assert deadline.astimezone(NY).date() == date(2026, 12, 11)  # one day later than CASES
    assert cal.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert built == []
    assert cal.loaded_years == frozenset({2026})
    cal.preload(2026, {})  # a year already in hand stays as it is
    assert cal.holiday_name(date(2026, 12, 9)) == "a stored day off"
    assert cal.is_business_day(date(2027, 1, 1)) is False  # 2027 is built on first use
    assert built == [2027]
