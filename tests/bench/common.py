"""Shared by the benchmarks: scratch databases, a server process, and wrk.

The load generator is wrk (``apt-get install -y wrk``), a separate C process, so the
Python server is the only Python on the clock. It runs with one thread and 64
connections, as the baselines in NOTES.md were measured; figures on a 2-core machine
with the generator beside the server are for ratios, not absolutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
EXAMPLE = ROOT / "config" / "optout.example.toml"
PG_ADMIN_URL = os.environ.get(
    "OPTOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DURATION = int(os.environ.get("BENCH_SECONDS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_conninfo(db: str | None = None) -> str:
    url = make_url(PG_ADMIN_URL)
    if db:
        url = url.set(database=db)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def pg_available() -> bool:
    try:
        with psycopg.connect(_pg_conninfo(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def scratch_db(backend: str) -> Iterator[str]:
    """A fresh, migrated database URL on ``backend``; dropped afterwards."""
    from worker.store.db import create_db_engine, migrate

    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="optout-bench-"))
        url = f"sqlite:///{tmp / 'bench.db'}"
        try:
            engine = create_db_engine(url)
            migrate(engine)
            engine.dispose()
            yield url
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    name = f"optout_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_db_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        with psycopg.connect(_pg_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def config_for(db_url: str, workdir: Path, port: int) -> Path:
    text = EXAMPLE.read_text().replace('url = "sqlite:///var/optout.db"', f'url = "{db_url}"')
    text = text.replace(
        'public_url = "http://127.0.0.1:8025"', f'public_url = "http://127.0.0.1:{port}"'
    )
    text = text.replace('level = "info"', 'level = "warning"')
    path = workdir / "optout.toml"
    path.write_text(text)
    return path


@contextmanager
def server(config: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``tests.bench.server`` (the real app plus the baseline routes) in its own process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.server", str(config), str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"bench server exited: {err[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("bench server did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


LUA = """
local lines = {}
local idx = 0
init = function(args)
  for l in io.lines(args[1]) do lines[#lines + 1] = l end
  idx = tonumber(args[2]) or 0
end
request = function()
  idx = idx %% #lines + 1
  return wrk.format(%(method)s, %(prefix)s .. lines[idx] .. %(suffix)s, %(headers)s, %(body)s)
end
"""


def _lua_str(s: str | None) -> str:
    if s is None:
        return "nil"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk(
    url_base: str,
    *,
    method: str,
    prefix: str,
    items: Path,
    start: int = 0,
    suffix: str = "",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    seconds: int = DURATION,
    connections: int = 64,
) -> float:
    """Requests/s of one wrk run cycling through ``items`` (one path piece a line)."""
    hdr = (
        "{"
        + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in (headers or {}).items())
        + "}"
    )
    script = LUA % {
        "method": _lua_str(method),
        "prefix": _lua_str(prefix),
        "suffix": _lua_str(suffix),
        "headers": hdr,
        "body": _lua_str(body),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "-s",
                fh.name,
                url_base,
                "--",
                str(items),
                str(start),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(fh.name)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m is None:
        raise RuntimeError(f"wrk said: {out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{bad.group(1)} error responses from {prefix}: {out}")
    return float(m.group(1))


def median(values: list[float]) -> float:
    return statistics.median(values)


#: which backends to run (``BENCH_BACKENDS=sqlite`` for one)
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")


def each_backend(
    name: str,
    result: dict[str, Any],
    one_backend: Callable[[str], dict[str, Any]],
    shown: tuple[str, ...],
) -> dict[str, Any]:
    """Run ``one_backend`` on every selected backend, print ``shown`` figures of each,
    write ``var/bench/NAME.json``; an unreachable PostgreSQL is noted, not fatal."""
    for backend in BACKENDS:
        if backend == "postgresql" and not pg_available():
            result[backend] = "skipped: PostgreSQL not reachable"
            continue
        result[backend] = r = one_backend(backend)
        for key in shown:
            print(f"  {backend}: {key} {r[key]}", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2))
    return result
