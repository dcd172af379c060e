"""``/u/{token}``: the unsubscribe link in every promotional email.

* ``POST /u/{token}`` is RFC 8058 one-click: the body ``List-Unsubscribe=One-Click``
  (form-encoded or multipart — or bare, as some senders post it) records the opt-out,
  and the 200 is sent only after it is committed. No cookie, login, CSRF token or
  Origin check applies (a mail provider posts it from its own servers), and the answer
  is never a redirect, which RFC 8058 forbids.
* ``GET /u/{token}`` shows the page and changes nothing: link scanners fetch every URL
  in a message, and a GET that unsubscribed would unsubscribe people who never clicked.
* ``POST /u/{token}/confirm`` applies what the person chose on that page.

A bad token gets the same plain 404 page whatever was wrong with it, so the answer tells
a prober nothing about keys or addresses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from worker.api.context import ApiContext
from worker.api.i18n import pick_language, words
from worker.core.addresses import mask
from worker.core.categories import ALL_PROMOTIONAL, Category
from worker.core.tokens import ExpiredToken, InvalidToken
from worker.errors import DatabaseUnavailable, UserError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"

#: the page carries a token: keep it out of caches, referrers, frames and search engines
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _label(c: Category) -> str:
    return c.description or c.name


def _t(request: Request) -> tuple[str, dict[str, str]]:
    lang = pick_language(request.headers.get("accept-language"))
    return lang, words(lang)


def _error_page(request: Request, status: int, heading_key: str, message_key: str) -> Response:
    lang, t = _t(request)
    return TEMPLATES.TemplateResponse(
        request,
        "error.html",
        {"lang": lang, "t": t, "heading": t[heading_key], "message": t[message_key]},
        status_code=status,
        headers=PAGE_HEADERS,
    )


def _failure(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ExpiredToken):
        return _error_page(request, 400, "invalid_title", "expired")
    if isinstance(exc, InvalidToken):
        return _error_page(request, 404, "invalid_title", "invalid")
    if isinstance(exc, DatabaseUnavailable):
        return _error_page(request, 503, "unavailable_title", "unavailable")
    return _error_page(request, 400, "invalid_title", "bad_form")


#: the body nearly every one-click POST carries (RFC 8058), recognised without a parser
_ONE_CLICK_BODY = f"{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}".encode()
_ONE_CLICK_LENGTH = str(len(_ONE_CLICK_BODY))
_FORM = "application/x-www-form-urlencoded"


async def _form(request: Request) -> FormData | dict[str, list[str]]:
    """The POSTed fields, from a form-encoded or multipart body, or a bare query string."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # the usual one-click POST: that exact body parses to that one field, so skip the
    # parser (anything else of that length still goes through it, from the read body)
    if (
        ctype == _FORM
        and request.headers.get("content-length") == _ONE_CLICK_LENGTH
        and await request.body() == _ONE_CLICK_BODY
    ):
        return {ONE_CLICK_FIELD: [ONE_CLICK_VALUE]}
    if ctype in (_FORM, "multipart/form-data"):
        return await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    body = (await request.body()).decode("utf-8", "replace")
    return parse_qs(body.strip(), keep_blank_values=True, max_num_fields=50)


def _values(form: FormData | dict[str, list[str]], name: str) -> list[str]:
    if isinstance(form, FormData):
        return [v for v in form.getlist(name) if isinstance(v, str)]
    return form.get(name, [])


OneClickHandler = Callable[[str, Request], Awaitable[Response]]


def one_click_handler(ctx: ApiContext) -> OneClickHandler:
    """The RFC 8058 one-click endpoint, shared by the route and :class:`OneClickFastPath`."""

    async def one_click(token: str, request: Request) -> Response:
        """Record the opt-out for the token's scope; answers after the commit."""
        try:
            claims = ctx.links.verify(token)  # cheap, and refuses before the body is read
            form = await _form(request)
        except (InvalidToken, UserError) as exc:
            return _failure(request, exc)
        if ONE_CLICK_VALUE not in _values(form, ONE_CLICK_FIELD):
            return _error_page(request, 400, "invalid_title", "bad_form")
        try:
            req = ctx.links.one_click_for(claims, user_agent=request.headers.get("user-agent"))
            outcome = await ctx.one_clicks.submit(req)  # group commit; returns once committed
        except (InvalidToken, UserError, DatabaseUnavailable) as exc:
            return _failure(request, exc)
        ctx.observe(outcome)
        return PlainTextResponse("unsubscribed\n", headers={"Cache-Control": "no-store"})

    return one_click


