"""FastProtocol reads every byte stream exactly as aioimaplib's own reader does.

Each stream is fed to both protocols in many cuttings (whole, one byte at a time, every
two-piece cut, random cuts, aioimaplib's 256 KB reads); the commands must end with the
same result and the same lines (type included: literals are ``bytearray``), and the
protocols with the same leftover state.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest
from aioimaplib import aioimaplib as impl

from worker.sources.imap_proto import FastIMAP4, FastProtocol


class _Sink:
    def write(self, data: bytes) -> None:
        pass


def _fetch_stream(tag: str, bodies: list[bytes], extra: bytes = b"") -> bytes:
    out = []
    for i, body in enumerate(bodies, 1):
        out.append(
            b'* %d FETCH (UID %d INTERNALDATE "01-Mar-2024 17:00:00 +0000" RFC822.SIZE %d '
            b"BODY[] {%d}\r\n" % (i, 100 + i, len(body), len(body)) + body + b")\r\n"
        )
        if i == 1:
            out.append(extra)
    out.append(tag.encode() + b" OK Fetch completed (0.001 + 0.000 secs).\r\n")
    return b"".join(out)


BODIES = [
    b"From: a@example.org\r\nSubject: (hi\r\n\r\nstop {5}\r\n) unbalanced ((\r\n",
    b"",
    b"x",
    b"line\r\n" * 40 + b"tail without CRLF",
    b"\r\n",
    b"* 3 FETCH (UID 9 BODY[] {2}\r\nab)\r\n",  # a response inside a literal is data
]


def _scenarios() -> Iterator[tuple[str, str, dict[str, Any], bytes]]:
    yield "fetch", "FETCH", {}, _fetch_stream("TAG", BODIES)
    yield "fetch_exists_between", "FETCH", {}, _fetch_stream("TAG", BODIES, b"* 7 EXISTS\r\n")
    # an unbalanced line before a message's FETCH line: the balance starts again there
    yield (
        "fetch_unbalanced_between",
        "FETCH",
        {},
        _fetch_stream("TAG", BODIES, b"* OK still :)\r\n"),
    )
    sizes = b"".join(
        b"* %d FETCH (UID %d RFC822.SIZE %d)\r\n" % (i, i, i * 10) for i in range(1, 30)
    )
    yield "fetch_sizes_only", "FETCH", {}, sizes + b"TAG OK done\r\n"
    yield (
        "fetch_literal_then_items",
        "FETCH",
        {},
        b"* 1 FETCH (BODY[] {3}\r\nabc FLAGS (\\Seen) UID 4)\r\nTAG OK done\r\n",
    )
    yield "fetch_no", "FETCH", {}, b"TAG NO [SERVERBUG] broken\r\n"
    yield (
        "search",
        "SEARCH",
        {"untagged_resp_name": "SEARCH"},
        b"* SEARCH " + b" ".join(str(i).encode() for i in range(1, 400)) + b"\r\nTAG OK done\r\n",
    )
    yield (
        "select",
        "SELECT",
        {},
        (
            b"* 12 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1700000000] UIDs valid\r\n"
            b"* OK [UIDNEXT 13] Predicted next UID\r\nTAG OK [READ-WRITE] Select completed.\r\n"
        ),
    )
    big = [random.Random(3).randbytes(n).replace(b"\r\n", b"..") for n in (70_000, 300_000)]
    yield "fetch_big", "FETCH", {}, _fetch_stream("TAG", [*big, b"small"])


def _cuts(data: bytes, seed: int) -> Iterator[list[bytes]]:
    yield [data]
    yield [data[i : i + 262_144] for i in range(0, len(data), 262_144)]
    yield [data[i : i + 65_536] for i in range(0, len(data), 65_536)]
    if len(data) < 5_000:
        yield [data[i : i + 1] for i in range(len(data))]
        for k in range(1, len(data)):
            yield [data[:k], data[k:]]
    rnd = random.Random(seed)
    for _ in range(25):
        pieces, pos = [], 0
        while pos < len(data):
            step = rnd.choice([1, 2, 3, 7, 64, 1000, 40_000])
            pieces.append(data[pos : pos + step])
            pos += step
        yield pieces


def _run(
    cls: type[impl.IMAP4ClientProtocol], name: str, kw: dict[str, Any], pieces: list[bytes]
) -> Any:
    loop = asyncio.new_event_loop()
    try:
        proto = cls(loop, None)
        proto.transport = _Sink()  # type: ignore[assignment]
        proto.state = impl.SELECTED
        command = impl.FetchCommand if name == "FETCH" else impl.Command
        args = ("TAG",) if name == "FETCH" else (name, "TAG")
        cmd = command(*args, loop=loop, timeout=None, **kw)  # type: ignore[arg-type]
        proto.pending_sync_command = cmd
        for piece in pieces:
            proto.data_received(piece)
        lines = [(type(x).__name__, bytes(x)) for x in cmd.response.lines]
        return cmd.response.result, lines, proto.incomplete_line, proto.current_command is None
    finally:
        loop.close()


SCENARIOS = list(_scenarios())


@pytest.mark.parametrize(("label", "name", "kw", "data"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_same_responses_as_aioimaplib_in_every_cutting(
    label: str, name: str, kw: dict[str, Any], data: bytes
) -> None:
    for n, pieces in enumerate(_cuts(data, seed=len(label))):
        assert b"".join(pieces) == data
        stock = _run(impl.IMAP4ClientProtocol, name, kw, pieces)
        fast = _run(FastProtocol, name, kw, pieces)
        assert fast == stock, (label, n)
    assert stock[0] in ("OK", "NO"), stock[0]


def test_fetch_literals_arrive_whole() -> None:
    """Not only equal to aioimaplib: what the source reads is the message, byte for byte."""
    result, lines, _, done = _run(FastProtocol, "FETCH", {}, [_fetch_stream("TAG", BODIES)])
    assert (result, done) == ("OK", True)
    assert [b for kind, b in lines if kind == "bytearray"] == BODIES


def test_an_unfinished_response_waits_for_more() -> None:
    data = _fetch_stream("TAG", BODIES)
    for cut in (len(data) // 2, len(data) - 5):
        assert _run(FastProtocol, "FETCH", {}, [data[:cut]]) == _run(
            impl.IMAP4ClientProtocol, "FETCH", {}, [data[:cut]]
        )
        assert _run(FastProtocol, "FETCH", {}, [data[:cut]])[0] == "Pending"


def test_the_client_connects_through_the_fast_protocol() -> None:
    async def make() -> FastIMAP4:
        client = FastIMAP4("127.0.0.1", 9, timeout=1)
        client._client_task.cancel()
        return client

    client = asyncio.run(make())
    assert type(client.protocol) is FastProtocol
