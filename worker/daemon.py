"""`optout run`: the scheduler and the HTTP server on one event loop.

SIGTERM and SIGINT ask uvicorn to finish in-flight requests, let the item in hand be
committed and moved, close IMAP/SMTP/DB, and exit 0 — what systemd and container
runtimes expect of a clean stop. uvicorn's own signal capture is switched off because
it re-raises the signal after shutdown, which would turn a clean stop into status 143.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import structlog
import uvicorn

from worker.api.app import create_app
from worker.bootstrap import App
from worker.classifier import ClassifierPool
from worker.config import mailbox_entries
from worker.errors import OptoutError
from worker.monitor import DeadlineMonitor
from worker.poller import Poller, classifier_pool, linklog_readers
from worker.retention import Retention
from worker.scheduler import JobReport, Scheduler
from worker.sources import open_source
from worker.store.lease import Lease
from worker.store.state import DbCheckpoint

log = structlog.get_logger("optout.daemon")


class StartupError(OptoutError):
    """cannot start the daemon"""


#: outbox flush and retention intervals (seconds)
OUTBOX_INTERVAL = 10
RETENTION_INTERVAL = 3600


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def build_scheduler(app: App, pool: ClassifierPool | None = None) -> tuple[Scheduler, list[Poller]]:
    settings = app.settings
    scheduler = Scheduler(app.service.clock, app.metrics)
    checkpoint = DbCheckpoint(app.store, app.service.clock)
    pollers: list[Poller] = []
    for entry in mailbox_entries(settings):
        lease = Lease(app.store.engine, f"source:{entry.name}")
        poller = Poller(open_source(entry, checkpoint), app.intake,
                        metrics=app.metrics, lease=lease, pool=pool)  # fmt: skip
        pollers.append(poller)
        scheduler.add_loop(f"source:{entry.name}", _watcher(poller, entry.interval_seconds),
                           entry.interval_seconds)  # fmt: skip
    for reader in linklog_readers(app):
        interval = next(s.interval_seconds for s in settings.sources if s.name == reader.name)
        scheduler.add_job(f"source:{reader.name}", _in_thread(reader.poll), interval)
    monitor = DeadlineMonitor(app.service, app.mailer, app.metrics)
    scheduler.add_job(
        "deadline-monitor",
        lambda: asyncio.to_thread(monitor.run),
        settings.monitor.interval_seconds,
    )
    retention = Retention(app.service, settings.retention.raw_days)
    scheduler.add_job("retention", lambda: asyncio.to_thread(retention.purge_raw),
                      RETENTION_INTERVAL)  # fmt: skip
    if app.mailer.sender is not None:
        scheduler.add_job("outbox", app.mailer.flush, OUTBOX_INTERVAL, backoff_cap=600)
    return scheduler, pollers


def _in_thread(func: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        return await asyncio.to_thread(func)

    return run


def _watcher(poller: Poller, interval: int) -> Callable[[JobReport], Coroutine[Any, Any, None]]:
    async def watch(report: JobReport) -> None:
        await poller.run_forever(interval, report)

    return watch


async def serve(app: App) -> None:
    settings = app.settings
    pool = classifier_pool(app)
    scheduler, pollers = build_scheduler(app, pool)
    api = create_app(app, scheduler.registry)
    config = uvicorn.Config(
        api,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        log.info("daemon.stopping", signal=sig.name)
        server.should_exit = True
        for p in pollers:
            p.stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    http = asyncio.create_task(_serve_http(server))
    try:
        # the jobs start only once the port is ours: a second daemon on the same
        # config must fail at once, not poll the mailbox beside the first
        while not server.started and not http.done():
            await asyncio.sleep(0.02)
        if not server.started:
            raise StartupError(
                f"cannot listen on {settings.http.host}:{settings.http.port} "
                "(address in use, or not allowed); see http.host and http.port"
            )
        scheduler.start()
        log.info(
            "daemon.started",
            host=settings.http.host,
            port=settings.http.port,
            database=app.store.dialect,
            jobs=list(scheduler.registry.jobs),
        )
        await http
    finally:
        for p in pollers:
            p.stop.set()
        await scheduler.stop(timeout=6)
        for p in pollers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(p.close(), 3)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(app.mailer.close(), 2)
        await asyncio.to_thread(pool.close)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("daemon.stopped")


async def _serve_http(server: uvicorn.Server) -> None:
    """uvicorn ends a failed start with SystemExit; here it just ends the task."""
    with contextlib.suppress(SystemExit):
        await server.serve()
