"""End-to-end fixtures: a real aiosmtpd sink and the daemon as its own process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Sink, smtp_sink  # noqa: F401  (fixture)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read()
        return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()

    def post(self, path: str, body: bytes) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(r.status)

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_daemon(config: Path, workdir: Path, env: dict[str, str] | None = None) -> Daemon:
    port = free_port()
    log_path = workdir / "daemon.log"
    full_env = {**os.environ, "OPTOUT_HTTP__PORT": str(port), **(env or {})}
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run", "--config", str(config)],
        cwd=workdir, env=full_env, stdout=log_file, stderr=subprocess.STDOUT,
    )  # fmt: skip
    daemon = Daemon(proc, port, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited: {log_path.read_text()[-2000:]}")
        try:
            daemon.get("/healthz")
            return daemon
        except OSError:
            time.sleep(0.1)
    daemon.stop()
    raise AssertionError("daemon did not start")


def wait_until(predicate: Any, timeout: float = 15.0, step: float = 0.1) -> float:
    """Poll ``predicate`` until true; return the seconds it took (fails after timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def repo_root() -> Path:
    return ROOT
