"""``settle_many`` against a real Dovecot: one ``UID MOVE <set>`` per folder instead of one
per message, with the same idempotency, checkpoint and outage semantics as ``settle``."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.integration.conftest import InMemoryCheckpoint, SourceFactory, imap_settings, uid_of
from tests.integration.dovecot import Dovecot
from worker.sources import Backoff, Disposition, ImapMailSource, RawItem, SourceUnavailable
from worker.sources import imap as imap_module
from worker.sources.imap_wire import uid_sets, uids_in

PROCESSED = "optout.processed"  # the configured optout/processed on a "." server
REVIEW = "optout.review"
P, R = Disposition.PROCESSED, Disposition.REVIEW


def message(n: int) -> bytes:
    return (
        f"From: Reader {n} <reader{n}@example.org>\r\n"
        f"To: unsubscribe@example.com\r\n"
        f"Subject: Re: Newsletter {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\n"
        f"\r\nPlease unsubscribe me.\r\n"
    ).encode()


def record_uid_commands(
    src: ImapMailSource, before: Callable[[str], Awaitable[None]] | None = None
) -> list[tuple[str, ...]]:
    """Spy on the connected session's ``UID ...`` commands (optionally act before one)."""
    calls: list[tuple[str, ...]] = []
    client = src._client
    assert client is not None
    original = client.uid

    async def uid(command: str, *args: str) -> Any:
        calls.append((command, *args))
        if before is not None:
            await before(command)
        return await original(command, *args)

    client.uid = uid
    return calls


def move_by_hand(server: Dovecot, uids: list[int], mailbox: str) -> None:
    """Another client moves mail (stdlib imaplib, its own session)."""
    with server.imap() as c:
        c.select("INBOX")
        typ, data = c.uid("MOVE", ",".join(map(str, uids)), f'"{mailbox}"')
        assert typ == "OK", data


def test_uid_sets_are_compact_and_split_by_length_and_count() -> None:
    assert uid_sets([9, 1, 2, 3, 5, 10, 11, 12, 2], 100) == ["1:3,5,9:12"]
    assert uid_sets([1, 2, 3, 5, 9, 10, 11, 12], 5) == ["1:3,5", "9:12"]
    assert uid_sets(range(1, 11), 100, max_count=4) == ["1:4", "5:8", "9:10"]
    assert uid_sets([], 100) == []
    scattered = list(range(1, 20_000, 2))
    sets = uid_sets(scattered, 7000)
    assert len(sets) > 1
    assert max(map(len, sets)) <= 7000
    assert set().union(*map(uids_in, sets)) == set(scattered)


