"""Scheduled jobs on the daemon's event loop (APScheduler 3, AsyncIOScheduler).

Each job runs its blocking database work in a thread, records its last success for
``/healthz``, and never lets an exception escape: a failing job is logged and tried
again on the next tick, the daemon keeps running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from worker.core.addresses import mask
from worker.core.clock import Clock
from worker.core.times import iso
from worker.service import OptoutService

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval_seconds,
            "last_success": iso(self.last_success),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "runs": self.runs,
            "failures": self.failures,
        }


@dataclass
class JobRegistry:
    jobs: dict[str, JobState] = field(default_factory=dict)


class Scheduler:
    def __init__(self, service: OptoutService, clock: Clock, monitor_interval: int) -> None:
        self.service = service
        self.clock = clock
        self.registry = JobRegistry()
        self._scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        self.add_job("deadline-monitor", self.deadline_monitor, monitor_interval)

    def add_job(
        self, name: str, func: Callable[[], Awaitable[None]], interval_seconds: int
    ) -> None:
        state = JobState(name, interval_seconds)
        self.registry.jobs[name] = state

        async def run() -> None:
            started = time.perf_counter()
            state.runs += 1
            try:
                await func()
            except Exception as exc:  # a job never kills the daemon
                state.failures += 1
                state.last_error = f"{type(exc).__name__}: {exc}"
                state.last_error_at = self.clock.now()
                log.error("job.failed", job=name, error=state.last_error)
                return
            state.last_success = self.clock.now()
            log.debug("job.done", job=name, seconds=round(time.perf_counter() - started, 3))

        self._scheduler.add_job(
            run,
            "interval",
            seconds=interval_seconds,
            id=name,
            name=name,
            next_run_time=datetime.now(),
            jitter=max(1, interval_seconds // 10) if interval_seconds >= 10 else None,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def deadline_monitor(self) -> None:
        """Log every unapplied request near or past its deadline (warning / error)."""
        report = await asyncio.to_thread(self.service.report)
        for r in report.near_deadline:
            log.warning(
                "deadline.near",
                request_id=r.id,
                status=r.status.value,
                channel=r.channel.value,
                address=mask(r.address or ""),
                deadline=iso(r.deadline),
            )
        for r in report.overdue:
            log.error(
                "deadline.missed",
                request_id=r.id,
                status=r.status.value,
                channel=r.channel.value,
                address=mask(r.address or ""),
                deadline=iso(r.deadline),
            )
