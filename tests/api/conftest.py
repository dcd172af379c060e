"""A real uvicorn on a loopback port, serving ``create_app`` over each database backend."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from worker.api.app import create_app
from worker.api.context import ApiContext
from worker.bootstrap import App, open_app
from worker.config import load_settings
from worker.core.clock import SystemClock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """The running server, the objects behind it, and a client pointed at it."""

    url: str
    app: App
    api: FastAPI
    client: httpx.Client

    @property
    def ctx(self) -> ApiContext:
        ctx: ApiContext = self.api.state.ctx
        return ctx

    def key(self, scope: str, name: str | None = None) -> str:
        return self.ctx.keys.create(name or f"{scope}-{time.monotonic_ns()}", scope).key

    def auth(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(scope)}"}

    def token(self, address: str, scope: str) -> str:
        return self.ctx.links.link(address, scope).rsplit("/", 1)[1]

    def counts(self) -> tuple[int, int]:
        """(requests, active suppressions): "nothing written" means these do not move."""
        with self.app.store.transaction() as tx:
            requests = sum(tx.request_counts().values())
            active = sum(tx.suppression_counts().values())
        return requests, active


def serve(api: FastAPI, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        api,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread


@pytest.fixture
def live(config_file: Path) -> Iterator[Live]:
    app = open_app(load_settings(config_file), clock=SystemClock())
    api = create_app(app)
    port = free_port()
    server, thread = serve(api, port)
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    try:
        yield Live(url, app, api, client)
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)
        app.close()
