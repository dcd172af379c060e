"""The IMAP source against a real Dovecot: what it hands out, where it moves mail, and
how it survives restarts, UIDVALIDITY changes and a server going away."""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.integration.conftest import InMemoryCheckpoint, SourceFactory, uid_of
from tests.integration.dovecot import Dovecot
from worker.errors import ConfigError
from worker.sources import (
    Backoff,
    Disposition,
    Source,
    SourceLoginFailed,
    SourceUnavailable,
)

PROCESSED = "optout.processed"  # the configured optout/processed on a "." server
REVIEW = "optout.review"


def message(n: int, body: str = "Please unsubscribe me.") -> bytes:
    return (
        f"From: Reader {n} <reader{n}@example.org>\r\n"
        f"To: unsubscribe@example.com\r\n"
        f"Subject: Re: Newsletter {n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\n"
        f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        f"\r\n{body}\r\n"
    ).encode()


async def test_received_at_is_the_servers_internaldate_not_the_date_header(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    when = datetime(2026, 3, 1, 9, 30, 15, tzinfo=timezone(timedelta(hours=-5)))
    uid = dovecot.append(message(1), date_time=when)
    src = make_source()

    [item] = await src.fetch(10)

    assert item.received_at == when
    assert item.received_at.tzinfo is not None
    assert item.raw == message(1)
    assert item.size == len(message(1))
    assert item.key == f"{dovecot.uidvalidity()}:{uid}"
    assert not item.too_large
    assert "Please" not in repr(item)  # bodies never reach logs through a repr
    assert isinstance(src, Source)


async def test_settle_moves_to_processed_and_review_creating_the_folders(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    for n in (1, 2):
        dovecot.append(message(n))
    assert PROCESSED not in dovecot.mailboxes()
    src = make_source()
    first, second = await src.fetch(10)

    await src.settle(first, Disposition.PROCESSED)
    await src.settle(second, Disposition.REVIEW)

    assert dovecot.uids("INBOX") == []
    assert dovecot.bodies(PROCESSED) == [first.raw]
    assert dovecot.bodies(REVIEW) == [second.raw]
    assert src.uses_move  # Dovecot offers MOVE


async def test_folders_follow_a_slash_hierarchy_separator(
    dovecot_fs_server: Dovecot, make_source: SourceFactory
) -> None:
    server = dovecot_fs_server.account("fs-user")
    server.append(message(1))
    src = make_source(server)
    [item] = await src.fetch(10)

    await src.settle(item, Disposition.PROCESSED)

    assert server.bodies("optout/processed") == [item.raw]
    assert (server.maildir / "optout" / "processed").is_dir()


async def test_settle_twice_is_harmless(dovecot: Dovecot, make_source: SourceFactory) -> None:
    dovecot.append(message(1))
    src = make_source()
    [item] = await src.fetch(10)

    await src.settle(item, Disposition.PROCESSED)
    await src.settle(item, Disposition.PROCESSED)

    assert len(dovecot.bodies(PROCESSED)) == 1


async def test_copy_and_expunge_are_used_when_move_is_not_available(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.append(message(1))
    src = make_source(use_move=False)
    [item] = await src.fetch(10)

    await src.settle(item, Disposition.REVIEW)

    assert not src.uses_move
    assert dovecot.uids("INBOX") == []  # copied, flagged \Deleted and expunged
    assert dovecot.bodies(REVIEW) == [item.raw]


async def test_a_restart_neither_repeats_settled_mail_nor_skips_unsettled_mail(
    dovecot: Dovecot, make_source: SourceFactory, checkpoint: InMemoryCheckpoint
) -> None:
    for n in range(1, 6):
        dovecot.append(message(n))
    first = make_source()
    items = await first.fetch(10)
    assert [uid_of(i) for i in items] == [1, 2, 3, 4, 5]
    for item in items:
        if uid_of(item) != 4:  # 4 was handed out, then the process died
            await first.settle(item, Disposition.PROCESSED)
    await first.close()
    dovecot.append(message(6))

    again = await make_source().fetch(10)

    assert [uid_of(i) for i in again] == [4, 6]
    assert again[0].key == items[3].key  # same key: the service recognises it
    validity = dovecot.uidvalidity()
    assert checkpoint.get("inbox", "uid:INBOX") == f"{validity}:3"


async def test_mail_fetched_but_not_settled_is_fetched_again_after_a_crash(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.append(message(1))
    crashed = make_source()
    [item] = await crashed.fetch(10)  # committed by the service, then the process died
    # (no settle, no close: the old connection is simply abandoned)

    [again] = await make_source().fetch(10)

    assert again.key == item.key
    assert again.raw == item.raw


async def test_a_session_hands_each_message_out_once_and_rewind_hands_out_the_rest(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    for n in (1, 2):
        dovecot.append(message(n))
    src = make_source()
    a, b = await src.fetch(10)
    await src.settle(a, Disposition.PROCESSED)
    assert await src.fetch(10) == []

    src.rewind()

    assert [i.key for i in await src.fetch(10)] == [b.key]


async def test_a_backlog_is_fetched_in_batches_in_uid_order(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    dovecot.drop(message(n) for n in range(250))
    src = make_source()

    first = await src.fetch(120)
    rest = await src.fetch(1000)

    uids = [uid_of(i) for i in first + rest]
    assert len(first) == 120
    assert uids == list(range(1, 251))
    assert all(i.raw.startswith(b"From: Reader") for i in first + rest)


async def test_a_new_uidvalidity_resets_the_checkpoint_and_rescans(
    dovecot: Dovecot, make_source: SourceFactory, checkpoint: InMemoryCheckpoint
) -> None:
    dovecot.create("intake")
    for n in (1, 2):
        dovecot.append(message(n), mailbox="intake")
    src = make_source(settings={"mailbox": "intake"})
    for item in await src.fetch(10):
        await src.settle(item, Disposition.PROCESSED)
    await src.close()
    old = dovecot.uidvalidity("intake")
    assert checkpoint.get("inbox", "uid:intake") == f"{old}:2"
    dovecot.delete("intake")  # recreated: the old UIDs mean nothing any more
    dovecot.create("intake")
    dovecot.append(message(3), mailbox="intake")

    src = make_source(settings={"mailbox": "intake"})
    [item] = await src.fetch(10)

    new = dovecot.uidvalidity("intake")
    assert new != old
    assert item.key == f"{new}:1"
    assert item.raw == message(3)


async def test_idle_wakes_the_source_within_two_seconds_of_new_mail(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    src = make_source()
    await src.connect()

    async def deliver_soon() -> float:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(dovecot.append, message(1))
        return time.perf_counter()

    delivery = asyncio.create_task(deliver_soon())
    woke = await src.wait_for_new(timeout=10)
    latency = time.perf_counter() - await delivery

    print(f"IDLE wake-up {latency * 1000:.0f} ms after APPEND returned")
    assert woke
    assert latency < 5  # spec: < 2 s; generous here, the figure is printed
    assert len(await src.fetch(10)) == 1


async def test_without_idle_the_source_polls_and_still_notices_new_mail(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    src = make_source(settings={"idle": False}, poll_seconds=0.2)
    await src.connect()
    assert await src.wait_for_new(timeout=0.3) is False

    dovecot.append(message(1))

    assert await src.wait_for_new(timeout=10) is True


async def test_malformed_and_oversized_messages_are_handed_out_not_fatal(
    dovecot: Dovecot, make_source: SourceFactory
) -> None:
    # (no NUL byte: IMAP cannot carry one without BINARY, Dovecot sends 0x80 instead)
    garbage = b"\xff\xfe not a header at all\r\n\r\n\xc3\x28 broken utf-8 (((\r\n"
    huge = b"From: big@example.org\r\nSubject: attachment\r\n\r\n" + b"A" * 60_000 + b"\r\n"
    dovecot.drop([garbage, huge, message(3)])
    src = make_source(max_message_bytes=50_000)

    items = await src.fetch(10)

    assert [i.raw for i in items[::2]] == [garbage, message(3)]
    big = items[1]
    assert big.too_large
    assert big.size == len(huge)
    assert big.raw == b"From: big@example.org\r\nSubject: attachment\r\n\r\n"


async def test_a_server_outage_raises_source_unavailable_and_reconnect_recovers(
    restartable_dovecot: Dovecot, make_source: SourceFactory
) -> None:
    server = restartable_dovecot
    server.append(message(1))
    src = make_source(server, backoff=Backoff(base=0.05, cap=0.5))
    [item] = await src.fetch(10)

    server.stop()
    started = time.perf_counter()
    with pytest.raises(SourceUnavailable):
        await src.settle(item, Disposition.PROCESSED)
    assert time.perf_counter() - started < 5  # noticed, not waited out
    with pytest.raises(SourceUnavailable):
        await src.fetch(10)

    server.start()
    await src.reconnect(attempts=20)
    [again] = await src.fetch(10)  # the unsettled message is still there
    await src.settle(again, Disposition.PROCESSED)

    assert again.key == item.key
    assert server.uids("INBOX") == []
    assert server.bodies(PROCESSED) == [item.raw]


async def test_reconnect_gives_up_after_the_given_attempts(
    restartable_dovecot: Dovecot, make_source: SourceFactory
) -> None:
    src = make_source(restartable_dovecot, backoff=Backoff(base=0.01, cap=0.02))
    restartable_dovecot.stop()

    with pytest.raises(SourceUnavailable):
        await src.reconnect(attempts=3)


async def test_a_wrong_password_is_a_typed_login_failure(
    restartable_dovecot: Dovecot, make_source: SourceFactory
) -> None:
    # its own server: Dovecot slows down later logins from an address that failed one
    with pytest.raises(SourceLoginFailed):
        await make_source(restartable_dovecot, password="wrong").connect()


async def test_the_password_comes_from_the_variable_password_env_names(
    dovecot: Dovecot, make_source: SourceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPTOUT_TEST_IMAP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="OPTOUT_TEST_IMAP_PASSWORD"):
        await make_source(password=None).connect()

    monkeypatch.setenv("OPTOUT_TEST_IMAP_PASSWORD", dovecot.password)
    await make_source(password=None).connect()


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
async def test_tls_modes_connect_and_fetch(
    dovecot: Dovecot, make_source: SourceFactory, tls: str
) -> None:
    dovecot.append(message(1))
    ctx = ssl.create_default_context(cafile=str(dovecot.cert))
    port = dovecot.ssl_port if tls == "ssl" else dovecot.port
    src = make_source(settings={"tls": tls, "port": port}, ssl_context=ctx)

    [item] = await src.fetch(10)

    assert item.raw == message(1)


async def test_received_times_are_utc(dovecot: Dovecot, make_source: SourceFactory) -> None:
    dovecot.append(message(1), date_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    [item] = await make_source().fetch(1)
    assert item.received_at.utcoffset() == timedelta(0)


async def test_an_outage_during_idle_raises_source_unavailable(
    restartable_dovecot: Dovecot, make_source: SourceFactory
) -> None:
    src = make_source(restartable_dovecot)
    await src.connect()

    async def outage_soon() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(restartable_dovecot.stop)

    outage = asyncio.create_task(outage_soon())
    with pytest.raises(SourceUnavailable):
        await src.wait_for_new(timeout=20)
    await outage
    assert not src.connected


class _NotYet:
    """A checkpoint that is not ready (a head start's, before the database is open)."""

    ready = False

    def get(self, source: str, key: str) -> str | None:
        raise AssertionError("read before the database is open")

    def set(self, source: str, key: str, value: str) -> None:
        raise AssertionError("written before the database is open")


async def test_a_head_start_fetches_before_the_checkpoint_and_resumes_without_a_skip(
    dovecot: Dovecot, make_source: SourceFactory, checkpoint: InMemoryCheckpoint
) -> None:
    # a restart after 1-3 were settled and 4 was committed but not moved (crash), with
    # a stale mark that claims 4 too: the head start, reading no mark, hands 4 out again
    for n in range(1, 6):
        dovecot.append(message(n))
    first = make_source()
    for item in await first.fetch(3):
        await first.settle(item, Disposition.PROCESSED)
    await first.close()
    validity = dovecot.uidvalidity()
    checkpoint.set("inbox", "uid:INBOX", f"{validity}:4")
    writes = checkpoint.writes

    head = make_source(checkpoint=_NotYet())
    await head.connect(resume=False)
    early = await head.fetch(1)
    await head.close()  # dropped (say, another instance holds the lease): nothing saved
    assert [uid_of(i) for i in early] == [4]

    head = make_source(checkpoint=_NotYet())
    await head.connect(resume=False)
    early = await head.fetch(1)
    head.checkpoint = checkpoint  # the database is open
    later = await head.fetch(10)

    assert [uid_of(i) for i in early + later] == [4, 5]
    for item in early + later:
        await head.settle(item, Disposition.PROCESSED)
    await head.close()
    assert checkpoint.get("inbox", "uid:INBOX") == f"{validity}:5"
    assert checkpoint.writes > writes
    assert dovecot.uids("INBOX") == []


async def test_a_head_start_keeps_the_mark_below_what_it_handed_out(
    dovecot: Dovecot, make_source: SourceFactory, checkpoint: InMemoryCheckpoint
) -> None:
    for n in range(1, 4):
        dovecot.append(message(n))
    validity = dovecot.uidvalidity()
    checkpoint.set("inbox", "uid:INBOX", f"{validity}:2")  # stale: 1 and 2 are still here
    head = make_source(checkpoint=_NotYet())
    await head.connect(resume=False)
    early = await head.fetch(2)
    head.checkpoint = checkpoint
    rest = await head.fetch(10)  # resumes here, and goes on after what it handed out
    head.rewind()  # a failed pass: everything not settled is handed out again

    again = await head.fetch(10)

    assert [uid_of(i) for i in early] == [1, 2]
    assert [uid_of(i) for i in rest] == [3]
    assert [uid_of(i) for i in again] == [1, 2, 3]  # from below the first handed out
