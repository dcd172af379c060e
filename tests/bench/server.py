"""The benchmark server: the real ``create_app`` plus baseline routes, on one uvicorn.

Baselines, each the least a route can do for the same job, with the raw driver:

* ``POST /bench/noop`` — reads the body, answers: the HTTP stack alone.
* ``POST /bench/raw-insert/{token}`` — one INSERT + COMMIT in a worker thread (as the
  one-click route writes); ``/bench/raw-insert-inline/{token}`` does it on the event
  loop, the fastest it can be.
* ``GET /bench/raw-check/{address}`` — hashes the address and runs the same SELECT the
  single check runs, inline on SQLite and in a worker thread on PostgreSQL (the same
  policy as the real route).

Run: ``python -m tests.bench.server CONFIG PORT``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
import uvicorn
from fastapi import FastAPI, Request, Response

from worker import logs
from worker.api.app import create_app
from worker.bootstrap import open_app
from worker.config import load_settings

_SELECT = (
    "SELECT scope, since, reason, request_id FROM suppressions "
    "WHERE address_hash = {p} AND lifted_at IS NULL"
)


class RawDb:
    """One raw connection per thread, like FastReads, but nothing of ours in between."""

    def __init__(self, url: Any) -> None:
        self.sqlite = url.get_backend_name() == "sqlite"
        self.target = (
            url.database
            if self.sqlite
            else url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.local = threading.local()
        self.p = "?" if self.sqlite else "%s"

    def conn(self) -> Any:
        c = getattr(self.local, "c", None)
        if c is None:
            if self.sqlite:
                c = sqlite3.connect(self.target, isolation_level=None, check_same_thread=False)
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("PRAGMA synchronous=NORMAL")
                c.execute("PRAGMA busy_timeout=30000")
            else:
                c = psycopg.connect(self.target, autocommit=True)
            self.local.c = c
        return c

    def setup(self) -> None:
        self.conn().execute("CREATE TABLE IF NOT EXISTS bench_raw (token TEXT, at TEXT)")

    def insert(self, token: str) -> None:
        now = datetime.now(UTC).isoformat()
        c = self.conn()
        if self.sqlite:
            c.execute("BEGIN")
            c.execute("INSERT INTO bench_raw (token, at) VALUES (?, ?)", (token, now))
            c.execute("COMMIT")
        else:
            with c.transaction():
                c.execute("INSERT INTO bench_raw (token, at) VALUES (%s, %s)", (token, now))

    def check(self, address: str) -> list[tuple[Any, ...]]:
        digest = hashlib.sha256(address.lower().encode()).hexdigest()
        rows: list[tuple[Any, ...]] = (
            self.conn().execute(_SELECT.format(p=self.p), (digest,)).fetchall()
        )
        return rows


def build(config: str) -> FastAPI:
    settings = load_settings(config)
    # as `optout run` does: JSON logs at the configured level (the bench config: warning)
    logs.configure(settings.logging.level, "json")
    app = open_app(settings)
    api = create_app(app)
    raw = RawDb(app.store.engine.url)
    raw.setup()

    @api.post("/bench/noop", include_in_schema=False)
    async def noop(request: Request) -> Response:
        await request.body()
        return Response(b"ok\n")

    @api.post("/bench/raw-insert/{token}", include_in_schema=False)
    async def raw_insert(token: str, request: Request) -> Response:
        await request.body()
        await asyncio.to_thread(raw.insert, token)
        return Response(b"ok\n")

    @api.post("/bench/raw-insert-inline/{token}", include_in_schema=False)
    async def raw_insert_inline(token: str, request: Request) -> Response:
        await request.body()
        raw.insert(token)
        return Response(b"ok\n")

    @api.get("/bench/raw-check/{address}", include_in_schema=False)
    async def raw_check(address: str) -> Response:
        if raw.sqlite:
            rows = raw.check(address)
        else:
            rows = await asyncio.to_thread(raw.check, address)
        body = {"address": address, "suppressed": bool(rows), "rows": [str(r[1]) for r in rows]}
        return Response(json.dumps(body).encode(), media_type="application/json")

    return api


if __name__ == "__main__":
    uvicorn.run(
        build(sys.argv[1]),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_level="warning",
        access_log=False,
        ws="none",
    )
