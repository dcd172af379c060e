"""`optout run`: the scheduler and the HTTP server on one event loop.

SIGTERM and SIGINT ask uvicorn to finish in-flight requests and stop the scheduler;
the process then exits 0, which is what systemd and container runtimes expect of a
clean stop. uvicorn's own signal capture is switched off because it re-raises the
signal after shutdown, which would turn a clean stop into exit status 143.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator

import structlog
import uvicorn

from worker.api.app import create_app
from worker.bootstrap import App
from worker.scheduler import Scheduler

log = structlog.get_logger("optout.daemon")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(app: App) -> None:
    settings = app.settings
    scheduler = Scheduler(app.service, app.service.clock, settings.monitor.interval_seconds)
    api = create_app(app, scheduler.registry)
    config = uvicorn.Config(
        api,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=8,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()

    def stop(sig: signal.Signals) -> None:
        log.info("daemon.stopping", signal=sig.name)
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop, sig)
    scheduler.start()
    log.info(
        "daemon.started",
        host=settings.http.host,
        port=settings.http.port,
        database=app.store.dialect,
        jobs=list(scheduler.registry.jobs),
    )
    try:
        await server.serve()
    finally:
        scheduler.shutdown()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("daemon.stopped")
