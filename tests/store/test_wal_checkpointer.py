"""SQLite's WAL is checkpointed by the store's own thread, not inside a writer's commit
(worker/store/wal.py). PostgreSQL has no such file: its stores have no checkpointer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from worker.core.model import Channel
from worker.service import OptoutService
from worker.store import wal
from worker.store.db import WRITER_CHECKPOINT_PAGES, create_db_engine
from worker.store.repo import Store


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("not within the time allowed")
        time.sleep(0.01)


def _in_file_alone(path: str, sql: str) -> int:
    """``sql``'s answer from the database file without its WAL: what was checkpointed."""
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _record(service: OptoutService, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        service.record(service.prepare(f"p{i}@example.org", channel=Channel.PHONE))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_has_no_checkpointer(service: OptoutService) -> None:
    assert service.store.dialect == "postgresql"
    assert service.store.checkpointer is None
    _record(service, 3)  # and commits need none
    assert service.store.checkpointer is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a SQLite mechanism
def test_commits_reach_the_database_file_by_the_checkpointer(service: OptoutService) -> None:
    cp = service.store.checkpointer
    assert cp is not None
    cp.every = 0.05
    path = service.store.engine.url.database
    assert path is not None
    count = "SELECT count(*) FROM suppressions"
    before = _in_file_alone(path, count)
    _record(service, 30)
    # the writers never checkpoint below the backstop, so the rows in the file alone
    # were copied there by the checkpointer's thread
    _until(lambda: _in_file_alone(path, count) == before + 30 and cp.stats.runs >= 1)
    assert cp.stats.failures == 0
    assert cp.stats.last is not None
    busy, frames, copied = cp.stats.last
    assert busy == 0
    assert copied == frames < WRITER_CHECKPOINT_PAGES


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a SQLite mechanism
def test_the_wal_starts_over_between_bursts(tmp_path: Path, service: OptoutService) -> None:
    cp = service.store.checkpointer
    assert cp is not None
    cp.every = 0.02
    wal_file = Path(f"{service.store.engine.url.database}-wal")
    sizes = []
    for burst in range(6):
        _record(service, 20, start=burst * 20)
        runs = cp.stats.runs
        _until(lambda runs=runs: cp.stats.runs > runs and cp.stats.last is not None
               and cp.stats.last[1] == cp.stats.last[2])  # fmt: skip
        sizes.append(wal_file.stat().st_size)
    # each burst's frames went into the file and the next burst wrote the WAL from its
    # start again: the file is about one burst long, not six (a later burst writes a
    # little more: the tables and indexes it touches have grown)
    assert max(sizes) < 2 * sizes[0]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a SQLite mechanism
def test_the_thread_ends_when_idle_and_comes_back_with_the_next_commit(
    service: OptoutService,
) -> None:
    cp = service.store.checkpointer
    assert cp is not None
    cp.every, cp.idle = 0.02, 0.1
    _record(service, 3)
    _until(lambda: cp.stats.runs >= 1)
    _until(lambda: not cp.running)
    runs = cp.stats.runs
    _record(service, 3, start=3)
    _until(lambda: cp.stats.runs > runs)


def test_dispose_stops_the_thread_and_the_engine_can_be_used_again(tmp_path: Path) -> None:
    store = Store(create_db_engine(f"sqlite:///{tmp_path / 'd.db'}"))
    cp = store.checkpointer
    assert cp is not None
    cp.every = 0.02
    with store.transaction() as tx:
        tx.session.execute(text("CREATE TABLE t (x INTEGER)"))
        tx.session.execute(text("INSERT INTO t VALUES (1)"))
    _until(lambda: cp.stats.runs >= 1)
    store.dispose()
    assert not cp.running
    runs = cp.stats.runs
    with store.transaction() as tx:  # SQLAlchemy: a disposed engine opens new connections
        tx.session.execute(text("INSERT INTO t VALUES (2)"))
    _until(lambda: cp.stats.runs > runs)
    store.dispose()
    assert _in_file_alone(str(tmp_path / "d.db"), "SELECT sum(x) FROM t") == 3


def test_a_failing_checkpoint_is_logged_and_tried_again(tmp_path: Path) -> None:
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"this is not an SQLite file" * 200)
    cp = wal.Checkpointer(str(garbage), every=0.01)
    try:
        cp.nudge()
        _until(lambda: cp.stats.failures == 1)
        cp.nudge()  # the next commit: tried again, the thread still there
        _until(lambda: cp.stats.failures == 2)
        assert cp.stats.runs == 0
    finally:
        cp.close()
    assert garbage.read_bytes() == b"this is not an SQLite file" * 200


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_no_checkpointer_without_a_database_file(url: str) -> None:
    engine = create_db_engine(url)
    try:
        assert wal.attach(engine) is None
    finally:
        engine.dispose()
