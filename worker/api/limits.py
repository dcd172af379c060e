"""Refuse oversized request bodies with 413 before they are read into memory.

A pure ASGI middleware (not ``BaseHTTPMiddleware``, which costs a task per request on the
hot check path): a declared ``Content-Length`` over the limit is refused at once; a
chunked body is counted as it streams and cut off when it passes the limit. The bulk
check gets room for ``api.max_bulk_addresses`` addresses, everything else
``http.max_body_bytes``.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: bytes allowed per address in a bulk check body (quotes, comma, a long address)
BYTES_PER_BULK_ADDRESS = 128


class BodyLimit:
    def __init__(self, app: ASGIApp, *, default: int, bulk: int) -> None:
        self.app = app
        self.default = default
        self.bulk = max(default, bulk)

    def limit_for(self, path: str) -> int:
        return self.bulk if path.rstrip("/").endswith("/v1/check") else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await _too_large(scope, send, limit)
                    return
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"request body over {limit} bytes")
            return message

        await self.app(scope, counting, send)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    detail = f"request body over {limit} bytes"
    if scope["path"].startswith("/v1"):
        body = json.dumps({"error": "request too large", "detail": detail}).encode()
        ctype = b"application/json"
    else:
        body = f"request too large: {detail}\n".encode()
        ctype = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", ctype),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
