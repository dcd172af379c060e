"""`python -m tests.bench` (`make bench`): every ``bench_*`` module's ``run()``, in turn.

Each module measures its own baselines in the same run and writes ``var/bench/NAME.json``;
this runner prints one summary and writes ``var/bench/summary.json``. Select modules by
name: ``python -m tests.bench http bulk``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import tests.bench as package

OUT = Path(__file__).resolve().parents[2] / "var" / "bench"


def main(argv: list[str]) -> int:
    names = sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("bench_")
    )
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv]
    OUT.mkdir(parents=True, exist_ok=True)
    summary: dict[str, object] = {}
    for name in wanted:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"tests.bench.{name}")
        summary[name] = module.run()
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"results in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
