"""Drives sources: fetch → classify → commit → settle, with IDLE between passes.

The batch in hand is shielded from cancellation, so a SIGTERM finishes it (commit and
move) before the poller stops. When the database is down, nothing is settled: the
source rewinds and the messages are taken again on the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from worker.bootstrap import App
from worker.classifier import ClassifierPool, start_pool
from worker.config import LinklogSource
from worker.core.plan import Disposition
from worker.core.verdict import Prepared
from worker.errors import DatabaseUnavailable
from worker.intake import IntakeService, ItemResult
from worker.links import LinkService
from worker.sources.base import AHEAD, COMMIT_EVERY, Backoff, RawItem, Source, SourceUnavailable
from worker.sources.linklog import LinklogReader
from worker.store.lease import Lease
from worker.store.state import SourceStateStore

if TYPE_CHECKING:  # APScheduler and prometheus_client: the daemon's, `optout poll` needs neither
    from worker.metrics import Metrics
    from worker.scheduler import JobReport

log = structlog.get_logger("optout.poller")


#: committed messages gathered before the first move of a pass, and at least before any
#: later one: a move costs the server a sync of the whole folder whatever its size
#: (Dovecot's Maildir: 50 per move ran at 0.15x of a bare fetch, 500 at 0.40x); the
#: server answers with a line per message, which aioimaplib's own reader took one
#: recursive call each for (ours, sources/imap_proto.py, loops)
MOVE_EVERY = 500
#: the most committed messages one move waits for (see :func:`move_threshold`)
MOVE_MAX = 5000


def move_threshold(moved: int, least: int = MOVE_EVERY, most: int = MOVE_MAX) -> int:
    """Committed messages to gather before the next move, ``moved`` having been moved
    (or handed to a move) in this pass already: as many again, between ``least`` and
    ``most``.

    Each move costs the server time in proportion to the folder, not to the move: on
    Dovecot's Maildir, moving a 40,000-message backlog 500 at a time cost it 5.6 s of
    CPU, 2,000 at a time 2.8 s and 5,000 at a time 2.2 s (10,000 messages: 0.61, 0.46,
    0.45 s). Doubling the size as a pass goes keeps the first messages' moves prompt, a
    short pass (an IDLE wake-up) unchanged, and makes the number of moves grow with the
    logarithm of the backlog up to ``most``, then linearly at one per ``most``.
    """
    return max(least, min(most, moved))


@dataclass(frozen=True)
class _Decided:
    done: dict[tuple[str, str], ItemResult]
    todo: list[RawItem]
    prepared: list[Prepared]


@dataclass
class PassStats:
    source: str
    fetched: int = 0
    new: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class Poller:
    def __init__(
        self,
        source: Source,
        intake: IntakeService,
        *,
        batch: int = COMMIT_EVERY,
        metrics: Metrics | None = None,
        lease: Lease | None = None,
        pool: ClassifierPool | None = None,
        move_every: int = MOVE_EVERY,
        move_max: int = MOVE_MAX,
        connected: bool = False,
    ) -> None:
        self.source = source
        self.pool = pool or ClassifierPool(
            0, max_bytes=intake.policy.max_bytes, ours=intake.policy.ours
        )
        self.intake = intake
        self.batch = batch
        self.move_every = move_every
        self.move_max = max(move_every, move_max)
        self.metrics = metrics
        self.lease = lease
        self.stop = asyncio.Event()
        #: a source connected before the poller was made (see :meth:`preload`)
        self._connected = connected
        self._head: list[tuple[list[RawItem], asyncio.Future[list[Prepared]]]] = []
        self._lock = asyncio.Lock()
        # one thread for the pass's database work (the "done" check of the next batch,
        # the commit of this one): one connection, so one SQLite page cache fills, not
        # two (10,000-message poll: peak RSS 151 MB instead of 160, the pass 2 % faster)
        self._db = ThreadPoolExecutor(1, thread_name_prefix="optout-db")
        self._warmed = False

    @property
    def name(self) -> str:
        return self.source.name

    def preload(self, batches: list[tuple[list[RawItem], asyncio.Future[list[Prepared]]]]) -> None:
        """Batches the source handed out before the database was open, their
        classification under way (`optout poll`'s head start, see worker.cli_intake), at
        most ``AHEAD``: the next pass commits them first, in order, then fetches on. Not
        checked against what is decided already, as a fetched batch is (:meth:`_decide`):
        the commit finds an item decided before and changes nothing for it. Dropped if the
        pass never runs (another instance holds the lease)."""
        self._head = list(batches[:AHEAD])

    async def ensure_connected(self) -> None:
        if not self._connected:
            await self.source.connect()
            self._connected = True

    async def poll_once(self) -> PassStats:
        """Drain the source: every message there now is processed and settled.

        A pipeline (see :meth:`_pipeline`) keeps the mailbox connection, the classifier
        processes and the database busy at the same time.
        """
        async with self._lock:
            started = time.perf_counter()
            stats = PassStats(self.name)
            try:
                await self.ensure_connected()
                await self._pipeline(stats)
            except SourceUnavailable:
                self._connected = False
                raise
            except DatabaseUnavailable:
                self.source.rewind()  # what was not committed comes back later
                raise
            stats.seconds = time.perf_counter() - started
            if stats.fetched:
                log.info(
                    "poll.pass",
                    source=self.name,
                    fetched=stats.fetched,
                    new=stats.new,
                    classes=dict(stats.by_class),
                    outcomes=dict(stats.by_outcome),
                    seconds=round(stats.seconds, 3),
                )
            return stats

    def _warm_up(self) -> None:
        """The first commit's one-off work (the holiday calendar, see
        ``OptoutService.warm_up``), on the database thread while the first batch is
        classified: the commits of a pass run one after the other on that thread, the
        pass's busiest. Not sooner: the source's connect, a dozen round trips on the event
        loop, took 0.16 s instead of 0.05 with the calendar being built beside it (they
        share the GIL), and it delayed the first batch by as much. A failure here only
        leaves the work to the first commit."""
        try:
            self.intake.service.warm_up()
        except Exception as exc:  # the commit will meet (and report) the same problem
            log.debug("poll.warm_up_failed", source=self.name, error=repr(exc))

    async def _pipeline(self, stats: PassStats) -> None:
        """Fetch, classify, commit and move, each stage on its own resource at once.

        A fetcher task reads batches and starts their classification in the pool the
        moment they arrive; this task commits them in order in a database thread and
        starts their move. Fetches and moves share the one mailbox connection (a lock
        keeps one command at a time on it), so while batch N is committed, batch N-1 is
        being moved, N+1 classified and N+2 fetched. Rule 8 holds per batch: a batch is
        moved only after its commit. Committed messages are moved ``move_every`` at a time
        at first, in larger moves as the pass goes on (:func:`move_threshold`)
        (or sooner: at the end of the pass or on a stop request), their
        bodies dropped meanwhile. At most ``AHEAD`` batches wait, which keeps memory
        flat in the backlog size. On the way out, batches fetched but not committed are
        handed back to the source (``rewind``), to be taken again by the next pass.
        """
        wire = asyncio.Lock()
        room = asyncio.Semaphore(AHEAD)
        ahead: asyncio.Queue[tuple[list[RawItem], asyncio.Task[_Decided]] | None]
        ahead = asyncio.Queue()  # bounded by ``room``, so the last word always fits
        fetcher = asyncio.ensure_future(self._fetch_all(wire, room, ahead))
        moving: asyncio.Task[None] | None = None
        committed: list[tuple[RawItem, Disposition]] = []
        handed = 0  # committed messages handed to a move in this pass
        clean = False
        try:
            while (entry := await ahead.get()) is not None:
                room.release()
                items, deciding = entry
                decided = await deciding
                # shielded: a stop request lets the batch in hand finish its commit
                results = await asyncio.shield(self._commit(items, decided, stats))
                committed.extend((i.without_body(), d) for i, d in results)
                due = move_threshold(handed, self.move_every, self.move_max)
                if len(committed) >= due or self.stop.is_set():
                    if moving is not None:
                        await moving
                    moving = asyncio.ensure_future(self._move(wire, committed))
                    handed += len(committed)
                    committed = []
                if self.stop.is_set():
                    break
            else:
                clean = True
            if moving is not None:
                await asyncio.shield(moving)
            if committed:
                moving = None
                await asyncio.shield(self._move(wire, committed))
                committed = []
            if clean:
                await fetcher  # raises what stopped the fetcher, if anything did
        finally:
            if not fetcher.done():
                fetcher.cancel()
            for task in (fetcher, moving):
                if task is not None:
                    with contextlib.suppress(BaseException):
                        await task
            if committed:  # committed before a failure: moved now if the server still answers
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._move(wire, committed))
            while not ahead.empty():
                if (left := ahead.get_nowait()) is not None:
                    left[1].cancel()
                    clean = False
            if not clean:
                self.source.rewind()

    async def _fetch_all(
        self,
        wire: asyncio.Lock,
        room: asyncio.Semaphore,
        ahead: asyncio.Queue[tuple[list[RawItem], asyncio.Task[_Decided]] | None],
    ) -> None:
        try:
            head, self._head = self._head, []
            for items, prepared in head:
                await room.acquire()
                ahead.put_nowait((items, asyncio.ensure_future(self._decided(items, prepared))))
            while not self.stop.is_set():
                await room.acquire()
                async with wire:
                    items = await self.source.fetch(self.batch)
                if not items:
                    break
                ahead.put_nowait((items, asyncio.ensure_future(self._decide(items))))
        finally:
            ahead.put_nowait(None)  # the last word: no more batches (or an error)

    async def _decide(self, items: list[RawItem]) -> _Decided:
        """Skip what is already decided (one query), classify the rest."""
        done = await asyncio.get_running_loop().run_in_executor(self._db, self.intake.done, items)
        self._warm_once()
        todo = [i for i in items if (i.source, i.key) not in done]
        prepared = await self.pool.prepare([i.raw for i in todo]) if todo else []
        return _Decided(done, todo, prepared)

    async def _decided(
        self, items: list[RawItem], prepared: asyncio.Future[list[Prepared]]
    ) -> _Decided:
        """The preloaded batch (see :meth:`preload`), classified in full."""
        self._warm_once()
        return _Decided({}, items, await prepared)

    def _warm_once(self) -> None:
        if not self._warmed:  # the database thread is idle until this batch is classified
            self._warmed = True
            self._db.submit(self._warm_up)

    def _drop_head(self) -> None:
        if self._head:
            for _, prepared in self._head:
                prepared.cancel()
            self._head = []
            self.source.rewind()

    async def _commit(
        self, items: list[RawItem], d: _Decided, stats: PassStats
    ) -> list[tuple[RawItem, Disposition]]:
        """One database transaction for the batch (see IntakeService.commit_many)."""
        committed = await asyncio.get_running_loop().run_in_executor(
            self._db, self.intake.commit_many, d.todo, d.prepared
        )
        by_key = dict(d.done)
        for item, result in zip(d.todo, committed, strict=True):
            by_key[(item.source, item.key)] = result
            if self.metrics is not None:
                self._observe(item, result)
        results = [by_key[(item.source, item.key)] for item in items]
        stats.fetched += len(results)
        stats.new += sum(r.new for r in results)
        stats.by_class.update([r.message_class or "?" for r in results])
        stats.by_outcome.update([r.disposition.value for r in results])
        return [(item, r.disposition) for item, r in zip(items, results, strict=True)]

    async def _move(self, wire: asyncio.Lock, settled: list[tuple[RawItem, Disposition]]) -> None:
        """One command per target folder for the whole batch."""
        async with wire:
            await self.source.settle_many(settled)

    def _observe(self, item: RawItem, result: ItemResult) -> None:
        if self.metrics is None or not result.new:
            return
        self.metrics.items.labels(self.name, result.message_class or "?",
                                  result.disposition.value).inc()  # fmt: skip
        if result.request_ids and result.disposition is Disposition.PROCESSED:
            self.metrics.observe_suppression("email", item.received_at, self.intake.clock.now())

    async def run_forever(self, interval: float, report: JobReport) -> None:
        """Watch the mailbox until stopped: a full pass at least every ``interval``
        seconds and at once whenever the server announces new mail (IDLE), so a reply
        becomes a suppression within about a second of landing. Errors are reported and
        retried with exponential backoff; the loop itself never ends on them."""
        backoff = Backoff(base=1.0, cap=300.0)
        while not self.stop.is_set():
            try:
                if not await self._take_lease():
                    await self._sleep(interval)
                    continue
                try:
                    await self._watch(interval, report)
                finally:
                    await self._drop_lease()
                backoff.reset()
            except Exception as exc:  # network, database, anything: retry later
                self._connected = False
                self.source.rewind()
                delay = backoff.next_delay()
                report.failure(exc, delay)
                await self._sleep(delay)

    async def _watch(self, interval: float, report: JobReport) -> None:
        await self.poll_once()
        report.success()
        due = time.monotonic() + interval
        while not self.stop.is_set():
            remaining = due - time.monotonic()
            if remaining <= 0 or await self._wait(remaining):
                await self.poll_once()
                report.success()
                if remaining <= 0:
                    due = time.monotonic() + interval

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    async def poll_leased(self) -> PassStats | None:
        """One pass if no other instance is polling this mailbox; None otherwise."""
        if not await self._take_lease():
            return None
        try:
            return await self.poll_once()
        finally:
            await self._drop_lease()

    async def _take_lease(self) -> bool:
        if self.lease is None:
            return True
        if await asyncio.to_thread(self.lease.acquire):
            return True
        self._drop_head()
        log.debug("poll.skipped", source=self.name, reason="another instance holds the lease")
        if self._connected:  # let the other instance have the mailbox to itself
            await self.source.close()
            self._connected = False
        return False

    async def _drop_lease(self) -> None:
        if self.lease is not None:
            await asyncio.to_thread(self.lease.release)

    async def _wait(self, timeout: float) -> bool:
        async with self._lock:
            waiter = asyncio.ensure_future(self.source.wait_for_new(timeout))
            stopper = asyncio.ensure_future(self.stop.wait())
            done, pending = await asyncio.wait(
                {waiter, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if waiter in done and waiter.exception() is not None:
                self._connected = False
                raise waiter.exception()  # type: ignore[misc]
            return waiter in done and bool(waiter.result())

    async def close(self) -> None:
        self.stop.set()
        self._drop_head()
        async with self._lock:
            await self.source.close()
            self._connected = False
        self._db.shutdown(wait=False)


def classifier_pool(app: App, only: str | None = None) -> ClassifierPool:
    """The pool every mailbox poller of this process shares (see
    :func:`worker.classifier.start_pool`), forked after the intake service is built, so
    the daemon's workers share its pages (the daemon is up for weeks; `optout poll`
    forks sooner, see worker.cli_intake)."""
    app.intake  # noqa: B018 - built on first use (see App): before the freeze
    return start_pool(app.settings, only)


def linklog_readers(app: App, only: str | None = None) -> list[LinklogReader]:
    """Readers for the ``linklog`` sources (access logs of a web server serving links)."""
    entries = [s for s in app.settings.sources if isinstance(s, LinklogSource)]
    if only is not None:
        entries = [s for s in entries if s.name == only]
    if not entries:
        return []
    links = LinkService.from_settings(app.service, app.settings)
    states = SourceStateStore(app.store)
    return [LinklogReader(e, links, states) for e in entries]
