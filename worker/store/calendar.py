"""Stored years of holiday calendars (``holiday_years``, see ``models.HolidayYear``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select

from worker.core.deadlines import BusinessCalendar
from worker.store.models import HolidayYear
from worker.store.repo import Tx


def load_years(
    tx: Tx, calendar: BusinessCalendar, years: Iterable[int]
) -> dict[int, dict[date, str]]:
    """The stored years of ``calendar`` among ``years``, computed by the library release
    installed now (a year another release computed is not among them)."""
    t = HolidayYear
    q = select(t.year, t.days).where(
        t.country == calendar.country,
        t.subdivision == (calendar.subdivision or ""),
        t.year.in_(list(years)),
        t.library_version == calendar.library_version,
    )
    return {
        int(year): {date.fromisoformat(day): str(name) for day, name in days.items()}
        for year, days in tx.session.execute(q)
    }


def save_years(
    tx: Tx, calendar: BusinessCalendar, found: dict[int, dict[date, str]], now: datetime
) -> None:
    """Store (or replace) years of ``calendar`` as :meth:`BusinessCalendar.library_holidays`
    gave them."""
    if not found:
        return
    table = HolidayYear.__table__
    rows = [
        {
            "country": calendar.country,
            "subdivision": calendar.subdivision or "",
            "year": year,
            "library_version": calendar.library_version,
            "days": {day.isoformat(): name for day, name in sorted(days.items())},
            "computed_at": now,
        }
        for year, days in sorted(found.items())
    ]
    stmt = tx._insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.country, table.c.subdivision, table.c.year],
        set_={
            "library_version": stmt.excluded.library_version,
            "days": stmt.excluded.days,
            "computed_at": stmt.excluded.computed_at,
        },
    )
    tx.session.connection().execute(stmt, rows)
