"""Bearer API keys for ``/v1``: 401 without a valid key, 403 when its scope is too small.

The check is an async dependency that answers from the in-memory cache of
:class:`worker.apikeys.ApiKeys` without leaving the event loop; only a cache miss (or a
due ``last_used_at`` update) goes to a worker thread for the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.api.context import ApiContext
from worker.apikeys import Scope
from worker.store.keys import ApiKeyView

bearer = HTTPBearer(auto_error=False, description="An API key from `optout keys create`.")


def require(ctx: ApiContext, needed: Scope) -> Callable[..., Awaitable[ApiKeyView]]:
    """A dependency that yields the calling key, or raises 401/403."""

    async def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> ApiKeyView:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "an API key is required: Authorization: Bearer KEY",
                headers={"WWW-Authenticate": "Bearer"},
            )
        key = credentials.credentials
        view = ctx.keys.peek(key)
        if view is None:
            view = await asyncio.to_thread(ctx.keys.authenticate, key)
        if view is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown or revoked API key",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not Scope(view.scope).allows(needed):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this key's scope is {view.scope}; {needed} needed"
            )
        return view

    return dependency
