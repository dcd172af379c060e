"""`optout run`: serves /healthz, runs the deadline monitor, exits 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                return json.loads(r.read())  # type: ignore[no-any-return]
        except OSError:
            time.sleep(0.1)
    raise AssertionError("daemon did not answer /healthz")


def start(config_file: Path, port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPTOUT_HTTP__PORT": str(port), "OPTOUT_MONITOR__INTERVAL_SECONDS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run", "--config", str(config_file)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_daemon_serves_health_logs_json_and_stops_cleanly(
    config_file: Path, tmp_path: Path
) -> None:
    port = free_port()
    # a request near its deadline, so the monitor has something to say
    subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "suppress",
            "near@example.com",
            "--config",
            str(config_file),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    proc = start(config_file, port, tmp_path)
    try:
        body = wait_for_health(port, proc)
        assert body["status"] == "ok"
        assert body["database"] == "ok"
        assert "deadline-monitor" in body["jobs"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            body = wait_for_health(port, proc)
            if body["jobs"]["deadline-monitor"]["last_success"]:
                break
            time.sleep(0.2)
        assert body["jobs"]["deadline-monitor"]["last_success"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "daemon.started" in events
    assert "daemon.stopped" in events
    assert "near@example.com" not in err.decode()


def test_daemon_refuses_a_wrong_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[http]\nport = 99999\n")
    proc = subprocess.run(
        [sys.executable, "-m", "worker.cli", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "http.port" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_example_config_runs_as_is(tmp_path: Path) -> None:
    """What `make run` does: the example config, SQLite and the inbox under ./var."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "run",
            "--config",
            str(ROOT / "config" / "optout.example.toml"),
        ],
        cwd=tmp_path,
        env={**os.environ, "OPTOUT_HTTP__PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for_health(port, proc)["database"] == "ok"
        assert (tmp_path / "var" / "optout.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
def test_daemon_refuses_a_shared_database_whose_schema_is_behind(
    empty_db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "optout.toml"
    text = (ROOT / "config" / "optout.example.toml").read_text()
    config.write_text(text.replace('url = "sqlite:///var/optout.db"', f'url = "{empty_db_url}"'))
    proc = subprocess.run(
        [sys.executable, "-m", "worker.cli", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=30, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "optout migrate" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_second_daemon_on_a_taken_port_fails_at_once(config_file: Path, tmp_path: Path) -> None:
    port = free_port()
    first = start(config_file, port, tmp_path)
    try:
        wait_for_health(port, first)
        second = subprocess.run(
            [sys.executable, "-m", "worker.cli", "run", "--config", str(config_file)],
            cwd=tmp_path, env={**os.environ, "OPTOUT_HTTP__PORT": str(port)},
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=15)
    assert second.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert "Traceback" not in second.stderr
    assert "daemon.started" not in second.stderr
