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
