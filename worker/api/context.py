"""What the HTTP routes share: the services, built once per application."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from worker.apikeys import ApiKeys
from worker.batching import GroupCommitter
from worker.bootstrap import App
from worker.checks import CheckService
from worker.core.model import NewRequest, Outcome
from worker.links import LinkService
from worker.store.fast import FastReads
from worker.store.keys import KeyStore

T = TypeVar("T")


@dataclass
class ApiContext:
    app: App
    links: LinkService
    checks: CheckService
    keys: ApiKeys
    reads: FastReads
    max_body_bytes: int
    max_bulk_addresses: int
    one_clicks: GroupCommitter[NewRequest, Outcome]

    @classmethod
    def build(cls, app: App) -> ApiContext:
        reads = FastReads(app.store.engine)
        service = app.service
        return cls(
            app=app,
            links=LinkService.from_settings(service, app.settings),
            checks=CheckService(service.categories, reads),
            keys=ApiKeys(KeyStore(app.store), service.clock),
            reads=reads,
            max_body_bytes=app.settings.http.max_body_bytes,
            max_bulk_addresses=app.settings.api.max_bulk_addresses,
            one_clicks=GroupCommitter(service.record_many),
        )

    def observe(self, outcome: Outcome) -> None:
        """Metrics for a link hit: the request, and receipt-to-commit time."""
        metrics = self.app.metrics
        r = outcome.request
        if outcome.created:
            metrics.requests.labels(r.channel.value).inc()
            if r.applied_at is not None:
                metrics.observe_suppression(r.channel.value, r.received_at, r.applied_at)
        if outcome.suppression_created:
            metrics.suppressions.labels(r.channel.value, "opt-out").inc()

    @property
    def inline_reads(self) -> bool:
        """SQLite reads take microseconds and never wait on a lock in WAL mode, so they run
        on the event loop; a PostgreSQL round trip goes to a worker thread instead."""
        return self.reads.dialect == "sqlite"

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        if self.inline_reads:
            return fn(*args)
        return await asyncio.to_thread(fn, *args)

    def close(self) -> None:
        self.reads.close()
