"""The Maildir source (the embedded default): same contract as IMAP, on plain files."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.config import MaildirSource
from worker.sources import Disposition, MaildirMailSource, Source

T0 = 1_795_000_000  # 2026-11-18, a plausible delivery time


def message(n: int) -> bytes:
    return (
        f"From: reader{n}@example.org\nTo: unsubscribe@example.com\n"
        f"Subject: stop {n}\nMessage-ID: <m{n}@example.org>\n\nPlease unsubscribe me.\n"
    ).encode()


def deliver(root: Path, name: str, raw: bytes, sub: str = "new", mtime: float = T0) -> Path:
    """Deliver as an MDA does: write into tmp/, then rename into new/ (or cur/)."""
    for d in ("tmp", "new", "cur"):
        (root / d).mkdir(parents=True, exist_ok=True)
    tmp = root / "tmp" / name.split(":")[0]
    tmp.write_bytes(raw)
    os.utime(tmp, (mtime, mtime))
    dest = root / sub / name
    os.rename(tmp, dest)
    return dest


def source(root: Path, **kw: object) -> MaildirMailSource:
    settings = MaildirSource(name="local", kind="maildir", path=root)
    return MaildirMailSource(settings, **kw)  # type: ignore[arg-type]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


async def test_new_and_cur_messages_are_handed_out_oldest_first(inbox: Path) -> None:
    deliver(inbox, f"{T0 + 20}.M1P1.host", message(2))
    deliver(inbox, f"{T0 + 10}.M250000P1.host:2,S", message(1), sub="cur")  # read in a client
    src = source(inbox)
    await src.connect()

    items = await src.fetch(10)

    assert [i.raw for i in items] == [message(1), message(2)]
    assert items[0].key == f"{T0 + 10}.M250000P1.host"  # flags are not part of the key
    assert items[0].received_at == datetime.fromtimestamp(T0 + 10.25, UTC)  # M = microseconds
    assert items[0].size == len(message(1))
    assert isinstance(src, Source)


async def test_received_at_falls_back_to_the_file_time_for_unconventional_names(
    inbox: Path,
) -> None:
    deliver(inbox, "hand-made-message", message(1), mtime=T0 + 5)

    [item] = await source(inbox).fetch(10)

    assert item.received_at == datetime.fromtimestamp(T0 + 5, UTC)


async def test_settle_moves_into_the_processed_or_review_subfolder(inbox: Path) -> None:
    deliver(inbox, f"{T0}.M1P1.host", message(1))
    deliver(inbox, f"{T0 + 1}.M1P1.host", message(2))
    src = source(inbox)
    a, b = await src.fetch(10)

    await src.settle(a, Disposition.PROCESSED)
    await src.settle(b, Disposition.REVIEW)

    assert list((inbox / "new").iterdir()) == []
    [moved] = (inbox / ".processed" / "cur").iterdir()
    assert moved.name == f"{a.key}:2,S"
    assert moved.read_bytes() == message(1)
    assert [p.name for p in (inbox / ".review" / "cur").iterdir()] == [f"{b.key}:2,S"]
    assert (inbox / ".review" / "tmp").is_dir()


async def test_settle_is_idempotent_and_follows_a_later_decision(inbox: Path) -> None:
    deliver(inbox, f"{T0}.M1P1.host", message(1))
    src = source(inbox)
    [item] = await src.fetch(10)

    await src.settle(item, Disposition.REVIEW)
    await src.settle(item, Disposition.REVIEW)  # a repeat after a crash: nothing to do
    await src.settle(item, Disposition.PROCESSED)  # resolved from the review queue

    assert list((inbox / ".review" / "cur").iterdir()) == []
    assert len(list((inbox / ".processed" / "cur").iterdir())) == 1


async def test_a_message_a_client_moved_to_cur_is_still_settled(inbox: Path) -> None:
    path = deliver(inbox, f"{T0}.M1P1.host", message(1))
    src = source(inbox)
    [item] = await src.fetch(10)
    os.rename(path, inbox / "cur" / f"{path.name}:2,FS")  # a mail client read it meanwhile

    await src.settle(item, Disposition.PROCESSED)

    [moved] = (inbox / ".processed" / "cur").iterdir()
    assert moved.name == f"{item.key}:2,FS"


async def test_a_restart_neither_repeats_settled_nor_skips_unsettled_mail(inbox: Path) -> None:
    for n in range(3):
        deliver(inbox, f"{T0 + n}.M1P1.host", message(n))
    first = source(inbox)
    a, b, c = await first.fetch(10)
    await first.settle(a, Disposition.PROCESSED)
    await first.settle(c, Disposition.PROCESSED)
    # b was handed out, then the process died before settling it

    again = await source(inbox).fetch(10)

    assert [i.key for i in again] == [b.key]


async def test_a_session_hands_each_message_out_once_until_rewind(inbox: Path) -> None:
    deliver(inbox, f"{T0}.M1P1.host", message(1))
    src = source(inbox)
    [item] = await src.fetch(10)
    assert await src.fetch(10) == []

    src.rewind()

    assert [i.key for i in await src.fetch(10)] == [item.key]


async def test_limit_is_respected_across_calls(inbox: Path) -> None:
    for n in range(7):
        deliver(inbox, f"{T0 + n}.M1P1.host", message(n))
    src = source(inbox)

    batches = [await src.fetch(3) for _ in range(4)]

    assert [len(b) for b in batches] == [3, 3, 1, 0]


async def test_oversized_and_malformed_messages_are_handed_out(inbox: Path) -> None:
    huge = b"From: big@example.org\nSubject: attachment\n\n" + b"A" * 5000
    garbage = b"\x00\xff\xfe no headers here \xc3\x28"
    deliver(inbox, f"{T0}.M1P1.host", huge)
    deliver(inbox, f"{T0 + 1}.M1P1.host", garbage)
    src = source(inbox, max_message_bytes=1000)

    big, bad = await src.fetch(10)

    assert big.too_large
    assert big.size == len(huge)
    assert big.raw == b"From: big@example.org\nSubject: attachment\n\n"
    assert bad.raw == garbage
    assert not bad.too_large


async def test_connect_creates_the_embedded_inbox_layout(tmp_path: Path) -> None:
    root = tmp_path / "var" / "inbox"

    await source(root).connect()

    for folder in (root, root / ".processed", root / ".review"):
        assert {p.name for p in folder.iterdir()} >= {"new", "cur", "tmp"}


async def test_wait_for_new_notices_a_delivery(inbox: Path) -> None:
    src = source(inbox, poll_seconds=0.05)
    await src.connect()
    assert await src.wait_for_new(0.1) is False

    deliver(inbox, f"{T0}.M1P1.host", message(1))

    assert await src.wait_for_new(5) is True


async def test_settle_many_moves_a_mixed_batch_and_is_idempotent(inbox: Path) -> None:
    for n in range(4):
        deliver(inbox, f"{T0 + n}.M1P1.host", message(n))
    src = source(inbox)
    items = await src.fetch(10)
    batch = [
        (i, Disposition.REVIEW if n == 2 else Disposition.PROCESSED) for n, i in enumerate(items)
    ]

    await src.settle_many(batch)
    await src.settle_many(batch)  # a repeat after a crash: nothing to do

    assert list((inbox / "new").iterdir()) == []
    processed = sorted(p.name for p in (inbox / ".processed" / "cur").iterdir())
    assert processed == sorted(f"{i.key}:2,S" for i, d in batch if d == Disposition.PROCESSED)
    assert [p.name for p in (inbox / ".review" / "cur").iterdir()] == [f"{items[2].key}:2,S"]


async def test_settle_many_after_items_were_moved_by_hand_and_a_restart(inbox: Path) -> None:
    for n in range(3):
        deliver(inbox, f"{T0 + n}.M1P1.host", message(n))
    first = source(inbox)
    a, b, c = await first.fetch(10)
    await first.connect()  # creates the sub-folders
    os.rename(  # an operator filed `a` already, after it was committed
        inbox / "new" / a.key, inbox / ".processed" / "cur" / f"{a.key}:2,S"
    )
    await first.settle_many([(a, Disposition.PROCESSED), (c, Disposition.PROCESSED)])
    # b was handed out, then the process died before its batch was settled

    again = await source(inbox).fetch(10)

    assert [i.key for i in again] == [b.key]
    assert len(list((inbox / ".processed" / "cur").iterdir())) == 2
