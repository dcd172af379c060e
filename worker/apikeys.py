"""API keys for the suppression API: made by `optout keys create`, checked on every call.

A key is ``oo_`` plus 256 random bits; only its SHA-256 is stored (``worker.store.keys``),
so the key is shown once, at creation. Two scopes: ``check`` (read: checks, export,
headers) and ``admin`` (also suppress and lift).

Verification sits on the hot path of every check, so verified keys are cached in memory
for a few seconds and ``last_used_at`` is written at most once a minute per key; the cost
is that a revoked key keeps working for up to :data:`CACHE_SECONDS` in a running server.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from worker.core.clock import Clock
from worker.errors import UserError
from worker.store.keys import ApiKeyView, KeyStore

log = structlog.get_logger("optout.apikeys")

PREFIX = "oo_"
#: how long a verified (or refused) key is remembered; also the revocation delay
CACHE_SECONDS = 5.0
#: ``last_used_at`` is a "still in use?" signal for ops, not an access log
TOUCH_EVERY = timedelta(minutes=1)
_NAME_MAX = 128


class Scope(StrEnum):
    CHECK = "check"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        return self is Scope.ADMIN or needed is Scope.CHECK


@dataclass(frozen=True)
class NewKey:
    view: ApiKeyView
    key: str  # shown once, never stored


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(
        self, keys: KeyStore, clock: Clock, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.keys = keys
        self.clock = clock
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, ApiKeyView | None]] = {}
        self._touched: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def create(self, name: str, scope: str) -> NewKey:
        name = name.strip()
        if not name or len(name) > _NAME_MAX or not name.isprintable():
            raise UserError(f"key name must be 1-{_NAME_MAX} printable characters")
        try:
            parsed = Scope(scope)
        except ValueError:
            raise UserError(f"scope must be check or admin, not {scope!r}") from None
        key = PREFIX + secrets.token_urlsafe(32)
        view = self.keys.create(
            name=name,
            scope=parsed.value,
            key_hash=hash_key(key),
            prefix=key[:10],
            now=self.clock.now(),
        )
        log.info("apikey.created", key_id=view.id, name=name, scope=parsed.value)
        return NewKey(view, key)

    def list(self) -> list[ApiKeyView]:
        return self.keys.list()

    def revoke(self, name_or_id: str) -> ApiKeyView:
        view = self.keys.revoke(name_or_id, self.clock.now())
        with self._lock:
            self._cache.clear()
        log.info("apikey.revoked", key_id=view.id, name=view.name)
        return view

    def peek(self, key: str) -> ApiKeyView | None:
        """The key's view from the cache, without blocking; None means "ask
        :meth:`authenticate`" (not cached, refused, or its ``last_used_at`` is due)."""
        if not key.startswith(PREFIX) or len(key) > 100:
            return None
        with self._lock:
            hit = self._cache.get(hash_key(key))
            if hit is None or self._monotonic() - hit[0] >= CACHE_SECONDS or hit[1] is None:
                return None
            view = hit[1]
            last = self._touched.get(view.id) or view.last_used_at
            if last is None or self.clock.now() - last >= TOUCH_EVERY:
                return None
        return view

    def authenticate(self, key: str) -> ApiKeyView | None:
        """The active key ``key`` names, or None; blocking (call from a worker thread)."""
        if not key.startswith(PREFIX) or len(key) > 100:
            return None
        digest = hash_key(key)
        now_mono = self._monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now_mono - hit[0] < CACHE_SECONDS:
            view = hit[1]
        else:
            view = self.keys.by_hash(digest)
            if view is not None and not view.active:
                view = None
            with self._lock:
                if len(self._cache) > 10_000:  # random keys must not grow it without bound
                    self._cache.clear()
                self._cache[digest] = (now_mono, view)
        if view is not None:
            self._touch(view)
        return view

    def _touch(self, view: ApiKeyView) -> None:
        now = self.clock.now()
        with self._lock:
            last = self._touched.get(view.id) or view.last_used_at
            if last is not None and now - last < TOUCH_EVERY:
                return
            self._touched[view.id] = now
        self.keys.touch(view.id, now)
