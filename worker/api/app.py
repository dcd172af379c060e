"""The FastAPI application served by `optout run`."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from worker import __version__
from worker.bootstrap import App
from worker.errors import DatabaseUnavailable
from worker.scheduler import JobRegistry


def create_app(app: App, jobs: JobRegistry | None = None) -> FastAPI:
    api = FastAPI(title="optout", version=__version__)
    registry = jobs or JobRegistry()

    @api.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """Liveness and readiness: the database answers, and each job's last success."""
        body: dict[str, object] = {
            "status": "ok",
            "version": __version__,
            "jobs": {name: s.as_dict() for name, s in registry.jobs.items()},
        }
        try:
            await asyncio.to_thread(app.store.ping)
            body["database"] = "ok"
        except DatabaseUnavailable as exc:
            body.update(status="unavailable", database=exc.detail)
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    @api.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        """Prometheus metrics: counters of this process, queue gauges from the database."""
        body = await asyncio.to_thread(app.metrics.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return api
