"""The fast insert path (worker/store/bulk.py) writes exactly the rows SQLAlchemy Core did.

The same scenario — one-click batches with duplicates and reviews, a repeat batch, an
import large enough to need several statements, and an inbox batch with bounces, replies
and privacy requests — runs once through the Core path and once through the fast path,
each into a fresh database, and every column of every table is compared as the database
stores it (SQLite: ``quote()`` of the stored value, so the datetime text and the storage
class count; PostgreSQL: the ``::text`` of each value).
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from tests.bench.bench_intake import corpus_like_backlog
from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.intake import messages as m
from worker.bootstrap import policy_from
from worker.config import Settings
from worker.core.clock import FixedClock
from worker.core.imports import ImportRow
from worker.core.model import Channel, NewRequest, Reason
from worker.core.tokens import KeyRing
from worker.importer import import_rows
from worker.intake import IntakePolicy, IntakeService, Received
from worker.service import OptoutService
from worker.store import bulk, inbound
from worker.store.db import create_db_engine
from worker.store.models import Base
from worker.store.repo import Store

KEYS = KeyRing.parse("k1:an-adequately-long-test-secret")
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_dbs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two freshly migrated databases on one backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        urls = []
        for name in ("core.db", "bulk.db"):
            shutil.copy(template, tmp_path / name)
            urls.append(f"sqlite:///{tmp_path / name}")
        yield urls[0], urls[1]
        return
    tpl: str = request.getfixturevalue("pg_template")
    names = [f"optout_b_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for name in names:
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    base = make_url(PG_ADMIN_URL)
    yield (
        base.set(database=names[0]).render_as_string(hide_password=False),
        base.set(database=names[1]).render_as_string(hide_password=False),
    )
    for name in names:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _scenario(url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = iter(range(1, 1_000_000))
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    clock = FixedClock(T0)
    store = Store(create_db_engine(url))
    try:
        service = OptoutService(store, policy_from(settings), clock)
        ny = ZoneInfo("America/New_York")
        batch = [
            NewRequest(
                address=f"user{i}@example.com",
                scope="all" if i % 3 else "newsletter",
                channel=Channel.LINK if i % 2 else Channel.EMAIL,
                # aware in another zone, with and without microseconds
                received_at=(T0 - timedelta(minutes=i, microseconds=i * 7)).astimezone(ny)
                if i % 4
                else T0 - timedelta(days=i),
                evidence_key=None if i % 5 == 0 else f"tok:{i % 9}",  # repeats in-batch
                actor="ops" if i % 6 == 0 else None,
                note="phoned in — ünïcode ✓" if i % 7 == 0 else None,
                reason=Reason.HARD_BOUNCE if i == 3 else Reason.OPT_OUT,
                evidence={"token_id": f"t{i}", "nested": {"a": [1, 2.5, None, "é"]}},
                needs_review=i % 8 == 0,
            )
            for i in range(32)
        ]
        service.record_many(batch)
        clock.advance(timedelta(seconds=1, microseconds=123))
        # the same keys again (duplicates of earlier transactions), and an address already
        # suppressed under a new key (the suppression insert is a no-op)
        again = [*batch[:5], NewRequest("user1@example.com", "all", Channel.PHONE, T0, "ph:1")]
        service.record_many(again)
        clock.advance(timedelta(minutes=5))
        rows = [
            ImportRow(n, f"imp{n}@example.org", "all", T0 - timedelta(days=n % 40), None)
            for n in range(2500)
        ]
        list(import_rows(service, rows, source="list.csv", actor="importer", batch=2500))
        clock.advance(timedelta(minutes=1))
        intake = IntakeService(service, KEYS, IntakePolicy())
        raws = [m.UNSUBSCRIBE, m.ERASURE, m.DSN_HARD, m.OUT_OF_OFFICE, m.QUESTION_WITH_FOOTER]
        raws += list(corpus_like_backlog(60))
        items = [
            Received("inbox", f"uid:{n}", raw, T0 - timedelta(seconds=n), len(raw))
            for n, raw in enumerate(raws)
        ]
        intake.process_many(items)
    finally:
        store.dispose()


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    tables = Base.metadata.sorted_tables
    if url.startswith("sqlite"):
        database = make_url(url).database
        assert database is not None
        with sqlite3.connect(database) as conn:
            for t in tables:
                cols = ", ".join(f"quote({c.name})" for c in t.columns)
                out[t.name] = sorted(conn.execute(f"SELECT {cols} FROM {t.name}").fetchall())
        return out
    info = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(info) as conn:
        for t in tables:
            cols = ", ".join(f"{c.name}::text" for c in t.columns)
            rows = conn.execute(f"SELECT {cols} FROM {t.name}").fetchall()  # type: ignore[call-overload,unused-ignore]
            out[t.name] = sorted(rows, key=lambda r: tuple("" if v is None else v for v in r))
    return out


def test_fast_path_writes_the_same_rows_as_core(
    two_dbs: tuple[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    core_url, bulk_url = two_dbs
    monkeypatch.setattr(bulk, "ENABLED", False)
    _scenario(core_url, settings, monkeypatch)
    monkeypatch.setattr(bulk, "ENABLED", True)
    _scenario(bulk_url, settings, monkeypatch)
    core, fast = _dump(core_url), _dump(bulk_url)
    for table in ("requests", "suppressions", "audit_events", "inbound_items"):
        assert len(core[table]) > 30, table
    for table in ("item_requests", "privacy_requests"):
        assert core[table], table
    for table, rows in core.items():
        assert len(fast[table]) == len(rows), table
        for a, b in zip(rows, fast[table], strict=True):
            assert a == b, table


def test_sqlite_datetime_text_is_sqlalchemys_format(tmp_path: Path) -> None:
    """Microseconds always written, offset dropped, converted to UTC first."""
    ny = ZoneInfo("America/New_York")
    convert = bulk._converter(Base.metadata.tables["requests"].c.received_at.type, "sqlite")
    assert convert is not None
    assert convert(datetime(2026, 11, 23, 14, 0, tzinfo=UTC)) == "2026-11-23 14:00:00.000000"
    assert convert(datetime(2026, 11, 23, 9, 0, 0, 5, tzinfo=ny)) == "2026-11-23 14:00:00.000005"
    assert convert(None) is None
    with pytest.raises(ValueError, match="naive"):
        convert(datetime(2026, 11, 23, 14, 0))


def test_fast_path_errors_are_sqlalchemy_errors(store: Store) -> None:
    """A DBAPI error surfaces as SQLAlchemy's (what Store.transaction and intake catch)."""
    item = inbound.NewItem(
        source="inbox", item_key="k", message_id=None, received_at=T0, size=1, raw=b"x",
        raw_codec=None, raw_sha256="0" * 64, status="processed", message_class=None,
        confidence=None, sender_hash=None, sender_masked=None, subject=None, detail={}, error=None,
        created_at=T0,
    )  # fmt: skip
    with store.transaction() as tx:
        assert len(inbound.insert_items(tx, [item])) == 1
    with pytest.raises(IntegrityError), store.transaction() as tx:
        inbound.insert_items(tx, [item])
    with store.transaction() as tx:  # the failed transaction left nothing behind
        assert inbound.find_item(tx, "inbox", "k") is not None
