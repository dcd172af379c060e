"""Benchmark: reading FETCH responses, FastProtocol beside aioimaplib's own reader.

The same byte stream (UID FETCH responses of 50 corpus-like messages, as Dovecot sends
them, with the tagged OK) is fed to both protocols in reads of 16, 64 and 256 KB (the
event loop reads up to 256 KB at a time); the figure is CPU time per message, and the
baseline is aioimaplib's ``IMAP4ClientProtocol`` in the same run. No server: this
measures the client's reading alone; ``bench_intake`` measures the whole pass.

Run: ``python -m tests.bench.bench_imap_proto [N]``; writes ``var/bench/imap_proto.json``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from aioimaplib import aioimaplib as impl

from tests.bench.bench_intake import corpus_like_backlog
from worker.sources.imap_proto import FastProtocol

OUT = Path(__file__).resolve().parents[2] / "var" / "bench"
BATCH = 50
READS = (16_384, 65_536, 262_144)


class _Sink:
    def write(self, data: bytes) -> None:
        pass


def _stream(tag: str, batch: list[bytes]) -> bytes:
    out = [
        b"* %d FETCH (UID %d RFC822.SIZE %d BODY[] {%d}\r\n" % (i, i, len(m), len(m)) + m + b")\r\n"
        for i, m in enumerate(batch, 1)
    ]
    return b"".join(out) + tag.encode() + b" OK Fetch completed.\r\n"


async def _read(cls: type[Any], messages: list[bytes], read: int) -> float:
    loop = asyncio.get_running_loop()
    proto = cls(loop, None)
    proto.transport = _Sink()
    proto.state = impl.SELECTED
    spent = 0.0
    for start in range(0, len(messages), BATCH):
        batch = messages[start : start + BATCH]
        cmd = impl.FetchCommand(proto.new_tag(), "1:*", "(BODY.PEEK[])", prefix="UID", loop=loop)
        proto.pending_sync_command = cmd
        data = _stream(cmd.tag, batch)
        t = time.process_time()
        for pos in range(0, len(data), read):
            proto.data_received(data[pos : pos + read])
        spent += time.process_time() - t
        literals = [x for x in cmd.response.lines if isinstance(x, bytearray)]
        if cmd.response.result != "OK" or literals != batch:
            raise RuntimeError(f"{cls.__name__} misread a FETCH response")
    return spent


def run(n: int = 2_000) -> dict[str, Any]:
    messages = list(corpus_like_backlog(n))
    result: dict[str, Any] = {"benchmark": "imap_proto", "messages": n, "reads": {}}
    for read in READS:
        stock = asyncio.run(_read(impl.IMAP4ClientProtocol, messages, read))
        fast = asyncio.run(_read(FastProtocol, messages, read))
        row = {
            "aioimaplib_us_per_msg": round(stock / n * 1e6, 1),
            "fast_us_per_msg": round(fast / n * 1e6, 1),
            "speedup": round(stock / fast, 1),
        }
        result["reads"][str(read)] = row
        print(
            f"FETCH reading, {read // 1024:>3} KB reads: FastProtocol {row['fast_us_per_msg']} "
            f"us/msg, aioimaplib {row['aioimaplib_us_per_msg']} us/msg "
            f"(baseline, same run): {row['speedup']}x faster"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "imap_proto.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)
