"""Parsing of suppression-list rows (CSV import), pure so every rule is unit-tested.

Bad rows are reported by line number and skipped; the good rows still go in. An
operator importing a list from an old ESP should not lose 99,999 rows to one typo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from worker.core.addresses import normalise
from worker.core.categories import Categories
from worker.core.times import parse_time
from worker.errors import UserError

ADDRESS_COLUMNS = ("address", "email", "email_address")
SCOPE_COLUMNS = ("scope", "category")
TIME_COLUMNS = ("received_at", "since", "date", "opted_out_at")
NOTE_COLUMNS = ("note", "reason", "comment")


@dataclass(frozen=True)
class ImportRow:
    line: int
    address: str
    scope: str
    received_at: datetime | None
    note: str | None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def find_column(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def check_header(header: list[str] | None) -> None:
    if not header:
        raise UserError("the CSV file is empty; it needs a header row with an 'address' column")
    if find_column(header, ADDRESS_COLUMNS) is None:
        raise UserError(
            f"the CSV header has no address column (one of {', '.join(ADDRESS_COLUMNS)}); "
            f"found: {', '.join(header)}"
        )


def parse_row(
    line: int,
    row: Mapping[str, str | None],
    header: list[str],
    categories: Categories,
    tz: ZoneInfo,
) -> ImportRow | RowError:
    if None in row:  # csv.DictReader puts surplus fields under the None key
        return RowError(line, "more fields than the header has")
    values = {k: (v or "").strip() for k, v in row.items() if k is not None}
    col = find_column(header, ADDRESS_COLUMNS)
    assert col is not None
    try:
        address = normalise(values.get(col, ""))
        scope_col = find_column(header, SCOPE_COLUMNS)
        scope = categories.opt_out_scope((values.get(scope_col, "") if scope_col else "") or "all")
        time_col = find_column(header, TIME_COLUMNS)
        raw_time = values.get(time_col, "") if time_col else ""
        received = parse_time(raw_time, tz) if raw_time else None
    except UserError as exc:
        return RowError(line, exc.message)
    note_col = find_column(header, NOTE_COLUMNS)
    note = (values.get(note_col) or None) if note_col else None
    return ImportRow(line, address, scope, received, note)