async def test_a_mixed_batch_is_moved_with_one_uid_move_per_folder(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop(message(n) for n in range(1, 11))
    src = make_source()
    items = await src.fetch(10)
    review = {3, 7, 8}
    batch = [(i, R if uid_of(i) in review else P) for i in items]
    calls = record_uid_commands(src)

    await src.settle_many(batch)

    assert calls == [
        ("move", "1:2,4:6,9:10", f'"{PROCESSED}"'),
        ("move", "3,7:8", f'"{REVIEW}"'),
    ]
    assert dovecot.uids("INBOX") == []
    assert sorted(dovecot.bodies(PROCESSED)) == sorted(i.raw for i, d in batch if d is P)
    assert sorted(dovecot.bodies(REVIEW)) == sorted(i.raw for i, d in batch if d is R)


async def test_without_move_one_copy_store_expunge_per_folder(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop(message(n) for n in range(1, 7))
    src = make_source(use_move=False)
    items = await src.fetch(10)
    batch = [(i, R if uid_of(i) % 3 == 0 else P) for i in items]
    calls = record_uid_commands(src)

    await src.settle_many(batch)

    assert not src.uses_move
    assert [c[:2] for c in calls] == [
        ("copy", "1:2,4:5"),
        ("store", "1:2,4:5"),
        ("expunge", "1:2,4:5"),
        ("copy", "3,6"),
        ("store", "3,6"),
        ("expunge", "3,6"),
    ]
    assert dovecot.uids("INBOX") == []  # copied, flagged \Deleted and expunged
    assert len(dovecot.bodies(PROCESSED)) == 4
    assert len(dovecot.bodies(REVIEW)) == 2


async def test_settle_many_twice_is_harmless(dovecot: Dovecot, make_source: SourceFactory) -> None:
    dovecot.drop(message(n) for n in range(1, 6))
    src = make_source()
    batch = [(i, P if uid_of(i) % 2 else R) for i in await src.fetch(10)]

    await src.settle_many(batch)
    await src.settle_many(batch)  # a repeat after a crash: the UIDs are gone, no error

    assert dovecot.uids("INBOX") == []
    assert len(dovecot.bodies(PROCESSED)) == 3
    assert len(dovecot.bodies(REVIEW)) == 2


async def test_settle_many_twice_without_move_is_harmless(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop(message(n) for n in range(1, 5))
    src = make_source(use_move=False)
    batch = [(i, P) for i in await src.fetch(10)]

    await src.settle_many(batch)
    await src.settle_many(batch)

    assert dovecot.uids("INBOX") == []
    assert len(dovecot.bodies(PROCESSED)) == 4


@pytest.mark.parametrize("use_move", [True, False])
async def test_items_another_client_already_moved_do_not_fail_the_batch(
    dovecot: Dovecot, make_source: SourceFactory, use_move: bool
) -> None:
    dovecot.drop(message(n) for n in range(1, 9))
    src = make_source(use_move=use_move)
    items = await src.fetch(10)
    # While this session is open (it has not been told about the expunges, so Dovecot
    # answers NO [EXPUNGEISSUED] for a set naming them), someone moves 2 and 5 away.
    move_by_hand(dovecot, [2, 5], PROCESSED)
    move_by_hand(dovecot, [7], REVIEW)
    calls = record_uid_commands(src)

    await src.settle_many([(i, R if uid_of(i) == 7 else P) for i in items])

    first = "move" if use_move else "copy"
    assert calls[0][:2] == (first, "1:6,8")  # refused: 2 and 5 are gone
    assert calls[1][:2] == (first, "1,3:4,6,8")  # narrowed to what is left, sent again
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.bodies(PROCESSED)) == 7  # 2 and 5 once each: no duplicates
    assert len(dovecot.bodies(REVIEW)) == 1


async def test_a_batch_moved_by_hand_before_a_restart_is_settled_as_a_no_op(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop(message(n) for n in range(1, 5))
    crashed = make_source()
    items = await crashed.fetch(10)  # committed, then the process died before moving
    move_by_hand(dovecot, [1, 2, 3, 4], PROCESSED)  # e.g. an operator tidied up

    await make_source().settle_many([(i, P) for i in items])

    assert dovecot.uids("INBOX") == []
    assert len(dovecot.bodies(PROCESSED)) == 4


async def test_after_a_batch_a_restart_neither_repeats_nor_skips(
    dovecot: Dovecot, make_source: SourceFactory, checkpoint: InMemoryCheckpoint
) -> None:
    dovecot.drop(message(n) for n in range(1, 9))
    first = make_source()
    items = await first.fetch(10)
    # 4 was handed out, then the process died before its batch was settled
    await first.settle_many([(i, P if uid_of(i) % 2 else R) for i in items if uid_of(i) != 4])
    await first.close()
    dovecot.append(message(9))

    again = await make_source().fetch(10)

    assert [uid_of(i) for i in again] == [4, 9]
    assert again[0].key == items[3].key
    assert checkpoint.get("inbox", "uid:INBOX") == f"{dovecot.uidvalidity()}:3"


async def test_one_batch_writes_the_checkpoint_once_and_survives_a_crash(
    dovecot: Dovecot,
    make_source: SourceFactory,
    checkpoint: InMemoryCheckpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(imap_module, "_CHECKPOINT_EVERY", 50)
    dovecot.drop(message(n) for n in range(1, 61))
    first = make_source()
    items = await first.fetch(100)
    writes = checkpoint.writes

    await first.settle_many([(i, P) for i in items])  # then the process dies: no close()

    assert checkpoint.writes == writes + 1
    assert checkpoint.get("inbox", "uid:INBOX") == f"{dovecot.uidvalidity()}:60"
    dovecot.append(message(61))
    assert [uid_of(i) for i in await make_source().fetch(100)] == [61]


async def test_a_checkpoint_left_behind_by_a_crash_repeats_nothing(
    dovecot: Dovecot, make_source: SourceFactory, checkpoint: InMemoryCheckpoint
) -> None:
    dovecot.drop(message(n) for n in range(1, 61))
    first = make_source()
    items = await first.fetch(100)
    await first.settle_many([(i, P) for i in items])  # under _CHECKPOINT_EVERY: no write
    stale = f"{dovecot.uidvalidity()}:0"
    assert checkpoint.get("inbox", "uid:INBOX") == stale  # then the process dies

    dovecot.append(message(61))
    assert [uid_of(i) for i in await make_source().fetch(100)] == [61]


async def test_one_fetch_per_chunk_asks_sizes_dates_and_bodies_together(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop(message(n) for n in range(1, 31))
    src = make_source()
    await src.connect()
    calls = record_uid_commands(src)
    got = [uid_of(i) for b in range(3) for i in await src.fetch(10)]
    assert got == list(range(1, 31))
    fetches = [" ".join(map(str, c)) for c in calls if c[0] == "fetch"]
    assert len(fetches) == 3  # a round trip per chunk, like a bare fetch
    assert all("RFC822.SIZE INTERNALDATE BODY.PEEK[]<0." in f for f in fetches)


async def test_a_message_longer_than_the_first_fetch_is_fetched_again_whole(
    dovecot: Dovecot, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies come with their sizes, cut at ``_PEEK_BYTES``; what was cut is asked for
    again, whole under the size limit, header block only over it."""
    monkeypatch.setattr(imap_module, "_PEEK_BYTES", 400)
    long = message(2).replace(b"\r\n\r\n", b"\r\n\r\n" + b"long line\r\n" * 60, 1)
    over = b"From: big@example.org\r\nSubject: big\r\n\r\n" + b"B" * 3_000 + b"\r\n"
    mails = [message(1), long, message(3), over, message(5)]
    assert len(message(1)) < 400 < len(long) < 2_000 < len(over)
    dovecot.drop(mails)
    src = make_source(max_message_bytes=2_000)
    await src.connect()
    calls = record_uid_commands(src)

    items = await src.fetch(10)

    assert [i.raw for i in items] == [*mails[:3], b"From: big@example.org\r\nSubject: big\r\n\r\n",
                                      mails[4]]  # fmt: skip
    assert [i.too_large for i in items] == [False, False, False, True, False]
    assert [i.size for i in items] == [len(m) for m in mails]
    fetches = [" ".join(map(str, c)) for c in calls if c[0] == "fetch"]
    assert len(fetches) == 3
    assert fetches[1] == "fetch 2 (UID BODY.PEEK[])"
    assert fetches[2] == "fetch 4 (UID BODY.PEEK[HEADER])"


async def test_long_uid_sets_are_split_into_several_commands(
    dovecot: Dovecot, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap_module, "_MAX_COMMAND_CHARS", 120)  # set budget ≈ 36 chars
    dovecot.drop(message(n) for n in range(1, 61))
    src = make_source()
    items = await src.fetch(100)
    batch = [(i, P) for i in items if uid_of(i) % 2]  # 1,3,5,...: nothing to compact
    calls = record_uid_commands(src)

    await src.settle_many(batch)

    assert len(calls) > 2
    assert all(len(c[1]) <= 120 - len(f'"{PROCESSED}"') - 64 for c in calls)
    assert set().union(*(uids_in(c[1]) for c in calls)) == {uid_of(i) for i, _ in batch}
    assert dovecot.uids("INBOX") == list(range(2, 61, 2))
    assert len(dovecot.bodies(PROCESSED)) == 30


async def test_a_server_stopped_mid_batch_raises_and_a_retry_completes_it(
    restartable_dovecot: Dovecot, make_source: SourceFactory
) -> None:
    server = restartable_dovecot
    server.drop(message(n) for n in range(1, 7))
    src = make_source(server, backoff=Backoff(base=0.05, cap=0.5))
    items = await src.fetch(10)
    batch = [(i, R if uid_of(i) >= 5 else P) for i in items]
    moves = 0

    async def stop_before_the_second_move(command: str) -> None:
        nonlocal moves
        if command == "move":
            moves += 1
            if moves == 2:
                server.stop()  # blocking on purpose: it is down before the MOVE is sent

    record_uid_commands(src, before=stop_before_the_second_move)
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable):
        await src.settle_many(batch)
    assert time.perf_counter() - started < 5  # noticed, not waited out
    assert not src.connected

    server.start()
    await src.reconnect(attempts=20)  # (retries while the new server is settling in)
    assert server.uids("INBOX") == [5, 6]  # the first folder's MOVE went through
    assert [uid_of(i) for i in await src.fetch(10)] == [5, 6]  # still to be settled
    await src.settle_many(batch)  # the whole batch again: idempotent

    assert server.uids("INBOX") == []
    assert len(server.bodies(PROCESSED)) == 4
    assert len(server.bodies(REVIEW)) == 2


async def test_settle_still_works_and_an_empty_batch_is_a_no_op(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop([message(1)])
    src = make_source()
    await src.settle_many([])
    assert not src.connected  # nothing to do: not even a connection
    [item] = await src.fetch(10)

    await src.settle(item, Disposition.REVIEW)

    assert dovecot.bodies(REVIEW) == [item.raw]


async def test_timing_single_settle_vs_settle_many_for_1000_messages(
    dovecot_server: Dovecot,
) -> None:
    """Not an assertion on speed: prints per-message times (run with ``-s``)."""
    n = 1000
    results: dict[str, float] = {}

    async def run(label: str, settle: Callable[[ImapMailSource, list[RawItem]], Any]) -> None:
        server = dovecot_server.account(f"bench{uuid.uuid4().hex[:8]}")
        server.drop(message(i) for i in range(n))
        src = ImapMailSource(
            imap_settings(server), InMemoryCheckpoint(), password=server.password, timeout=30
        )
        try:
            items = await src.fetch(n)
            assert len(items) == n
            started = time.perf_counter()
            await settle(src, items)
            results[label] = (time.perf_counter() - started) / n * 1000
        finally:
            await src.close()
        assert server.uids("INBOX") == []

    def disposition(item: RawItem) -> Disposition:
        return R if uid_of(item) % 10 == 0 else P  # one in ten to review

    async def one_by_one(src: ImapMailSource, items: list[RawItem]) -> None:
        for item in items:
            await src.settle(item, disposition(item))

    def batches_of(size: int) -> Callable[[ImapMailSource, list[RawItem]], Awaitable[None]]:
        async def settle(src: ImapMailSource, items: list[RawItem]) -> None:
            for at in range(0, len(items), size):
                await src.settle_many([(i, disposition(i)) for i in items[at : at + size]])

        return settle

    await run("settle, one per message", one_by_one)
    await run("settle_many, batches of 50", batches_of(50))
    await run(f"settle_many, one batch of {n}", batches_of(n))
    for label, ms in results.items():
        print(f"{label:32s} {ms:6.3f} ms/msg  ({n} messages, 10% review)")


class _SlowCheckpoint(InMemoryCheckpoint):
    """A bookmark store whose writes wait, as SQLite's do while a commit holds its lock."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def set(self, source: str, key: str, value: str) -> None:
        self.threads.append(threading.get_ident())
        time.sleep(0.3)
        super().set(source, key, value)


async def test_the_bookmark_is_written_off_the_event_loop(
    dovecot: Dovecot, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap_module, "_CHECKPOINT_EVERY", 10)
    dovecot.drop(message(n) for n in range(1, 21))
    slow = _SlowCheckpoint()
    src = make_source(checkpoint=slow)
    items = await src.fetch(100)
    before = len(slow.threads)  # connecting wrote the first bookmark, before any mail
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    try:
        await src.settle_many([(i, P) for i in items])
    finally:
        ticker.cancel()
    assert slow.values[("inbox", "uid:INBOX")] == f"{dovecot.uidvalidity()}:20"
    during = slow.threads[before:]
    assert during
    assert threading.get_ident() not in during
    assert ticks >= 3  # the loop kept running through the 0.3 s write (about 30 ticks)
