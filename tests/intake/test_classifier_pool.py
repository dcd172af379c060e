"""The classifier pool: the same answers as classifying in place, whatever happens to it."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.intake import messages as m
from worker.bootstrap import intake_from
from worker.classifier import ClassifierPool, default_workers, start_pool
from worker.config import Settings, SmtpSettings
from worker.core.prepared import prepare_many
from worker.service import OptoutService

MIXED = [
    m.UNSUBSCRIBE,
    m.OUT_OF_OFFICE,
    m.QUESTION_WITH_FOOTER,
    m.DSN_HARD,
    m.ERASURE,
    b"\x00\xff not a message at all \r\n\r\n\xfe",
    b"Subject: =?utf-8?q?half_an_encoded=\r\n\r\n--broken-boundary\r\n",
    b"",
] * 3


def test_a_pool_answers_exactly_what_classifying_in_place_answers() -> None:
    pool = ClassifierPool(2, min_items=1).start()
    try:
        got = asyncio.run(pool.prepare(MIXED))
    finally:
        pool.close()
    assert got == prepare_many(MIXED)


def test_small_batches_and_zero_workers_never_start_processes() -> None:
    small = ClassifierPool(2, min_items=8)
    none = ClassifierPool(0, min_items=1).start()
    assert asyncio.run(small.prepare(MIXED[:3])) == prepare_many(MIXED[:3])
    assert asyncio.run(none.prepare(MIXED)) == prepare_many(MIXED)
    assert small._pool is None
    assert none._pool is None


def test_a_worker_killed_under_a_batch_loses_nothing_and_the_pool_comes_back() -> None:
    pool = ClassifierPool(2, min_items=1).start()
    try:
        assert pool._pool is not None
        victim = next(iter(pool._pool._processes))  # a worker's pid
        os.kill(victim, signal.SIGKILL)  # the OOM killer, say
        # the executor notices a death on its own thread; until then a fast batch may
        # still go through the surviving worker, so wait for it to see the pool broken
        deadline = time.monotonic() + 10
        while not pool._pool._broken and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool._pool._broken
        again = asyncio.run(pool.prepare(MIXED))  # broken pool: classified in a thread
        assert again == prepare_many(MIXED)
        later = asyncio.run(pool.prepare(MIXED))  # and a new pool for what follows
        assert later == prepare_many(MIXED)
        assert pool._pool is not None
        assert victim not in pool._pool._processes
    finally:
        pool.close()


def test_workers_ignore_a_ctrl_c_sent_to_the_whole_process_group() -> None:
    pool = ClassifierPool(1, min_items=1).start()
    try:
        assert pool._pool is not None
        (pid,) = pool._pool._processes
        os.kill(pid, signal.SIGINT)  # the parent decides when to stop
        assert asyncio.run(pool.prepare(MIXED)) == prepare_many(MIXED)
        assert pid in pool._pool._processes  # the same worker, alive
    finally:
        pool.close()


@pytest.mark.parametrize("workers", [None, 3])
def test_worker_count_follows_the_setting(workers: int | None) -> None:
    pool = ClassifierPool(workers)
    assert pool.workers == (workers or max(1, len(os.sched_getaffinity(0)) - 1))


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_default_leaves_the_parent_one_core(cores: int, expected: int) -> None:
    assert default_workers(cores) == expected


def test_the_workers_know_our_own_addresses() -> None:
    bounce = m.DSN_HARD.replace(b"gone.user@example.net", b"news@example.com")
    ours = frozenset({"news@example.com"})
    pool = ClassifierPool(1, min_items=1, ours=ours).start()
    try:
        (got,) = asyncio.run(pool.prepare([bounce]))
    finally:
        pool.close()
    assert got.classification.addresses == ()
    assert prepare_many([bounce])[0].classification.addresses == ("news@example.com",)


def test_the_parent_reads_the_answers_without_importing_the_classifier() -> None:
    # worker.core.verdict holds the answers' classes: the parent process (optout poll's)
    # unpickles them without the classifier's 0.1 s import, which its worker makes
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import asyncio, sys\n"
        "from tests.intake import messages as m\n"
        "from worker.classifier import ClassifierPool\n"
        "pool = ClassifierPool(1, min_items=1).start()\n"
        "got = asyncio.run(pool.prepare([m.UNSUBSCRIBE, m.DSN_HARD] * 5))\n"
        "pool.close()\n"
        "print('CLASSES', ' '.join(p.classification.message_class for p in got))\n"
        "print('LOADED', 'worker.core.classify' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "CLASSES " + " ".join(["unsubscribe", "bounce"] * 5) in out
    assert "LOADED False" in out


def test_the_pool_a_poll_forks_first_classifies_as_its_intake_service_commits(
    settings: Settings, service: OptoutService
) -> None:
    # `optout poll` starts its pool from the settings alone, before the database side
    # exists (see start_pool); the intake service is built later from the same settings.
    # An SMTP sender makes `ours` non-trivial here.
    smtp = SmtpSettings.model_validate({"host": "localhost", "from": "News <news@example.com>"})
    configured = settings.model_copy(update={"smtp": smtp})
    policy = intake_from(configured, service).policy
    pool = start_pool(configured)
    try:
        assert (pool.max_bytes, pool.ours) == (policy.max_bytes, policy.ours)
        assert "news@example.com" in pool.ours
        assert pool.workers == (configured.intake.workers or default_workers())
    finally:
        pool.close()
