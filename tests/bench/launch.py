"""Run one command; write its wall time, exit code and resource usage as JSON.

Why a separate small process: Linux keeps a process's peak RSS across ``exec``, taking
the high-water mark of the image it replaced. A command started straight from the
benchmark runner therefore reports the runner's own size as its peak whenever the
runner is the larger: under ``make bench`` the runner has just held a million-row bulk
check in memory (about 460 MB), and ``optout poll`` came out at 462 MB at 2,000 and at
10,000 messages, against 147–152 MB when ``bench_intake`` ran alone. Started from this
launcher, a few MB of standard library, the command's peak is its own.

The wall clock is read here too, around the command alone, so the launcher's own start
is not on it. ``wait4`` on the one child gives its CPU time with its own reaped
children (a classifier pool's workers) included.

Run: ``python tests/bench/launch.py REPORT.json -- COMMAND [ARG…]`` (by path: it needs
nothing but the standard library, and so leaves the command's ``sys.path`` alone); the
command's standard streams are this process's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    report, command = argv[0], argv[2:]
    started = time.perf_counter()
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    with open(report, "w") as out:
        json.dump(
            {
                "wall_s": wall,
                "returncode": os.waitstatus_to_exitcode(status),
                "cpu_user_s": usage.ru_utime,
                "cpu_sys_s": usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux: kilobytes
            },
            out,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