class OneClickFastPath:
    """Pure ASGI dispatch of ``POST /u/{token}`` straight to the one-click handler.

    A mail provider's one-click POSTs arrive in bursts, and routing each one through the
    framework's exception middleware, router and dependency machinery measured at about a
    quarter of the CPU time of a one-click POST (SQLite, wrk -c64). This sits inside the
    body limit and the server-error middleware, answers an HTTPException (a malformed
    multipart body) as the app's handler does, and so answers every request as the route
    did (tests/api/test_fast_paths.py); the route stays registered for the OpenAPI schema
    and takes any request this does not.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        handler: OneClickHandler,
        on_http_error: Callable[[HTTPException], Response],
    ) -> None:
        self.app = app
        self.handler = handler
        self.on_http_error = on_http_error  # what the app's exception handler answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            if path.startswith("/u/"):
                token = path[3:]
                if token and "/" not in token:
                    try:
                        response = await self.handler(token, Request(scope, receive))
                    except HTTPException as exc:  # a bad multipart body, a body over the limit
                        response = self.on_http_error(exc)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def build_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["unsubscribe links"])
    router.post(
        "/u/{token}",
        response_class=PlainTextResponse,
        summary="RFC 8058 one-click unsubscribe",
        responses={400: {"description": "not a one-click body"}, 404: {"description": "bad link"}},
    )(one_click_handler(ctx))

    @router.get("/u/{token}", response_class=HTMLResponse, summary="The unsubscribe page")
    async def page(token: str, request: Request) -> Response:
        """Show the choices; suppresses nothing."""
        try:
            view = await asyncio.to_thread(ctx.links.page, token)
        except (InvalidToken, UserError, DatabaseUnavailable) as exc:
            return _failure(request, exc)
        lang, t = _t(request)
        names = [s for s in view.suppressed_scopes if s == view.scope or s == ALL_PROMOTIONAL]
        already = ", ".join(t["all"] if s == ALL_PROMOTIONAL else s for s in names)
        context: dict[str, Any] = {
            "lang": lang,
            "t": t,
            "page": view,
            "label": _label,
            "already": already,
            "action": request.url_for("confirm", token=token).path,
        }
        return TEMPLATES.TemplateResponse(request, "page.html", context, headers=PAGE_HEADERS)

    @router.post(
        "/u/{token}/confirm",
        response_class=HTMLResponse,
        name="confirm",
        summary="Apply the choice made on the unsubscribe page",
    )
    async def confirm(token: str, request: Request) -> Response:
        try:
            ctx.links.verify(token)
            form = await _form(request)
            choice = (_values(form, "choice") or ["this"])[0]
            extra = _values(form, "categories")
            outcomes = await asyncio.to_thread(
                ctx.links.confirm,
                token,
                choice=choice,
                extra_categories=extra,
                user_agent=request.headers.get("user-agent"),
            )
        except (InvalidToken, UserError, DatabaseUnavailable) as exc:
            return _failure(request, exc)
        lang, t = _t(request)
        scopes = [o.request.scope for o in outcomes]
        cats = ctx.links.categories
        what = (
            t["what_all"]
            if ALL_PROMOTIONAL in scopes
            else ", ".join(_label(cats.get(s)) for s in scopes)
        )
        address = mask(outcomes[0].request.address or "")
        return TEMPLATES.TemplateResponse(
            request,
            "done.html",
            {"lang": lang, "t": t, "address": address, "what": what},
            headers=PAGE_HEADERS,
        )

    return router
