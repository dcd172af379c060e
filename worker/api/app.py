"""The FastAPI application served by `optout run`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException

from worker import __version__
from worker.api import admin, links, v1
from worker.api.context import ApiContext
from worker.api.limits import BYTES_PER_BULK_ADDRESS, BodyLimit
from worker.bootstrap import App
from worker.errors import (
    DatabaseUnavailable,
    InvalidState,
    NotFound,
    OptoutError,
    UserError,
)
from worker.scheduler import JobRegistry


def create_app(app: App, jobs: JobRegistry | None = None) -> FastAPI:
    registry = jobs or JobRegistry()
    ctx = ApiContext.build(app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await ctx.one_clicks.close()
        ctx.close()

    api = FastAPI(
        title="optout",
        version=__version__,
        lifespan=lifespan,
        description=(
            "Unsubscribe links (RFC 8058 one-click) and the suppression API. "
            "`/v1` needs `Authorization: Bearer KEY` (`optout keys create`)."
        ),
    )
    api.state.ctx = ctx
    # added first, so it runs inside the body limit below
    api.add_middleware(
        links.OneClickFastPath,
        handler=links.one_click_handler(ctx),
        on_http_error=http_error_response,
    )
    api.add_middleware(
        BodyLimit,
        default=ctx.max_body_bytes,
        bulk=ctx.max_bulk_addresses * BYTES_PER_BULK_ADDRESS,
    )
    _error_handlers(api)

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

    api.include_router(links.build_router(ctx))
    api.include_router(v1.build_router(ctx))
    api.include_router(admin.build_router(ctx))
    return api


def _error_handlers(api: FastAPI) -> None:
    """One JSON shape for every refusal: ``{"error": …, "detail": …}``."""

    @api.exception_handler(OptoutError)
    async def optout_error(request: Request, exc: OptoutError) -> JSONResponse:
        head = (type(exc).__doc__ or "error").strip().splitlines()[0]
        if isinstance(exc, NotFound):
            code = 404
        elif isinstance(exc, InvalidState):
            code = 409
        elif isinstance(exc, UserError):
            code = 422
        elif isinstance(exc, DatabaseUnavailable):
            code = 503
        else:
            code = 500
        return JSONResponse({"error": head, "detail": exc.detail or None}, status_code=code)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": str(exc.detail), "detail": None},
        status_code=exc.status_code,
        headers=exc.headers,
    )
