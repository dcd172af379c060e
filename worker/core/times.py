"""Times typed by people: ISO 8601 stamps, dates, and "7d"-style look-backs."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from worker.errors import InvalidTime

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, tz: ZoneInfo, *, now: datetime | None = None) -> datetime:
    """Parse an ISO time or date (naive ones are in ``tz``) or, with ``now``, ``7d``/``24h``.

    A bare date means the start of that day in ``tz``: "since 2026-11-01" includes the
    whole first of November where the operator is.
    """
    value = text.strip()
    if not value:
        raise InvalidTime("empty")
    m = _RELATIVE.match(value)
    if m and now is not None:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        hint = " or a look-back like 7d" if now is not None else ""
        raise InvalidTime(
            f"{value!r} (use ISO 8601, e.g. 2026-11-25T10:00:00-05:00{hint})"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def iso(at: datetime | None, tz: tzinfo | None = None) -> str | None:
    """ISO 8601 to the second, in ``tz`` (default UTC, written ``Z``).

    Truncating, never rounding up, so a ``since`` taken from an export never skips a row.
    """
    if at is None:
        return None
    text = at.astimezone(tz or UTC).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if tz is None else text
