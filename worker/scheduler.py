"""Scheduled jobs on the daemon's event loop (APScheduler 3, AsyncIOScheduler).

Jobs: one per mailbox source (drain, then IDLE until the next run), the deadline
monitor, the outbox, retention. Each has ``max_instances=1``, coalescing, jitter and a
misfire grace; a job that raises is logged with its name and retried on the next tick,
never taking the daemon down. Each job's last success is visible in ``/healthz`` and
``optout status``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from worker.core.clock import Clock
from worker.core.times import iso
from worker.metrics import Metrics

log = structlog.get_logger("optout.scheduler")


@dataclass
class JobState:
    name: str
    interval_seconds: int
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval_seconds,
            "last_success": iso(self.last_success),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "runs": self.runs,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
        }


class JobReport:
    """How a long-running loop tells the registry, the log and the metrics how it goes."""

    def __init__(self, state: JobState, clock: Clock, metrics: Metrics | None) -> None:
        self.state = state
        self.clock = clock
        self.metrics = metrics

    def success(self) -> None:
        self.state.runs += 1
        self.state.consecutive_failures = 0
        self.state.last_success = self.clock.now()
        if self.metrics is not None:
            self.metrics.job_runs.labels(self.state.name).inc()

    def failure(self, exc: BaseException, retry_in: float) -> None:
        s = self.state
        s.runs += 1
        s.failures += 1
        s.consecutive_failures += 1
        s.last_error = f"{type(exc).__name__}: {exc}"[:500]
        s.last_error_at = self.clock.now()
        log.error("job.failed", job=s.name, error=s.last_error, retry_in_seconds=round(retry_in, 1))
        if self.metrics is not None:
            self.metrics.job_runs.labels(s.name).inc()
            self.metrics.job_failures.labels(s.name).inc()


@dataclass
class JobRegistry:
    jobs: dict[str, JobState] = field(default_factory=dict)


class Scheduler:
    def __init__(self, clock: Clock, metrics: Metrics | None = None) -> None:
        self.clock = clock
        self.metrics = metrics
        self.registry = JobRegistry()
        self.running: set[asyncio.Task[Any]] = set()
        self._loops: list[
            tuple[str, Callable[[JobReport], Coroutine[Any, Any, None]], JobReport]
        ] = []
        self._loop_tasks: set[asyncio.Task[None]] = set()
        self._scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )

    def add_job(
        self,
        name: str,
        func: Callable[[], Awaitable[Any]],
        interval_seconds: int,
        *,
        backoff_cap: int | None = None,
    ) -> None:
        """Register ``func`` every ``interval_seconds``. After consecutive failures the
        job skips runs (exponential, capped at ``backoff_cap`` seconds) so a dead server
        is not hammered; the first success resets it."""
        state = JobState(name, interval_seconds)
        self.registry.jobs[name] = state
        cap = backoff_cap or max(300, interval_seconds)
        skip_until = [0.0]

        async def run() -> None:
            if time.monotonic() < skip_until[0]:
                return
            task = asyncio.current_task()
            if task is not None:
                self.running.add(task)
            started = time.perf_counter()
            state.runs += 1
            if self.metrics is not None:
                self.metrics.job_runs.labels(name).inc()
            try:
                await func()
            except Exception as exc:  # a job never kills the daemon
                state.failures += 1
                state.consecutive_failures += 1
                state.last_error = f"{type(exc).__name__}: {exc}"[:500]
                state.last_error_at = self.clock.now()
                delay = min(cap, interval_seconds * 2 ** min(state.consecutive_failures, 10))
                skip_until[0] = time.monotonic() + delay - interval_seconds
                log.error("job.failed", job=name, error=state.last_error,
                          retry_in_seconds=round(delay))  # fmt: skip
                if self.metrics is not None:
                    self.metrics.job_failures.labels(name).inc()
                return
            finally:
                if task is not None:
                    self.running.discard(task)
            state.consecutive_failures = 0
            state.last_success = self.clock.now()
            log.debug("job.done", job=name, seconds=round(time.perf_counter() - started, 3))

        self._scheduler.add_job(
            run,
            "interval",
            seconds=interval_seconds,
            id=name,
            name=name,
            next_run_time=datetime.now(),
            jitter=max(1, interval_seconds // 20) if interval_seconds >= 20 else None,
        )

    def add_loop(
        self,
        name: str,
        loop: Callable[[JobReport], Coroutine[Any, Any, None]],
        interval_seconds: int,
    ) -> None:
        """Register a long-running task (a mailbox watched with IDLE), started with the
        scheduler; it reports each pass through a :class:`JobReport`, so ``/healthz`` and
        ``optout status`` show it like any job."""
        state = JobState(name, interval_seconds)
        self.registry.jobs[name] = state
        self._loops.append((name, loop, JobReport(state, self.clock, self.metrics)))

    def start(self) -> None:
        self._scheduler.start()
        for name, loop, report in self._loops:
            task = asyncio.create_task(loop(report), name=name)
            self._loop_tasks.add(task)

    async def stop(self, timeout: float = 8.0) -> None:
        """Stop scheduling, then give running jobs ``timeout`` seconds to finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        tasks = set(self.running) | self._loop_tasks
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
