"""The CPU counter the intake benchmark puts beside its own figures (tree_cpu_seconds).

The benchmark's budget line says how much of the machine the server took during a run;
a counter that lost the time of a session that has already ended would make the poll
look as if it had the machine to itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.dovecot import Dovecot, tree_cpu_seconds


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def test_a_reaped_child_keeps_its_cpu_in_the_count() -> None:
    script = (
        "import subprocess, sys, time\n"
        "subprocess.run([sys.executable, '-c', 'sum(i * i for i in range(6_000_000))'])\n"
        "time.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        before = tree_cpu_seconds(parent.pid)
        deadline = time.monotonic() + 20
        while not _children(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # the busy child starts
        while _children(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # ... ends, and is reaped by the sleeping parent
        assert not _children(parent.pid)
        assert tree_cpu_seconds(parent.pid) - before >= 0.1
    finally:
        parent.kill()
        parent.wait()


def test_dovecot_sessions_are_counted_after_they_end(dovecot_server: Dovecot) -> None:
    account = dovecot_server.account(f"cpu{os.getpid()}")
    account.drop([b"Subject: s\r\n\r\n" + b"x" * 20_000 + b"\r\n"] * 400)
    before = dovecot_server.cpu_seconds()
    for _ in range(3):
        assert len(account.bodies("INBOX")) == 400  # 8 MB read in a session that ends
    time.sleep(0.3)
    after = dovecot_server.cpu_seconds()
    assert after > before
    assert dovecot_server.cpu_seconds() >= after  # it only grows
