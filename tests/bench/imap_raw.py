"""Benchmark: the raw aioimaplib fetch rate from a real Dovecot, the yardstick for intake.

N messages (a mix of sizes like a real unsubscribe inbox: short replies, quoted HTML
newsletters, bounce reports, the odd attachment) are written straight into a throwaway
Dovecot's Maildir, then fetched with bare aioimaplib in UID batches of 50 — no parsing,
no database — and, beside it, through :class:`ImapMailSource` (fetch only, nothing
settled), so the cost of the adapter itself shows as a ratio.

Run: ``python -m tests.bench.imap_raw [N] [--batch 50] [--repeat 3]`` (medians); writes
``var/bench/imap_raw.json``. The end-to-end intake benchmark can import
:func:`raw_fetch` to measure the same baseline in its own run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioimaplib

from tests.integration.dovecot import Dovecot, DovecotUnavailable
from worker.config import ImapSource
from worker.logs import configure as configure_logging
from worker.sources.imap import ImapMailSource

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"


def backlog(n: int, seed: int = 7) -> Iterator[bytes]:
    """A deterministic mix of message kinds and sizes (about 5 KB on average)."""
    rnd = random.Random(seed)
    for i in range(n):
        kind = rnd.choices(["reply", "quoted", "bounce", "attachment"], [60, 25, 10, 5])[0]
        head = (
            f"From: Reader {i} <reader{i}@example.org>\r\nTo: unsubscribe@example.com\r\n"
            f"Subject: Re: Weekly news #{i}\r\nMessage-ID: <bench{i}@example.org>\r\n"
            "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        )
        if kind == "reply":
            body = "Please take me off this list.\r\n" + "Thanks, a reader\r\n" * rnd.randint(1, 60)
            msg = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
        elif kind == "quoted":
            quoted = "> <p>This week's offers — unsubscribe here</p>\r\n" * rnd.randint(50, 200)
            msg = head + "Content-Type: text/plain\r\n\r\nStop please.\r\n\r\n" + quoted
        elif kind == "bounce":
            msg = (
                head.replace("Reader", "Mail Delivery System")
                + 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"'
                + "\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
                + "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
                + "Reporting-MTA: dns; mx.example.org\r\n\r\n"
                + f"Final-Recipient: rfc822; gone{i}@example.net\r\nAction: failed\r\n"
                + "Status: 5.1.1\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
                + head
                + "\r\n"
                + "original text\r\n" * rnd.randint(50, 300)
                + "--b--\r\n"
            )
        else:
            blob = base64.encodebytes(rnd.randbytes(rnd.randint(20_000, 120_000))).decode()
            msg = (
                head + 'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
                "Content-Type: text/plain\r\n\r\nunsubscribe, see attached\r\n--m\r\n"
                "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + blob.replace("\n", "\r\n")
                + "--m--\r\n"
            )
        yield msg.encode()


async def raw_fetch(server: Dovecot, batch: int = 50, mailbox: str = "INBOX") -> dict[str, Any]:
    """Fetch every message of ``mailbox`` with bare aioimaplib; the baseline figure."""
    client = aioimaplib.IMAP4("127.0.0.1", server.port, timeout=60)
    await asyncio.wait_for(client.wait_hello_from_server(), 30)
    await asyncio.wait_for(client.login(server.user, server.password), 30)
    resp = await asyncio.wait_for(client.select(mailbox), 120)
    assert resp.result == "OK", resp
    search = await asyncio.wait_for(client.uid_search("ALL", charset=None), 60)
    uids = sorted(int(u) for line in search.lines[:-1] for u in line.split() if u.isdigit())
    count = size = 0
    started = time.perf_counter()
    for i in range(0, len(uids), batch):
        chunk = uids[i : i + batch]
        resp = await asyncio.wait_for(
            client.uid(
                "fetch", f"{chunk[0]}:{chunk[-1]}", "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])"
            ),
            60,
        )
        assert resp.result == "OK", resp
        for line in resp.lines:
            if isinstance(line, bytearray):
                count += 1
                size += len(line)
    seconds = time.perf_counter() - started
    await asyncio.wait_for(client.logout(), 10)
    return {"messages": count, "bytes": size, "seconds": seconds, "msg_per_s": count / seconds}


async def raw_fetch_move(
    server: Dovecot, batch: int = 50, target: str = "raw-done", move_every: int = 500
) -> dict[str, Any]:
    """Fetch every INBOX message in batches and ``UID MOVE`` them away ``move_every`` at a
    time, with bare aioimaplib.

    What a processor held to rule 8 that did no work between the two commands would
    reach, moving 500 at a time: the inbox issue requires every message to be moved once
    decided, and on Dovecot's Maildir a move costs the server a sync of the folder
    (links, index, uidlist). Bare aioimaplib cannot move many more at once (its reader
    recurses once per response line and fails past about 900), while the poller's
    moves grow to 5,000 (``worker.poller.move_threshold``): so this is a yardstick, no
    longer a ceiling.
    """
    client = aioimaplib.IMAP4("127.0.0.1", server.port, timeout=60)
    await asyncio.wait_for(client.wait_hello_from_server(), 30)
    await asyncio.wait_for(client.login(server.user, server.password), 30)
    await asyncio.wait_for(client.create(target), 30)
    resp = await asyncio.wait_for(client.select("INBOX"), 120)
    assert resp.result == "OK", resp
    search = await asyncio.wait_for(client.uid_search("ALL", charset=None), 60)
    uids = sorted(int(u) for line in search.lines[:-1] for u in line.split() if u.isdigit())
    count = 0
    moving = 0.0
    pending: list[int] = []
    started = time.perf_counter()
    for i in range(0, len(uids), batch):
        chunk = uids[i : i + batch]
        resp = await asyncio.wait_for(
            client.uid(
                "fetch", f"{chunk[0]}:{chunk[-1]}", "(UID INTERNALDATE RFC822.SIZE BODY.PEEK[])"
            ),
            60,
        )
        assert resp.result == "OK", resp
        count += sum(isinstance(line, bytearray) for line in resp.lines)
        pending += chunk
        if len(pending) >= move_every or i + batch >= len(uids):
            t = time.perf_counter()
            resp = await asyncio.wait_for(
                client.uid("move", f"{pending[0]}:{pending[-1]}", target), 60
            )
            assert resp.result == "OK", resp
            moving += time.perf_counter() - t
            pending = []
    seconds = time.perf_counter() - started
    await asyncio.wait_for(client.logout(), 10)
    return {
        "messages": count,
        "seconds": seconds,
        "msg_per_s": count / seconds,
        "move_seconds": moving,
    }


class _NoCheckpoint:
    def get(self, source: str, key: str) -> str | None:
        return None

    def set(self, source: str, key: str, value: str) -> None:
        return None


async def source_fetch(server: Dovecot, batch: int = 50) -> dict[str, Any]:
    """The same messages through the adapter (sizes first, bodies, items; no settling)."""
    settings = ImapSource(
        name="bench",
        kind="imap",
        port=server.port,
        tls="none",
        username=server.user,
        batch_size=batch,
    )
    src = ImapMailSource(settings, _NoCheckpoint(), password=server.password, timeout=60)
    await src.connect()
    count = size = 0
    started = time.perf_counter()
    while items := await src.fetch(batch):
        count += len(items)
        size += sum(len(i.raw) for i in items)
    seconds = time.perf_counter() - started
    await src.close()
    return {"messages": count, "bytes": size, "seconds": seconds, "msg_per_s": count / seconds}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: float(r["msg_per_s"]))[len(runs) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is kept")
    args = parser.parse_args(argv)
    configure_logging("warning")
    root = Path(tempfile.mkdtemp(prefix="optout-bench-dovecot-"))
    server = Dovecot(root)
    try:
        server.start()
    except DovecotUnavailable as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
        return 2
    try:
        t = time.perf_counter()
        server.drop(backlog(args.n))
        load_s = time.perf_counter() - t
        asyncio.run(raw_fetch(server, args.batch))  # warm-up: Dovecot builds its index
        raws, adapters = [], []
        for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
            raws.append(asyncio.run(raw_fetch(server, args.batch)))
            adapters.append(asyncio.run(source_fetch(server, args.batch)))
        raw = _median(raws)
        adapter = _median(adapters)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "benchmark": "imap_raw",
        "messages": args.n,
        "batch": args.batch,
        "runs": args.repeat,
        "avg_bytes": round(raw["bytes"] / max(raw["messages"], 1)),
        "maildir_load_s": round(load_s, 2),
        "raw_aioimaplib": {k: round(v, 3) for k, v in raw.items()},
        "imap_source": {k: round(v, 3) for k, v in adapter.items()},
        "source_to_raw": round(adapter["msg_per_s"] / raw["msg_per_s"], 3),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "imap_raw.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"raw aioimaplib fetch, batch {args.batch}: {raw['msg_per_s']:,.0f} msg/s "
        f"({raw['messages']} msgs, {result['avg_bytes']} B avg, {raw['seconds']:.2f} s)\n"
        f"ImapMailSource.fetch:          {adapter['msg_per_s']:,.0f} msg/s "
        f"({result['source_to_raw']:.2f}x raw)\n"
        f"-> {OUT / 'imap_raw.json'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
