"""Classification on the other cores: a process pool fed one chunk per worker per batch.

Parsing and classifying a message costs far more CPU than fetching or committing it, and
a Python thread cannot run it beside the event loop. So the poller hands each fetched
batch to :class:`ClassifierPool`, which splits it over worker processes while the event
loop fetches the next batch and a database thread commits the previous one.

Small batches (an IDLE wake-up with one reply) are classified in a thread instead: the
pool would add a round trip and nothing to gain. A worker that dies (OOM killer, a
signal) breaks the pool; the batch is then classified in a thread and a new pool is
started for the next one, so a crash there never loses or delays an item.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from worker import regex_cache
from worker.config import Settings, mailbox_entries
from worker.core.verdict import DEFAULT_MAX_BYTES, Prepared

log = structlog.get_logger("optout.classifier")

#: batches smaller than this are classified in a thread (see module doc)
MIN_POOL_ITEMS = 8


def default_workers(cores: int | None = None) -> int:
    """One worker per core the process may use but one, and at least one.

    The remaining core is the parent's: its event loop reads the server's responses and
    hands out batches, and its database thread commits them, while Dovecot (on the same
    machine in the benchmark) serves the fetches and moves. On 2 cores one worker drained
    the 10,000-message backlog about 5 % faster than two (wall clock, 5 paired runs of
    the bench_intake backlog): a second worker only added processes taking turns on the same cores.
    """
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
    return max(1, cores - 1)


def _start_worker() -> None:
    """A classifier process's first steps, right after the fork."""
    # Ctrl-C reaches the whole process group; stopping is the parent's decision, and it
    # finishes the batch in hand first. SIGTERM is left alone: the executor uses it to
    # end the workers of a broken pool, and a worker ended by one (systemd's default
    # KillMode sends it to every process of the unit; deploy/ uses KillMode=mixed) only
    # costs a fallback to classifying in a thread.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked over the fork (see ClassifierPool._ensure)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # The classifier's modules (0.07 s to import with their 1,260 patterns compiled
    # ahead, see worker.regex_cache; 0.145 s when each is compiled here) are imported
    # here, in the worker only, while the parent goes on connecting to the
    # mailbox and fetching the first batch; kept for the process's life, they are frozen
    # out of the collector's walks (see worker.cli).
    gc.disable()
    try:
        regex_cache.import_module("worker.core.prepared")
    finally:
        gc.freeze()
        gc.enable()


def _block_interrupts() -> set[int | signal.Signals] | None:
    """Block SIGINT in the calling thread; the mask before, for :func:`_restore_mask`."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        return None
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}))


def _restore_mask(mask: set[int | signal.Signals] | None) -> None:
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _prepare(raws: list[bytes], max_bytes: int, ours: frozenset[str]) -> list[Prepared]:
    """:func:`worker.core.prepared.prepare_many`, imported on first use: this module is
    the parent's too, which only reads the answers (see worker.core.verdict)."""
    prepare_many = regex_cache.import_module("worker.core.prepared").prepare_many
    return prepare_many(raws, max_bytes, ours)  # type: ignore[no-any-return]


class ClassifierPool:
    def __init__(
        self,
        workers: int | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        min_items: int = MIN_POOL_ITEMS,
        ours: frozenset[str] = frozenset(),
    ) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self.max_bytes = max_bytes
        #: our own addresses (see worker.core.classify.classify)
        self.ours = ours
        self.min_items = min_items
        self._pool: ProcessPoolExecutor | None = None

    async def prepare(self, raws: Sequence[bytes]) -> list[Prepared]:
        """Classify ``raws``; the answers in the same order. Never raises for a message."""
        if self.workers == 0 or len(raws) < self.min_items:
            return await asyncio.to_thread(_prepare, list(raws), self.max_bytes, self.ours)
        pool = self._ensure()
        loop = asyncio.get_running_loop()
        size = -(-len(raws) // self.workers)
        chunks = [list(raws[i : i + size]) for i in range(0, len(raws), size)]
        try:
            parts = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, _prepare, c, self.max_bytes, self.ours)
                    for c in chunks
                )
            )
        except BrokenProcessPool:
            log.warning("classifier.pool_broken", items=len(raws), action="classified in a thread")
            self._discard()
            return await asyncio.to_thread(_prepare, list(raws), self.max_bytes, self.ours)
        return [p for part in parts for p in part]

    def start(self) -> ClassifierPool:
        """Fork the workers now. Call it before the process starts threads: a fork
        copies only the calling thread, and a lock another thread held at that moment
        stays held in the child for good. At start-up nothing but the main thread runs.
        (``spawn`` would avoid the question but re-imports the whole application in
        every worker, about a second each, which a short ``optout poll`` cannot afford.)
        """
        if self.workers > 0:
            self._ensure()
        return self

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
            )
            # with "fork", the first submit forks every worker at once, before the
            # executor starts its own manager thread. Not waited for: a worker imports
            # the classifier first (see _start_worker), while this process goes on. So
            # Ctrl-C is blocked over the fork: a worker is born with it blocked, until
            # its first step ignores it, and this process gets it (queued) after.
            blocked = _block_interrupts()
            try:
                pool.submit(int)
            finally:
                _restore_mask(blocked)
            self._pool = pool
        return self._pool

    def _discard(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def start_pool(settings: Settings, only: str | None = None) -> ClassifierPool:
    """The pool every mailbox poller of the process shares (``[intake] workers``),
    forked at once (see :meth:`ClassifierPool.start`); none without a mailbox source.

    It needs only the settings, so `optout poll` forks it before it imports the database
    side: the worker imports the classifier (0.14 s) while this process imports
    SQLAlchemy and the store, and is ready by the time the first batch is fetched.
    ``max_bytes`` and ``ours`` are what ``bootstrap.intake_from`` gives the intake
    service (test_classifier_pool.py holds the two together).
    """
    workers = settings.intake.workers if mailbox_entries(settings, only) else 0
    # Everything imported and built so far lives as long as the process: frozen, the
    # collector stops walking it on every full collection (10-20 % of a commit's CPU
    # here) and the forked workers keep sharing its pages instead of copying them.
    gc.freeze()
    return ClassifierPool(
        workers, max_bytes=DEFAULT_MAX_BYTES, ours=settings.own_addresses()
    ).start()
