"""The holiday calendar's years stored in the database (``holiday_years``): a process reads
them instead of building the library's calendar (0.1 s of CPU at every `optout poll`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.conftest import EXAMPLE
from worker.bootstrap import migrate_database, policy_from
from worker.config import Settings, load_settings
from worker.core.clock import FixedClock
from worker.core.deadlines import BusinessCalendar
from worker.service import OptoutService
from worker.store import calendar as stored
from worker.store.db import create_db_engine
from worker.store.models import HolidayYear
from worker.store.repo import Store

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _no_library(monkeypatch: pytest.MonkeyPatch, cal: BusinessCalendar) -> list[int]:
    built: list[int] = []

    def build(year: int) -> dict[date, str]:
        built.append(year)
        raise AssertionError(f"the library's calendar was built for {year}")

    monkeypatch.setattr(cal, "library_holidays", build)
    return built


def _rows(store: Store) -> list[tuple[str, str, int, str]]:
    t = HolidayYear
    with store.transaction() as tx:
        q = select(t.country, t.subdivision, t.year, t.library_version).order_by(t.year)
        return [tuple(r) for r in tx.session.execute(q)]  # type: ignore[misc]


def test_the_first_process_stores_the_years_the_next_reads_them(
    service: OptoutService, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.warm_up()  # the clock's year is 2026
    version = service.policy.calendar.library_version
    assert _rows(service.store) == [("US", "", y, version) for y in (2025, 2026, 2027)]
    # the next process: a new calendar, and the library is not to be asked
    nxt = OptoutService(service.store, policy_from(settings), FixedClock(NOW))
    built = _no_library(monkeypatch, nxt.policy.calendar)
    nxt.warm_up()
    assert built == []
    assert nxt.policy.calendar.loaded_years == frozenset({2025, 2026, 2027})
    # and the deadlines are the library's (Thanksgiving, Christmas, New Year's Day)
    first = service.policy.calendar
    second = nxt.policy.calendar
    for day in (date(2026, 11, 26), date(2026, 12, 25), date(2027, 1, 1), date(2025, 7, 4)):
        assert second.holiday_name(day) == first.holiday_name(day) is not None
    received = datetime(2026, 12, 21, 14, 0, tzinfo=UTC)
    assert second.deadline(received) == BusinessCalendar().deadline(received)


def test_a_year_computed_by_another_library_release_is_computed_again(
    service: OptoutService, settings: Settings
) -> None:
    service.warm_up()
    with service.store.transaction() as tx:
        tx.session.execute(
            update(HolidayYear)
            .where(HolidayYear.year == 2026)
            .values(library_version="0.1", days={"2026-03-03": "an old release's day"})
        )
    nxt = OptoutService(service.store, policy_from(settings), FixedClock(NOW))
    nxt.warm_up()
    cal = nxt.policy.calendar
    assert cal.holiday_name(date(2026, 3, 3)) is None  # not the outdated row's
    assert cal.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert {r[3] for r in _rows(service.store)} == {cal.library_version}  # replaced


def test_a_calendar_is_stored_under_its_country_and_subdivision(
    service: OptoutService, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.warm_up()  # US, national
    ca = BusinessCalendar("US", "CA", "America/Los_Angeles")
    with service.store.transaction() as tx:
        assert stored.load_years(tx, ca, [2026]) == {}
        stored.save_years(tx, ca, {2026: ca.library_holidays(2026)}, NOW)
    with service.store.transaction() as tx:
        found = stored.load_years(tx, ca, [2025, 2026])
    assert list(found) == [2026]
    assert found[2026][date(2026, 3, 31)] == "Cesar Chavez Day"  # California's, not federal
    assert date(2026, 3, 31) not in service.policy.calendar.library_holidays(2026)


def test_a_calendar_that_cannot_be_stored_is_still_used(
    service: OptoutService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise RuntimeError("read-only database")

    monkeypatch.setattr(stored, "save_years", refuse)
    service.warm_up()
    assert service.policy.calendar.loaded_years == frozenset({2025, 2026, 2027})
    assert _rows(service.store) == []


def test_migrate_stores_the_configured_calendar(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optout.db'}"
    text = EXAMPLE.read_text().replace('url = "sqlite:///var/optout.db"', f'url = "{url}"')
    (tmp_path / "optout.toml").write_text(text)
    migrate_database(load_settings(tmp_path / "optout.toml"))
    store = Store(create_db_engine(url))
    try:
        with store.transaction() as tx:
            years = tx.session.execute(select(func.count()).select_from(HolidayYear)).scalar()
        assert years == 3
    finally:
        store.dispose()
