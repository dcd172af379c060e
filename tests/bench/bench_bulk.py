"""Benchmark: bulk check of 100,000 addresses against 1,000,000 suppressions.

Beside the fastest raw query for it, run on the same database in the same process:
SQLite ``IN (SELECT value FROM json_each(?))``, PostgreSQL ``= ANY(%s::text[])`` (psycopg),
given the 100,000 hashes ready-made. Ours is timed three ways: ``POST /v1/check``
end to end through the real server (JSON in, normalise, hash, query, JSON out), the
in-process ``CheckService.suppressed_among`` (no HTTP), and, for the record, the ORM path
``OptoutService.suppressed_among`` the fast path replaced. Target: HTTP ≤ 1.5× the raw
query. Run alone: ``python -m tests.bench.bench_bulk``.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.bench.bench_http import seed
from tests.bench.common import (
    RUNS,
    config_for,
    each_backend,
    free_port,
    median,
    scratch_db,
    server,
)
from worker.apikeys import ApiKeys
from worker.bootstrap import open_app
from worker.checks import CheckService
from worker.config import load_settings
from worker.core.addresses import address_hash
from worker.store.fast import FastReads
from worker.store.keys import KeyStore

SUPPRESSIONS = 1_000_000
ADDRESSES = 100_000
SCOPES = ["every", "all", "newsletter"]  # what blocks "newsletter"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def raw_query(url: str, hashes: list[str]) -> Callable[[], int]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))

        def sqlite_run() -> int:
            rows = conn.execute(
                "SELECT DISTINCT address_hash FROM suppressions WHERE address_hash IN "
                "(SELECT value FROM json_each(?)) AND scope IN (SELECT value FROM json_each(?)) "
                "AND lifted_at IS NULL",
                (json.dumps(hashes), json.dumps(SCOPES)),
            ).fetchall()
            return len(rows)

        return sqlite_run
    info = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pg = psycopg.connect(info, autocommit=True)

    def pg_run() -> int:
        rows = pg.execute(
            "SELECT DISTINCT address_hash FROM suppressions WHERE address_hash = ANY(%s::text[]) "
            "AND scope = ANY(%s::text[]) AND lifted_at IS NULL",
            (hashes, SCOPES),
        ).fetchall()
        return len(rows)

    return pg_run


def one_backend(backend: str) -> dict[str, Any]:
    rnd = random.Random(11)
    with scratch_db(backend) as url, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = config_for(url, Path(tmp), port)
        started = time.perf_counter()
        seed(url, SUPPRESSIONS)
        seeded_in = time.perf_counter() - started
        # one in five is suppressed
        addresses = [
            f"seed{rnd.randrange(SUPPRESSIONS)}@example.com"
            if i % 5 == 0
            else f"new{i}@example.com"
            for i in range(ADDRESSES)
        ]
        hashes = [address_hash(a) for a in addresses]
        raw = raw_query(url, hashes)
        app = open_app(load_settings(config))
        key = ApiKeys(KeyStore(app.store), app.service.clock).create("bulk", "check").key
        reads = FastReads(app.store.engine)
        checks = CheckService(app.service.categories, reads)
        times: dict[str, list[float]] = {"raw_query": [], "in_process": [], "http": [], "orm": []}
        expected = raw()
        with server(config, port), httpx.Client(timeout=120) as client:
            body = json.dumps({"category": "newsletter", "addresses": addresses})
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            client.post(f"http://127.0.0.1:{port}/v1/check", content=body, headers=headers)
            for _ in range(RUNS):
                t, n = timed(raw)
                times["raw_query"].append(t)
                t, answer = timed(lambda: checks.suppressed_among(addresses, "newsletter"))
                times["in_process"].append(t)
                assert len(set(answer.suppressed)) == n
                t, r = timed(
                    lambda: client.post(
                        f"http://127.0.0.1:{port}/v1/check", content=body, headers=headers
                    )
                )
                r.raise_for_status()
                times["http"].append(t)
                assert len(set(r.json()["suppressed"])) == n
            t, orm = timed(lambda: app.service.suppressed_among(addresses, "newsletter"))
            times["orm"].append(t)
            assert len(set(orm)) == expected
        reads.close()
        app.close()
        med = {k: round(median(v), 4) for k, v in times.items()}
        return {
            "seconds": med,
            "runs": times,
            "suppressed_found": expected,
            "seed_seconds": round(seeded_in, 1),
            "ratios": {
                "http_vs_raw_query": round(med["http"] / med["raw_query"], 3),
                "in_process_vs_raw_query": round(med["in_process"] / med["raw_query"], 3),
                "orm_vs_raw_query": round(med["orm"] / med["raw_query"], 3),
            },
            "target": {"http_vs_raw_query": 1.5},
        }


def run() -> dict[str, Any]:
    result: dict[str, Any] = {"addresses": ADDRESSES, "suppressions": SUPPRESSIONS}
    return each_backend("bulk", result, one_backend, ("seconds", "ratios"))


if __name__ == "__main__":
    run()
