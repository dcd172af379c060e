"""Benchmark: the pure classifier on the intake benchmark's corpus-like backlog.

The intake target (≈5,000 msg/s on 2 cores, fetch and commit included) leaves the
classifier about 0.3 ms per message. The baseline, measured on the same messages in the
same run, is a bare ``email.message_from_bytes(raw, policy=compat32)``: the least any
classifier that parses its input pays. Figures are CPU time (``time.process_time``), the
best of a few rounds per chunk, so a busy machine disturbs them less; per kind too.

The classifier normally runs compiled (mypyc, ``scripts/build_native.py``); the same
backlog is also classified from the sources, in a child with ``OPTOUT_PURE_PYTHON=1``,
which shows what the build buys.

Run: ``python -m tests.bench.bench_classify [N]``, or ``python -m tests.bench classify``;
writes ``var/bench/classify.json``.
"""

from __future__ import annotations

import email
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from email.policy import compat32
from pathlib import Path

import worker._native
from tests.bench.bench_intake import KINDS, _message, corpus_like_backlog
from worker.core.classify import classify

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
TARGET_US = 300.0


def _per_message_us(fn: Callable[[bytes], object], msgs: list[bytes], rounds: int = 3) -> float:
    """Best-of-``rounds`` CPU microseconds per message, chunk by chunk."""
    chunk = max(1, min(1000, len(msgs)))
    total = 0.0
    for start in range(0, len(msgs), chunk):
        part = msgs[start : start + chunk]
        best = float("inf")
        for _ in range(rounds):
            began = time.process_time()
            for raw in part:
                fn(raw)
            best = min(best, time.process_time() - began)
        total += best
    return total / len(msgs) * 1e6


def _bare_parse(raw: bytes) -> object:
    return email.message_from_bytes(raw, policy=compat32)


def _backlog_us(n: int) -> float:
    msgs = list(corpus_like_backlog(n))
    for raw in msgs[:200]:  # warm up: compiled patterns, caches
        classify(raw)
    return _per_message_us(classify, msgs)


def _source_us(n: int) -> float | None:
    """The same figure with the compiled build turned off; None when there is none."""
    if not worker._native.COMPILED:
        return None
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_classify", "--backlog-us", str(n)],
        env={**os.environ, "OPTOUT_PURE_PYTHON": "1"}, cwd=ROOT, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip())


def run(n: int = 3000) -> dict[str, object]:
    msgs = list(corpus_like_backlog(n))
    classify_us = _backlog_us(n)
    source_us = _source_us(n)
    parse_us = _per_message_us(_bare_parse, msgs)
    rnd = random.Random(5)
    kinds = {}
    for kind in KINDS:
        sample = [_message(i, rnd, kind).encode() for i in range(200)]
        kinds[kind] = round(_per_message_us(classify, sample), 1)
    result: dict[str, object] = {
        "messages": n,
        "classify_us_per_msg": round(classify_us, 1),
        "compat32_parse_us_per_msg": round(parse_us, 1),
        "ratio_classify_over_parse": round(classify_us / parse_us, 2),
        "compiled_modules": list(worker._native.COMPILED),
        "source_us_per_msg": None if source_us is None else round(source_us, 1),
        "target_us_per_msg": TARGET_US,
        "per_kind_us_per_msg": kinds,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "classify.json").write_text(json.dumps(result, indent=2))
    print(
        f"classify {n} backlog messages: {classify_us:.0f} µs/msg (target {TARGET_US:.0f}) | "
        f"bare compat32 parse {parse_us:.0f} µs/msg | ratio {classify_us / parse_us:.2f}×"
    )
    if source_us is not None:
        modules = len(worker._native.COMPILED)
        print(f"   compiled ({modules} modules, mypyc): {classify_us:.0f} µs/msg; "
              f"the same sources interpreted: {source_us:.0f} µs/msg, "
              f"{source_us / classify_us:.2f}× slower")  # fmt: skip
    else:
        print("   running from the sources (no compiled build: `make install` makes one)")
    print("   per kind (µs/msg): " + ", ".join(f"{k} {v:.0f}" for k, v in kinds.items()))
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--backlog-us"]:
        print(_backlog_us(int(sys.argv[2])))
    else:
        run(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
