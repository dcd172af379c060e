"""``/admin``: the ops pages — deadlines, the review queue, search and the audit log.

Sign-in is with an ``admin``-scope API key (a ``check`` key is refused). The key is not
kept in the browser: the cookie holds a signed session (key id, expiry, nonce), valid for
:data:`SESSION_SECONDS`, HttpOnly and SameSite=Strict. Scripts may instead send
``Authorization: Bearer KEY`` on every call (no cookie, no CSRF token: a browser never
adds that header by itself).

The signing secret is derived with HKDF-SHA256 from the configured token key ring, with
its own salt and info, so it is independent of the token keys themselves, survives a
restart and is the same on every instance sharing the configuration (a session made on
one instance works on the others); rotating the token keys signs everyone out, which is
acceptable for an eight-hour session. Without a key ring (never the case in a running
server, where links need one) it falls back to ``os.urandom``.

Every POST made with a session carries a CSRF token, an HMAC of the session cookie, so it
is bound to that session; a missing or wrong token is refused with 403 before anything is
read from the database. Logout also records the session's nonce as ended, in memory: a
copied cookie then stops working on this instance at once, and everywhere at its expiry.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from worker.api.context import ApiContext
from worker.api.i18n import words
from worker.api.links import PAGE_HEADERS, TEMPLATES
from worker.apikeys import Scope
from worker.core.addresses import address_hash, mask, mask_in_text, normalise
from worker.core.message import all_text, parse_bytes
from worker.core.model import AuditView, RequestView
from worker.core.times import parse_time
from worker.errors import InvalidState, NotFound, UserError
from worker.store.inbound import ItemView
from worker.store.keys import ApiKeyView
from worker.store.stats import queue_state

COOKIE = "optout_admin"
SESSION_SECONDS = 8 * 3600
LOG_LIMIT = 500
EXCERPT_CHARS = 4000
_HKDF_SALT = b"optout admin session v1"
_HKDF_INFO = b"optout/admin/session-mac"

NOTICES = {
    "applied": "Applied: the held requests are suppressed and the item is resolved.",
    "dismissed": "Dismissed: the item is resolved and nothing was suppressed.",
    "signed-out": "You are signed out.",
}


def session_secret(spec: str | None) -> bytes:
    """The session MAC key: HKDF from the token key ring, else random for this process."""
    if not spec:
        return os.urandom(32)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return hkdf.derive(spec.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Stateless signed sessions: ``b64(key_id.expiry.nonce).b64(HMAC-SHA256)``."""

    def __init__(self, secret: bytes, now: Callable[[], float]) -> None:
        self._secret = secret
        self._now = now
        self._ended: dict[str, int] = {}  # nonce -> expiry
        self._lock = threading.Lock()

    def _mac(self, label: bytes, data: bytes) -> bytes:
        return hmac.new(self._secret, label + b"\0" + data, hashlib.sha256).digest()

    def issue(self, key_id: int) -> str:
        expiry = int(self._now()) + SESSION_SECONDS
        payload = f"{key_id}.{expiry}.{secrets.token_urlsafe(16)}".encode("ascii")
        return f"{_b64(payload)}.{_b64(self._mac(b'session', payload))}"

    def _parse(self, cookie: str) -> tuple[int, int, str] | None:
        try:
            body, sig = cookie.split(".")
            payload = _unb64(body)
            if not hmac.compare_digest(_unb64(sig), self._mac(b"session", payload)):
                return None
            key_id, expiry, nonce = payload.decode("ascii").split(".")
            return int(key_id), int(expiry), nonce
        except ValueError:  # also binascii.Error and UnicodeDecodeError
            return None

    def key_id(self, cookie: str | None) -> int | None:
        """The key id of a valid, unexpired, not-ended session; else None."""
        if not cookie or len(cookie) > 200:
            return None
        parsed = self._parse(cookie)
        if parsed is None:
            return None
        key_id, expiry, nonce = parsed
        if expiry <= self._now():
            return None
        with self._lock:
            if nonce in self._ended:
                return None
        return key_id

    def end(self, cookie: str) -> None:
        parsed = self._parse(cookie)
        if parsed is None:
            return
        now = self._now()
        with self._lock:
            self._ended = {n: e for n, e in self._ended.items() if e > now}
            self._ended[parsed[2]] = parsed[1]

    def csrf(self, cookie: str) -> str:
        return _b64(self._mac(b"csrf", cookie.encode("ascii")))

    def csrf_ok(self, cookie: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf(cookie).encode(), token.encode("utf-8", "replace"))


@dataclass(frozen=True)
class Admin:
    key: ApiKeyView
    cookie: str | None  # None: a Bearer key, no session and no CSRF token


