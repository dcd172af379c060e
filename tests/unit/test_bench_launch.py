"""The benchmark launcher reports a command's own peak RSS, not its starter's.

Linux carries the high-water mark of the image a process execs over; the intake
benchmark once reported 462 MB for a poll that peaks near 150 MB because the runner had
grown first. These tests grow this process, then start a small command both ways.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAUNCH = ROOT / "tests" / "bench" / "launch.py"
SMALL = [sys.executable, "-c", "x = bytearray(8 * 1024 * 1024)"]
GROWN_MB = 400


@pytest.fixture
def grown() -> Iterator[None]:
    ballast = bytearray(GROWN_MB * 1024 * 1024)
    for i in range(0, len(ballast), 4096):  # touched: resident, not just reserved
        ballast[i] = 1
    yield
    del ballast


@pytest.mark.usefixtures("grown")
def test_a_child_started_directly_inherits_the_starters_peak() -> None:
    proc = subprocess.Popen(SMALL)
    _, _, usage = os.wait4(proc.pid, 0)
    assert usage.ru_maxrss / 1024 >= GROWN_MB  # the trap the launcher is for


@pytest.mark.usefixtures("grown")
def test_the_launcher_reports_the_commands_own_peak(tmp_path: Path) -> None:
    report = tmp_path / "usage.json"
    done = subprocess.run([sys.executable, str(LAUNCH), str(report), "--", *SMALL], check=True)
    assert done.returncode == 0
    usage = json.loads(report.read_text())
    assert usage["returncode"] == 0
    assert 8 < usage["peak_rss_mb"] < 100
    assert usage["wall_s"] > 0
    assert usage["cpu_user_s"] + usage["cpu_sys_s"] > 0


def test_the_launcher_passes_on_the_exit_code(tmp_path: Path) -> None:
    report = tmp_path / "usage.json"
    cmd = [sys.executable, "-c", "raise SystemExit(3)"]
    subprocess.run([sys.executable, str(LAUNCH), str(report), "--", *cmd], check=True)
    assert json.loads(report.read_text())["returncode"] == 3
