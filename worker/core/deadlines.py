"""Business-day deadlines for opt-out and privacy requests.

CAN-SPAM gives 10 business days from receipt. We count from the *day* of receipt in the
configured timezone, because a request that arrives at 23:30 in New York on a Friday
arrived on Friday for the sender, whatever UTC says. The deadline is the end of the
N-th business day after that day; weekends and the configured holiday calendar do not
count. The calendar object is built once from the config and passed around.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib

_END_OF_DAY = time(23, 59, 59, 999999)


class BusinessCalendar:
    def __init__(
        self,
        country: str = "US",
        subdivision: str | None = None,
        timezone: str = "America/New_York",
        weekend: frozenset[int] = frozenset({5, 6}),
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.country = country
        self.subdivision = subdivision
        self.weekend = weekend
        #: the holidays of every year in ``_years``, by day
        self._days: dict[date, str] = {}
        self._years: set[int] = set()
        self._added: dict[tuple[date, int], date] = {}

    @property
    def library_version(self) -> str:
        """The holidays library's version: a stored year is only used with the version
        that computed it (a release corrects and adds holidays)."""
        return str(getattr(holidays_lib, "__version__", ""))

    @property
    def loaded_years(self) -> frozenset[int]:
        return frozenset(self._years)

    def library_holidays(self, year: int) -> dict[date, str]:
        """The holidays of ``year`` as the library computes them: a day of that year and
        its name (names joined by "; " where two fall on one day).

        Building the library's calendar costs 0.07-0.1 s of CPU (it imports the
        country's module and its calendars), so a process that has the year stored
        (see :meth:`preload`, ``worker.store.calendar``) skips it. One year at a time,
        as the library itself extends its calendar when asked about a day: its
        calendar of a year holds only days of that year, observed days included (New
        Year's Day 2022 observed on 31 December 2021 is in 2021's), which
        ``test_deadlines`` checks for 8 calendars (two with a subdivision), 1995-2060.
        """
        found = holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=year)
        return {day: str(name) for day, name in found.items()}

    def preload(self, year: int, days: dict[date, str]) -> None:
        """Take ``days`` as the holidays of ``year`` (what :meth:`library_holidays`
        gave for it, stored); a year never preloaded is computed on first use."""
        if year in self._years:
            return
        # the days first: a thread that finds the year listed finds its days
        self._days.update(days)  # a year's days are its own: no other year's are replaced
        self._years.add(year)

    def _year(self, year: int) -> None:
        if year not in self._years:
            self.preload(year, self.library_holidays(year))

    def is_business_day(self, day: date) -> bool:
        if day.weekday() in self.weekend:
            return False
        if day.year not in self._years:
            self._year(day.year)
        return day not in self._days

    def holiday_name(self, day: date) -> str | None:
        self._year(day.year)
        return self._days.get(day)

    def local_day(self, at: datetime) -> date:
        return _aware(at).astimezone(self.tz).date()

    def add_business_days(self, day: date, n: int) -> date:
        """The n-th business day after ``day`` (n ≥ 0; n = 0 gives ``day`` itself)."""
        key = (day, n)
        if key not in self._added:  # imports ask for the same few days 100,000 times
            self._added[key] = self._add(day, n)
        return self._added[key]

    def _add(self, day: date, n: int) -> date:
        current = day
        remaining = n
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return current

    def subtract_business_days(self, day: date, n: int) -> date:
        current = day
        remaining = n
        while remaining > 0:
            current -= timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return current

    def end_of_day(self, day: date) -> datetime:
        return datetime.combine(day, _END_OF_DAY, tzinfo=self.tz).astimezone(UTC)

    def start_of_day(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def deadline(self, received_at: datetime, business_days: int = 10) -> datetime:
        """End of the ``business_days``-th business day after the day of receipt (UTC)."""
        due = self.add_business_days(self.local_day(received_at), business_days)
        return self.end_of_day(due)

    def warn_at(self, deadline: datetime, before_business_days: int) -> datetime:
        """When an unapplied request starts to need attention.

        From the start of the day that is ``before_business_days`` business days before
        the deadline's day: with 2, a Thursday deadline warns from Tuesday 00:00.
        """
        due_day = self.local_day(deadline)
        return self.start_of_day(self.subtract_business_days(due_day, before_business_days))

    def business_days_between(self, start: datetime, end: datetime) -> int:
        """Business days strictly after ``start``'s day up to and including ``end``'s day."""
        a, b = self.local_day(start), self.local_day(end)
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        count = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_business_day(day):
                count += 1
        return sign * count


def calendar_deadline(received_at: datetime, days: int, tz: ZoneInfo) -> datetime:
    """End of the day ``days`` calendar days after receipt: privacy law counts days, not
    business days (GDPR: one month, CCPA: 45 days)."""
    local = _aware(received_at).astimezone(tz).date() + timedelta(days=days)
    return datetime.combine(local, _END_OF_DAY, tzinfo=tz).astimezone(UTC)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware time")
    return at
