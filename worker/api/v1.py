"""``/v1``: the suppression API for marketing systems (OpenAPI at ``/docs``).

Checks answer with raw-driver reads (:mod:`worker.store.fast`) and pre-serialised JSON,
because they are called once per message sent; writes go through the same
:class:`OptoutService` as every other channel, so they are audited the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from worker.api.auth import require
from worker.api.context import ApiContext
from worker.apikeys import Scope
from worker.core.model import Channel, Decision, SuppressionView
from worker.core.times import iso, parse_time
from worker.exports import export_chunks
from worker.store.keys import ApiKeyView

NDJSON = "application/x-ndjson"
_NDJSON_BATCH = 2000


class ErrorAnswer(BaseModel):
    error: str
    detail: str | None = None


class CheckAnswer(BaseModel):
    address: str = Field(description="the address, normalised")
    category: str
    suppressed: bool
    reason: str | None = Field(None, description="opt-out, hard-bounce, complaint, privacy")
    since: str | None = Field(None, description="when the suppression began (ISO 8601, UTC)")
    scope: str | None = Field(None, description="the suppression that blocks: all, every, C")
    request_id: int | None = None


class BulkCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str
    addresses: list[str]


class BulkCheckAnswer(BaseModel):
    category: str
    checked: int
    suppressed: list[str] = Field(description="the addresses (as sent) that must not get it")
    invalid: list[str] = Field(description="addresses that are not valid email addresses")


class HeadersAnswer(BaseModel):
    address: str
    category: str
    transactional: bool
    headers: dict[str, str]
    note: str | None = None


class SuppressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    scope: str = "all"
    note: str | None = Field(None, max_length=2000)
    reference: str | None = Field(
        None, max_length=200, description="your ticket or id; the same reference twice is one"
    )
    received_at: datetime | None = Field(None, description="when the request was made")


class RequestAnswer(BaseModel):
    id: int
    created: bool
    status: str
    address: str | None
    scope: str
    received_at: str | None
    deadline: str | None


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    scope: str
    reason: str = Field(min_length=1, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class LiftAnswer(BaseModel):
    address: str
    lifted: list[str]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorAnswer, "description": "no or unknown API key"},
    403: {"model": ErrorAnswer, "description": "the key's scope is too small"},
    422: {"model": ErrorAnswer, "description": "bad address, unknown category or scope"},
}


def check_body(address: str, d: Decision) -> bytes:
    return json.dumps(
        {
            "address": address,
            "category": d.category,
            "suppressed": not d.allowed,
            "reason": d.reason.value if d.reason else None,
            "since": iso(d.since),
            "scope": d.scope,
            "request_id": d.request_id,
        }
    ).encode()


def _export_lines(
    rows: Iterator[SuppressionView], *, fmt: str, hashed: bool, incremental: bool
) -> Iterator[bytes]:
    for text, _ in export_chunks(
        rows, fmt=fmt, hashed=hashed, incremental=incremental, every=_NDJSON_BATCH
    ):
        yield text.encode()


def _bulk_ndjson(category: str, suppressed: list[str]) -> Iterator[bytes]:
    for start in range(0, len(suppressed), _NDJSON_BATCH):
        chunk = suppressed[start : start + _NDJSON_BATCH]
        yield "".join(
            json.dumps({"address": a, "category": category, "suppressed": True}) + "\n"
            for a in chunk
        ).encode()


def build_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["suppression API"])
    checker = Depends(require(ctx, Scope.CHECK))
    admin = Depends(require(ctx, Scope.ADMIN))
    tz = ctx.app.service.policy.calendar.tz

    @router.get(
        "/suppressions/{address:path}",
        response_model=CheckAnswer,
        responses=_ERRORS,
        summary="May this category go to this address?",
    )
    async def check(
        address: str, category: Annotated[str, Query()], key: ApiKeyView = checker
    ) -> Response:
        normalised, decision = await ctx.read(ctx.checks.check, address, category)
        return Response(check_body(normalised, decision), media_type="application/json")

    @router.post(
        "/check",
        response_model=BulkCheckAnswer,
        responses={
            **_ERRORS,
            413: {"model": ErrorAnswer, "description": "too many addresses"},
            200: {"content": {NDJSON: {}}, "description": "JSON, or NDJSON lines if asked"},
        },
        summary="Which of these addresses must not get this category?",
    )
    async def bulk_check(
        body: BulkCheckIn, request: Request, key: ApiKeyView = checker
    ) -> Response:
        """Up to ``api.max_bulk_addresses`` addresses a call. With ``Accept:
        application/x-ndjson`` the suppressed addresses stream as one JSON object a line."""
        if len(body.addresses) > ctx.max_bulk_addresses:
            return JSONResponse(
                {
                    "error": "too many addresses",
                    "detail": f"{len(body.addresses)} > {ctx.max_bulk_addresses} per call",
                },
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
        ctx.checks.categories.get(body.category)
        answer = await asyncio.to_thread(ctx.checks.suppressed_among, body.addresses, body.category)
        if NDJSON in request.headers.get("accept", ""):
            return StreamingResponse(
                _bulk_ndjson(answer.category, answer.suppressed), media_type=NDJSON
            )
        payload = {
            "category": answer.category,
            "checked": answer.checked,
            "suppressed": answer.suppressed,
            "invalid": answer.invalid,
        }
        return Response(json.dumps(payload).encode(), media_type="application/json")

    @router.get(
        "/export",
        responses={
            **_ERRORS,
            200: {"content": {"text/csv": {}, NDJSON: {}}, "description": "CSV or NDJSON"},
        },
        response_class=StreamingResponse,
        summary="The suppression list, full or changes since a time",
    )
    async def export(
        since: Annotated[
            str | None, Query(description="ISO 8601 time or look-back (7d); includes lifts")
        ] = None,
        hashed: Annotated[bool, Query(description="SHA-256 of the address instead")] = False,
        category: Annotated[str | None, Query(description="only what stops this")] = None,
        format: Annotated[Literal["csv", "ndjson"], Query()] = "csv",
        key: ApiKeyView = checker,
    ) -> Response:
        service = ctx.app.service
        if category is not None:
            service.categories.get(category)
        when = parse_time(since, tz, now=service.clock.now()) if since else None
        rows = service.export(category=category, since=when)
        lines = _export_lines(rows, fmt=format, hashed=hashed, incremental=when is not None)
        media = NDJSON if format == "ndjson" else "text/csv; charset=utf-8"
        return StreamingResponse(lines, media_type=media)

    @router.get(
        "/headers",
        response_model=HeadersAnswer,
        responses=_ERRORS,
        summary="List-Unsubscribe headers for one message",
    )
    async def headers(
        address: Annotated[str, Query()],
        category: Annotated[str, Query()],
        key: ApiKeyView = checker,
    ) -> HeadersAnswer:
        """A transactional category gets ``transactional: true``, no headers, and a note."""
        h = ctx.links.headers(address, category)
        return HeadersAnswer(
            address=h.address,
            category=h.category,
            transactional=h.transactional,
            headers=h.headers,
            note=h.note,
        )

    @router.post(
        "/suppressions",
        response_model=RequestAnswer,
        status_code=status.HTTP_201_CREATED,
        responses={**_ERRORS, 200: {"model": RequestAnswer, "description": "seen before"}},
        summary="Record an opt-out (admin)",
    )
    async def suppress(body: SuppressIn, response: Response, key: ApiKeyView = admin) -> Any:
        service = ctx.app.service
        evidence: dict[str, Any] = {"api_key": key.name}
        if body.reference:
            evidence["reference"] = body.reference
        received = body.received_at
        if received is not None and received.tzinfo is None:
            received = received.replace(tzinfo=tz)
        req = service.prepare(
            body.address,
            scope=body.scope,
            channel=Channel.API,
            received_at=received,
            evidence_key=f"api:{body.reference}" if body.reference else None,
            actor=f"api-key:{key.name}",
            note=body.note,
            evidence=evidence,
        )
        outcome = await asyncio.to_thread(service.record, req)
        if not outcome.created:
            response.status_code = status.HTTP_200_OK
        r = outcome.request
        return RequestAnswer(
            id=r.id,
            created=outcome.created,
            status=r.status.value,
            address=r.address,
            scope=r.scope,
            received_at=iso(r.received_at),
            deadline=iso(r.deadline),
        )

    @router.post(
        "/lift",
        response_model=LiftAnswer,
        responses={**_ERRORS, 404: {"model": ErrorAnswer, "description": "nothing to lift"}},
        summary="Re-subscribe (admin; audited, history kept)",
    )
    async def lift(body: LiftIn, key: ApiKeyView = admin) -> LiftAnswer:
        lifted = await asyncio.to_thread(
            ctx.app.service.lift,
            body.address,
            body.scope,
            actor=f"api-key:{key.name}",
            reason=body.reason,
        )
        return LiftAnswer(address=body.address.strip(), lifted=[s.scope for s in lifted])

    return router
