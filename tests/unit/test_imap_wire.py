"""IMAP wire helpers: aioimaplib's response shapes, dates, UID sets, mailbox names."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from worker.sources.base import Backoff
from worker.sources.imap_wire import (
    has_exists,
    parse_delimiter,
    parse_fetch,
    parse_internaldate,
    parse_search,
    parse_uidvalidity,
    quote_mailbox,
    server_name,
    uid_set,
)


def test_fetch_with_literal_between_header_and_closing_line() -> None:
    lines: list[bytes | bytearray] = [
        b'1 FETCH (UID 7 INTERNALDATE "01-Mar-2024 17:00:00 +0000" RFC822.SIZE 5 BODY[] {5}',
        bytearray(b"a (b)"),
        b")",
        b"Fetch completed (0.001 + 0.000 secs).",
    ]
    [rec] = parse_fetch(lines).values()
    assert (rec.uid, rec.size, rec.literal) == (7, 5, b"a (b)")
    assert rec.internaldate == datetime(2024, 3, 1, 17, 0, tzinfo=UTC)


def test_fetch_with_uid_after_the_literal_and_unsolicited_flags() -> None:
    lines: list[bytes | bytearray] = [
        b"3 FETCH (FLAGS (\\Seen))",  # another client's change: no UID, dropped
        b"1 FETCH (BODY[] {3}",
        bytearray(b"abc"),
        b" UID 9)",
        b"2 FETCH (BODY[] {0}",  # an empty literal leaves no bytearray line
        b" UID 10)",
        b"Fetch completed.",
    ]
    recs = parse_fetch(lines)
    assert set(recs) == {9, 10}
    assert recs[9].literal == b"abc"
    assert recs[10].literal == b""


def test_internaldate_is_locale_free_and_converted_to_utc() -> None:
    assert parse_internaldate(" 1-Mar-2024 12:00:00 -0500") == datetime(
        2024, 3, 1, 17, 0, tzinfo=UTC
    )
    assert parse_internaldate("garbage") is None


def test_search_uidvalidity_delimiter_and_pushes() -> None:
    assert parse_search([b"4 5 9", b"Search completed"]) == [4, 5, 9]
    assert parse_search([b"Search completed"]) == []
    assert parse_uidvalidity([b"OK [UIDVALIDITY 1795437070] UIDs valid", b"done"]) == 1795437070
    assert parse_delimiter([b'(\\Noselect) "." ""', b"done"]) == "."
    assert parse_delimiter([b'(\\Noselect) "/" ""', b"done"]) == "/"
    assert parse_delimiter([b'(\\Noselect) NIL ""', b"done"]) is None
    assert has_exists([b"12 EXISTS"])
    assert not has_exists([b"3 EXPUNGE"])


def test_uid_sets_are_compressed() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"


def test_mailbox_names_follow_the_server_hierarchy_and_are_quoted() -> None:
    assert server_name("optout/processed", ".") == "optout.processed"
    assert server_name("optout/processed", "/") == "optout/processed"
    assert server_name("INBOX", ".") == "INBOX"
    assert quote_mailbox('a "b"') == '"a \\"b\\""'
    assert quote_mailbox("Geprüft & fertig") == '"Gepr&APw-ft &- fertig"'


def test_backoff_grows_with_jitter_up_to_the_cap_and_resets() -> None:
    b = Backoff(base=1, cap=8, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(6)]
    for n, d in enumerate(delays):
        ceiling = min(8, 2**n)
        assert ceiling / 2 <= d <= ceiling
    b.reset()
    assert b.next_delay() <= 1