def build_router(ctx: ApiContext) -> APIRouter:
    app = ctx.app
    service = app.service
    intake = app.intake
    tz: ZoneInfo = service.policy.calendar.tz
    spec = app.settings.token_keys()
    sessions = Sessions(
        session_secret(spec.get_secret_value() if spec else None),
        lambda: service.clock.now().timestamp(),
    )
    router = APIRouter(prefix="/admin", include_in_schema=False)

    def when(at: datetime | None) -> str:
        if at is None:
            return "-"
        return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")

    def render(
        request: Request, name: str, admin: Admin | None, status: int = 200, **extra: Any
    ) -> Response:
        context: dict[str, Any] = {
            "lang": "en",
            "t": words("en"),
            "admin": admin,
            "csrf": sessions.csrf(admin.cookie) if admin and admin.cookie else "",
            "when": when,
            "mask": mask,
            "tz": str(tz),
            "notice": NOTICES.get(request.query_params.get("notice", "")),
            **extra,
        }
        return TEMPLATES.TemplateResponse(
            request, name, context, status_code=status, headers=PAGE_HEADERS
        )

    def to_login() -> Response:
        return RedirectResponse("/admin/login", status_code=303, headers=PAGE_HEADERS)

    def by_id(key_id: int) -> ApiKeyView | None:
        return next((k for k in ctx.keys.list() if k.id == key_id), None)

    async def who(request: Request) -> Admin | None:
        """The signed-in admin (session cookie or Bearer admin key), else None."""
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() == "bearer" and key:
            view = ctx.keys.peek(key.strip()) or await asyncio.to_thread(
                ctx.keys.authenticate, key.strip()
            )
            ok = view is not None and Scope(view.scope) is Scope.ADMIN
            return Admin(view, None) if ok and view is not None else None
        cookie = request.cookies.get(COOKIE)
        key_id = sessions.key_id(cookie)
        if key_id is None or cookie is None:
            return None
        found = await asyncio.to_thread(by_id, key_id)  # revoked keys end their sessions
        if found is None or not found.active or Scope(found.scope) is not Scope.ADMIN:
            return None
        return Admin(found, cookie)

    async def posted(request: Request, admin: Admin) -> FormData | None:
        """The form, or None when a session's POST lacks its CSRF token."""
        form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
        if admin.cookie is None:
            return form
        token = form.get("csrf")
        if not isinstance(token, str) or not sessions.csrf_ok(admin.cookie, token):
            return None
        return form

    def forbidden(request: Request, admin: Admin) -> Response:
        return render(
            request,
            "admin_message.html",
            admin,
            403,
            heading="Refused",
            message="The form's security token is missing or wrong; nothing was changed. "
            "Reload the page and try again.",
        )

    # -- sign in and out -----------------------------------------------------------------
    @router.get("/login")
    async def login_form(request: Request) -> Response:
        return render(request, "admin_login.html", None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
        key = form.get("key")
        key = key.strip() if isinstance(key, str) else ""
        view = await asyncio.to_thread(ctx.keys.authenticate, key) if key else None
        if view is None:
            return render(
                request, "admin_login.html", None, 401, error="Unknown or revoked API key."
            )
        if Scope(view.scope) is not Scope.ADMIN:
            return render(
                request,
                "admin_login.html",
                None,
                403,
                error=f"This key's scope is {view.scope}; an admin-scope key is needed.",
            )
        response = RedirectResponse("/admin", status_code=303, headers=PAGE_HEADERS)
        response.set_cookie(
            COOKIE,
            sessions.issue(view.id),
            max_age=SESSION_SECONDS,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        if await posted(request, admin) is None:
            return forbidden(request, admin)
        if admin.cookie:
            sessions.end(admin.cookie)
        response = RedirectResponse(
            "/admin/login?notice=signed-out", status_code=303, headers=PAGE_HEADERS
        )
        response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict")
        return response

    # -- dashboard -----------------------------------------------------------------------
    @router.get("")
    async def dashboard(request: Request) -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        state = await asyncio.to_thread(queue_state, app.store, service.clock.now())
        report = await asyncio.to_thread(service.report)
        return render(request, "admin_dashboard.html", admin, state=state, report=report)

    # -- review queue --------------------------------------------------------------------
    def requests_of(item: ItemView) -> list[RequestView]:
        with app.store.transaction() as tx:
            found = [tx.get_request(r) for r in item.request_ids]
        return [r for r in found if r is not None]

    def review_rows() -> list[tuple[ItemView, datetime | None]]:
        rows = []
        for item in intake.review_items():
            deadlines = [r.deadline for r in requests_of(item)]
            rows.append((item, min(deadlines) if deadlines else None))
        return rows

    async def review_list(
        request: Request, admin: Admin, status: int = 200, error: str | None = None
    ) -> Response:
        rows = await asyncio.to_thread(review_rows)
        return render(request, "admin_review.html", admin, status, rows=rows, error=error)

    def item_page(item_id: int) -> tuple[ItemView, list[RequestView], str]:
        view, raw = intake.item(item_id)
        text = ""
        if raw is not None:
            text = mask_in_text(all_text(parse_bytes(raw))[:EXCERPT_CHARS])
        return view, requests_of(view), text

    async def review_item(
        request: Request, admin: Admin, item_id: int, status: int = 200, error: str | None = None
    ) -> Response:
        try:
            view, held, text = await asyncio.to_thread(item_page, item_id)
        except NotFound as exc:
            return await review_list(request, admin, 404, exc.detail or "No such item.")
        return render(
            request,
            "admin_item.html",
            admin,
            status,
            item=view,
            held=held,
            text=text,
            error=error,
        )

    @router.get("/review")
    async def review(request: Request) -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        return await review_list(request, admin)

    @router.get("/review/{item_id}")
    async def review_show(item_id: int, request: Request) -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        return await review_item(request, admin, item_id)

    async def decide(item_id: int, request: Request, outcome: str) -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        form = await posted(request, admin)
        if form is None:
            return forbidden(request, admin)
        reason = form.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            return await review_item(request, admin, item_id, 422, "A reason is required.")
        fn = intake.review_apply if outcome == "applied" else intake.review_dismiss
        try:
            await asyncio.to_thread(fn, item_id, actor=admin.key.name, reason=reason)
        except NotFound as exc:
            return await review_list(request, admin, 404, exc.detail or "No such item.")
        except InvalidState as exc:
            return await review_item(request, admin, item_id, 409, exc.detail)
        except UserError as exc:
            return await review_item(request, admin, item_id, 422, exc.detail)
        return RedirectResponse(
            f"/admin/review/{item_id}?notice={outcome}", status_code=303, headers=PAGE_HEADERS
        )

    @router.post("/review/{item_id}/apply")
    async def review_apply(item_id: int, request: Request) -> Response:
        return await decide(item_id, request, "applied")

    @router.post("/review/{item_id}/dismiss")
    async def review_dismiss(item_id: int, request: Request) -> Response:
        return await decide(item_id, request, "dismissed")

    # -- search and audit log ------------------------------------------------------------
    def lookup(address: str) -> tuple[list[Any], list[RequestView]]:
        return service.history(address), service.requests(address=address, limit=LOG_LIMIT)

    @router.get("/search")
    async def search(request: Request, address: str = "") -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        address = address.strip()
        if not address:
            return render(request, "admin_search.html", admin, address="", searched=False)
        try:
            suppressions, reqs = await asyncio.to_thread(lookup, address)
        except UserError as exc:
            return render(
                request,
                "admin_search.html",
                admin,
                422,
                address=address,
                searched=False,
                error=f"Not a usable email address: {exc.detail or 'malformed'}.",
            )
        return render(
            request,
            "admin_search.html",
            admin,
            address=address,
            searched=True,
            suppressions=suppressions,
            requests=reqs,
        )

    def newest_audit(digest: str | None, since: datetime | None) -> list[AuditView]:
        with app.store.transaction() as tx:
            return tx.audit_log(
                address_hash=digest, since=since, limit=LOG_LIMIT, newest_first=True
            )

    @router.get("/log")
    async def log(request: Request, address: str = "", since: str = "") -> Response:
        admin = await who(request)
        if admin is None:
            return to_login()
        address, since = address.strip(), since.strip()
        try:
            start = parse_time(since, tz, now=service.clock.now()) if since else None
            digest = address_hash(normalise(address)) if address else None
            events = await asyncio.to_thread(newest_audit, digest, start)
        except UserError as exc:
            return render(
                request,
                "admin_log.html",
                admin,
                422,
                events=[],
                since=since,
                filtered=mask(address) if address else "",
                error=exc.detail or "The filter was not understood.",
            )
        return render(
            request,
            "admin_log.html",
            admin,
            events=events,
            since=since,
            filtered=mask(address) if address else "",
            limit=LOG_LIMIT,
            detail=lambda d: mask_in_text(_short(d)),
        )

    return router


def _short(detail: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in detail.items() if v not in (None, [], {}, "")]
    text = "; ".join(parts)
    return text if len(text) <= 300 else text[:297] + "..."
