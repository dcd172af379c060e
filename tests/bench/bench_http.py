"""Benchmark: one-click POSTs/s and single-check GETs/s through the real server, beside
raw-driver endpoints on the same server and database, on SQLite and PostgreSQL.

Targets (issue 3): one-click and single check ≥ 0.5× their raw endpoints. Every one-click
POST carries a token never posted before, so each one is a real opt-out (request, two
audit events, suppression), not the cheaper duplicate path. Run alone:
``python -m tests.bench.bench_http``.
"""

from __future__ import annotations

import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.common import (
    DURATION,
    RUNS,
    config_for,
    each_backend,
    free_port,
    median,
    scratch_db,
    server,
    wrk,
)
from worker.apikeys import ApiKeys
from worker.bootstrap import open_app
from worker.config import load_settings
from worker.core.addresses import address_hash
from worker.links import LinkService
from worker.store.keys import KeyStore

SEEDED = 100_000  # suppressions in the table while checks run
TOKENS = 120_000  # distinct one-click tokens, more than the runs can post
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def seed(url: str, n: int) -> None:
    """``n`` active suppressions straight into the table (bench set-up, not under test)."""
    since = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [
        (f"seed{i}@example.com", address_hash(f"seed{i}@example.com"), "newsletter")
        for i in range(n)
    ]
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        stamp = since.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        with lite:
            lite.executemany(
                "INSERT INTO suppressions (address, address_hash, scope, reason, channel, "
                "since, updated_at) VALUES (?, ?, ?, 'opt-out', 'import', ?, ?)",
                [(a, h, s, stamp, stamp) for a, h, s in rows],
            )
        lite.close()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    info = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(info) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY suppressions (address, address_hash, scope, reason, channel, since, "
            "updated_at) FROM STDIN"
        ) as copy:
            for a, h, s in rows:
                copy.write_row((a, h, s, "opt-out", "import", since, since))
        cur.execute("ANALYZE suppressions")


def prepare(config: Path, work: Path) -> tuple[Path, Path, str]:
    """Token and address files for wrk, and a check key."""
    app = open_app(load_settings(config))
    try:
        links = LinkService.from_settings(app.service, app.settings)
        tokens = work / "tokens.txt"
        with tokens.open("w") as fh:
            for i in range(TOKENS):
                fh.write(links.link(f"oc{i}@example.com", "newsletter").rsplit("/", 1)[1] + "\n")
        rnd = random.Random(3)
        addresses = work / "addresses.txt"
        with addresses.open("w") as fh:
            for i in range(20_000):  # half suppressed, half not
                n = rnd.randrange(SEEDED)
                fh.write(f"seed{n}@example.com\n" if i % 2 else f"free{n}@example.com\n")
        key = ApiKeys(KeyStore(app.store), app.service.clock).create("bench", "check").key
    finally:
        app.close()
    return tokens, addresses, key


def one_backend(backend: str) -> dict[str, Any]:
    with scratch_db(backend) as url, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        config = config_for(url, work, port)
        seed(url, SEEDED)
        tokens, addresses, key = prepare(config, work)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {key}"}
        figures: dict[str, list[float]] = {}
        per_run = TOKENS // (RUNS + 1)
        with server(config, port):
            # warm-up: connections, prepared statements, caches
            wrk(base, method="GET", prefix="/bench/raw-check/", items=addresses, seconds=1)
            wrk(
                base,
                method="GET",
                prefix="/v1/suppressions/",
                suffix="?category=newsletter",
                items=addresses,
                headers=auth,
                seconds=1,
            )
            for run in range(RUNS):
                plan: dict[str, dict[str, Any]] = {
                    "noop_post": {
                        "method": "POST",
                        "prefix": "/bench/noop?",
                        "items": tokens,
                        "headers": FORM,
                        "body": ONE_CLICK_BODY,
                    },
                    "raw_insert_thread": {
                        "method": "POST",
                        "prefix": "/bench/raw-insert/",
                        "items": tokens,
                        "headers": FORM,
                        "body": ONE_CLICK_BODY,
                    },
                    "raw_insert_inline": {
                        "method": "POST",
                        "prefix": "/bench/raw-insert-inline/",
                        "items": tokens,
                        "headers": FORM,
                        "body": ONE_CLICK_BODY,
                    },
                    "one_click": {
                        "method": "POST",
                        "prefix": "/u/",
                        "items": tokens,
                        "start": (run + 1) * per_run,
                        "headers": FORM,
                        "body": ONE_CLICK_BODY,
                    },
                    "raw_check": {
                        "method": "GET",
                        "prefix": "/bench/raw-check/",
                        "items": addresses,
                    },
                    "check": {
                        "method": "GET",
                        "prefix": "/v1/suppressions/",
                        "suffix": "?category=newsletter",
                        "items": addresses,
                        "headers": auth,
                    },
                }
                for name, kw in plan.items():
                    figures.setdefault(name, []).append(wrk(base, **kw))
        med = {k: round(median(v)) for k, v in figures.items()}
        return {
            "requests_per_second": med,
            "runs": figures,
            "ratios": {
                "one_click_vs_raw_insert_thread": round(
                    med["one_click"] / med["raw_insert_thread"], 3
                ),
                "one_click_vs_raw_insert_inline": round(
                    med["one_click"] / med["raw_insert_inline"], 3
                ),
                "check_vs_raw_check": round(med["check"] / med["raw_check"], 3),
            },
            "targets": {"one_click": 0.5, "check": 0.5},
        }


def run() -> dict[str, Any]:
    result: dict[str, Any] = {
        "load_generator": "wrk -t1 -c64",
        "seconds_per_run": DURATION,
        "runs": RUNS,
    }
    return each_backend("http", result, one_backend, ("requests_per_second", "ratios"))


if __name__ == "__main__":
    run()
