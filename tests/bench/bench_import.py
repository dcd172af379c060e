"""Benchmark: `optout import` of a 100,000-row CSV, beside a raw-driver baseline.

The baseline inserts the same number of rows into the same three tables with the raw
sqlite3 driver (executemany, one transaction per 2,000 rows), so the ratio shows what the
validation, deadlines, idempotency and audit trail cost on top of bare writes.
Run: ``python -m tests.bench.bench_import [ROWS]``.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"


def make_csv(path: Path, rows: int) -> None:
    rnd = random.Random(7)
    with path.open("w") as f:
        f.write("email,scope,received_at\n")
        for i in range(rows):
            scope = rnd.choice(["all", "newsletter", "offers"])
            f.write(f"user{i}@example{i % 97}.com,{scope},2026-11-{1 + i % 20:02d}\n")


def raw_baseline(db: Path, rows: int) -> float:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, a TEXT, h TEXT UNIQUE, s TEXT)")
    conn.execute("CREATE TABLE s (id INTEGER PRIMARY KEY, h TEXT, s TEXT, r INTEGER)")
    conn.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, h TEXT, k TEXT)")
    started = time.perf_counter()
    for start in range(0, rows, 2000):
        batch = [(f"user{i}@x.com", f"h{i}", "all") for i in range(start, min(rows, start + 2000))]
        with conn:
            conn.executemany("INSERT INTO r (a, h, s) VALUES (?, ?, ?)", batch)
            conn.executemany("INSERT INTO s (h, s, r) VALUES (?, ?, 1)", [b[1:] for b in batch])
            conn.executemany("INSERT INTO e (h, k) VALUES (?, 'imported')", [b[1:2] for b in batch])
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def run(rows: int = 100_000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv_path = work / "list.csv"
        make_csv(csv_path, rows)
        env = {**os.environ, "OPTOUT_DATABASE__URL": f"sqlite:///{work / 'optout.db'}"}
        config = str(ROOT / "config" / "optout.example.toml")
        subprocess.run(
            [sys.executable, "-m", "worker.cli", "migrate", "--config", config],
            env=env, check=True, capture_output=True, cwd=work,
        )  # fmt: skip
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "worker.cli", "import", str(csv_path), "--config", config],
            env=env, check=True, capture_output=True, cwd=work,
        )  # fmt: skip
        optout_s = time.perf_counter() - started
        raw_s = raw_baseline(work / "raw.db", rows)
    result = {
        "rows": rows,
        "optout_seconds": round(optout_s, 2),
        "optout_rows_per_s": round(rows / optout_s),
        "raw_sqlite_seconds": round(raw_s, 2),
        "ratio_raw_over_optout": round(raw_s / optout_s, 3),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "import.json").write_text(json.dumps(result, indent=2))
    print(
        f"import {rows} rows: optout {optout_s:.1f} s ({rows / optout_s:,.0f} rows/s) | "
        f"raw sqlite3 executemany {raw_s:.2f} s | ratio {raw_s / optout_s:.3f}"
    )
    return result


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
