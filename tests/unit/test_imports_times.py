"""CSV rows and typed times: bad input is reported precisely and never half-parsed."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.core.categories import Categories, Kind
from worker.core.imports import ImportRow, RowError, check_header, parse_row
from worker.core.stats import percentile
from worker.core.times import iso, parse_time
from worker.errors import InvalidTime, UserError

NY = ZoneInfo("America/New_York")
CATS = Categories.from_kinds({"account": Kind.TRANSACTIONAL, "newsletter": Kind.PROMOTIONAL})
HEADER = ["email", "category", "since", "note"]


def row(**values: str) -> dict[str, str | None]:
    return {h: values.get(h, "") for h in HEADER}


def test_a_good_row_is_normalised() -> None:
    got = parse_row(2, row(email="A@Example.com", category="newsletter"), HEADER, CATS, NY)
    assert got == ImportRow(2, "a@example.com", "newsletter", None, None)


def test_scope_defaults_to_all_promotional() -> None:
    got = parse_row(2, row(email="a@example.com"), HEADER, CATS, NY)
    assert isinstance(got, ImportRow)
    assert got.scope == "all"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"email": "nope"}, "not a valid email address"),
        ({"email": "a@example.com", "category": "account"}, "transactional"),
        ({"email": "a@example.com", "category": "nosuch"}, "unknown category"),
        ({"email": "a@example.com", "since": "yesterday"}, "invalid time"),
    ],
)
def test_bad_rows_name_their_problem(values: dict[str, str], message: str) -> None:
    got = parse_row(7, row(**values), HEADER, CATS, NY)
    assert isinstance(got, RowError)
    assert got.line == 7
    assert message in got.message


def test_surplus_fields_are_a_row_error() -> None:
    values: dict[str | None, str | None] = {"email": "a@example.com", None: "x"}  # type: ignore[assignment]
    got = parse_row(3, values, HEADER, CATS, NY)  # type: ignore[arg-type]
    assert isinstance(got, RowError)


def test_header_needs_an_address_column() -> None:
    check_header(["Email"])
    with pytest.raises(UserError, match="no address column"):
        check_header(["name", "phone"])
    with pytest.raises(UserError, match="empty"):
        check_header(None)


def test_parse_time_forms() -> None:
    assert parse_time("2026-11-25T10:00:00-05:00", NY) == datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert parse_time("2026-11-25T10:00:00", NY) == datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert parse_time("2026-11-25", NY) == datetime(2026, 11, 25, 5, tzinfo=UTC)
    assert parse_time("2026-11-25T15:00:00Z", NY) == datetime(2026, 11, 25, 15, tzinfo=UTC)
    now = datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert parse_time("7d", NY, now=now) == datetime(2026, 11, 18, 15, tzinfo=UTC)
    assert parse_time("24h", NY, now=now) == datetime(2026, 11, 24, 15, tzinfo=UTC)
    with pytest.raises(InvalidTime, match="ISO 8601"):
        parse_time("7d", NY)
    with pytest.raises(InvalidTime):
        parse_time("soon", NY, now=now)


def test_iso_truncates_to_seconds_in_the_given_zone() -> None:
    at = datetime(2026, 12, 11, 4, 59, 59, 999999, tzinfo=UTC)
    assert iso(at) == "2026-12-11T04:59:59Z"
    assert iso(at, NY) == "2026-12-10T23:59:59-05:00"
    assert iso(None) is None


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([5.0], 99) == 5.0
