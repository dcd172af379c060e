"""Pure IMAP wire helpers: FETCH response parsing, INTERNALDATE, UID sets, mailbox names.

Kept apart from the network code so the fiddly parts — aioimaplib's response shape in
particular — are unit-tested without a server. aioimaplib 2.0.3 hands a FETCH back as a
flat list: ``b'1 FETCH (UID 1 RFC822.SIZE 46 BODY[] {46}'``, then the literal as a
``bytearray``, then ``b')'`` (or ``b' UID 1)'`` when the server puts UID last), and a
final completion line. Unsolicited FETCH responses (flag changes from another client)
can be interleaved; they are merged by UID or dropped when they carry none.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_LITERAL = re.compile(rb"\{(\d+)\}$")
_INTERNALDATE = re.compile(
    r"^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$"
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
    )
}


@dataclass
class FetchData:
    """What one FETCH response said about one UID; absent attributes stay None."""

    uid: int
    size: int | None = None
    internaldate: datetime | None = None
    literal: bytes | None = None


def parse_fetch(lines: Sequence[bytes | bytearray]) -> dict[int, FetchData]:
    """Map UID → attributes, from aioimaplib's FETCH response lines."""
    records: dict[int, FetchData] = {}
    current: dict[str, object] | None = None
    expect_literal = False

    def finish() -> None:
        if current is None or not isinstance(current.get("uid"), int):
            return
        uid = current["uid"]
        assert isinstance(uid, int)
        rec = records.setdefault(uid, FetchData(uid))
        for attr in ("size", "internaldate", "literal"):
            value = current.get(attr)
            if value is not None:
                setattr(rec, attr, value)

    for line in lines:
        if isinstance(line, bytearray):
            if current is not None and expect_literal:
                current["literal"] = bytes(line)
                expect_literal = False
            continue
        if _FETCH_START.match(line):
            finish()
            current, expect_literal = {}, False
        elif current is None:
            continue
        if expect_literal:  # a zero-length literal produces no bytearray line at all
            current["literal"] = b""
            expect_literal = False
        if m := _UID.search(line):
            current["uid"] = int(m.group(1))
        if m := _SIZE.search(line):
            current["size"] = int(m.group(1))
        if m := _DATE.search(line):
            current["internaldate"] = parse_internaldate(m.group(1).decode("ascii"))
        if _LITERAL.search(line):
            expect_literal = True
    finish()
    return records


def parse_internaldate(text: str) -> datetime | None:
    """``"01-Mar-2024 17:00:00 -0500"`` → an aware datetime in UTC (locale-independent)."""
    m = _INTERNALDATE.match(text)
    if not m:
        return None
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
    local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=timezone(offset))
    return local.astimezone(UTC)


def parse_search(lines: Sequence[bytes | bytearray]) -> list[int]:
    """UIDs from a (UID) SEARCH response; the completion line is not a number list."""
    uids: list[int] = []
    for line in lines[:-1]:
        if isinstance(line, bytes) and re.fullmatch(rb"[\d ]+", line):
            uids.extend(int(x) for x in line.split())
    return uids


def uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 7, 9, 10]`` → ``"1:3,7,9:10"``: short commands for long backlogs."""
    ranges = _ranges(uids)
    if not ranges:
        raise ValueError("empty UID set")
    return ",".join(ranges)


def uid_sets(uids: Iterable[int], max_chars: int, max_count: int | None = None) -> list[str]:
    """Compact UID sets covering ``uids``, each at most ``max_chars`` long.

    A batch of scattered UIDs can make a set of many kilobytes; servers limit a command
    line (RFC 7162 §4 asks clients to stay under 8,192 octets), so a long set is split
    into several commands instead. ``max_count`` also caps the messages per set (each
    moved message costs one untagged ``EXPUNGE`` line in the response). A single range
    is never split by ``max_chars`` (it is at most 21 characters).
    """
    out: list[str] = []
    current: list[str] = []
    length = count = 0
    for part in _ranges(uids):
        first, _, last = part.partition(":")
        size = int(last) - int(first) + 1 if last else 1
        if max_count is not None and size > max_count:  # split a long range by count
            lo, hi = int(first), int(last)
            pieces = [(a, min(a + max_count - 1, hi)) for a in range(lo, hi + 1, max_count)]
        else:
            pieces = [(int(first), int(last or first))]
        for lo, hi in pieces:
            text = f"{lo}:{hi}" if hi != lo else str(lo)
            n = hi - lo + 1
            extra = len(text) + (1 if current else 0)
            if current and (
                length + extra > max_chars or (max_count is not None and count + n > max_count)
            ):
                out.append(",".join(current))
                current, length, count = [], 0, 0
                extra = len(text)
            current.append(text)
            length += extra
            count += n
    if current:
        out.append(",".join(current))
    return out


def uids_in(uid_set: str) -> set[int]:
    """The UIDs a set without ``*`` names: ``"1:3,7"`` → ``{1, 2, 3, 7}``."""
    out: set[int] = set()
    for part in uid_set.split(","):
        first, _, last = part.partition(":")
        lo, hi = sorted((int(first), int(last or first)))
        out.update(range(lo, hi + 1))
    return out


def _ranges(uids: Iterable[int]) -> list[str]:
    ordered = sorted(set(uids))
    if not ordered:
        return []
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return parts


def parse_delimiter(lines: Sequence[bytes | bytearray]) -> str | None:
    """The hierarchy delimiter from ``LIST "" ""`` (``(\\Noselect) "." ""``); None = flat."""
    for line in lines:
        if isinstance(line, bytes) and (m := re.match(rb'^\([^)]*\) (NIL|"(\\?.)")', line)):
            if m.group(1) == b"NIL":
                return None
            return m.group(2).decode().lstrip("\\") or None
    return None


def parse_uidvalidity(lines: Sequence[bytes | bytearray]) -> int | None:
    for line in lines:
        if isinstance(line, bytes) and (m := re.search(rb"\[UIDVALIDITY (\d+)\]", line)):
            return int(m.group(1))
    return None


def server_name(name: str, delimiter: str | None) -> str:
    """A configured name (``/`` separates levels) in the server's own hierarchy syntax.

    Configs say ``optout/processed`` whatever the server; Dovecot's default Maildir++
    layout uses ``.``, its ``LAYOUT=fs`` uses ``/``.
    """
    if name.upper() == "INBOX" or delimiter is None or delimiter == "/":
        return name
    return name.replace("/", delimiter)


def quote_mailbox(name: str) -> str:
    """A mailbox argument: modified UTF-7 (RFC 3501 §5.1.3), then a quoted string."""
    encoded = utf7_encode(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def utf7_encode(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            b64 = base64.b64encode(raw).rstrip(b"=").replace(b"/", b",").decode()
            out.append(f"&{b64}-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def has_exists(lines: Iterable[bytes | bytearray]) -> bool:
    """Whether a server push announces new mail (``N EXISTS`` / ``N RECENT``)."""
    return any(
        isinstance(line, bytes) and re.fullmatch(rb"\d+ (EXISTS|RECENT)", line.strip())
        for line in lines
    )
