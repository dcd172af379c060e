"""Shared fixtures: both database backends, a fixed clock, the example config.

Every store test runs on SQLite and on the real PostgreSQL. PostgreSQL databases are
cloned from a template migrated once per session (``CREATE DATABASE … TEMPLATE``), so each
test gets a fresh schema in a few tens of milliseconds. When a service is missing, the
test skips on a laptop and FAILS under CI (``CI`` set): CI must prove every path.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url

from worker import logs
from worker.bootstrap import policy_from
from worker.config import Settings, load_settings
from worker.core.clock import FixedClock
from worker.service import OptoutService
from worker.store.db import create_db_engine, migrate
from worker.store.repo import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "optout.example.toml"
PG_ADMIN_URL = os.environ.get(
    "OPTOUT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    """Structured logs to stderr at warning level, as the CLI does; never on stdout."""
    logs.configure("warning", "json")


def service_missing(what: str) -> None:
    """Skip locally, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} (CI is set, so this fails instead of skipping)")
    pytest.skip(what)


def _pg_conninfo(dbname: str | None = None) -> str:
    url = make_url(PG_ADMIN_URL)
    if dbname:
        url = url.set(database=dbname)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_admin(sql: str) -> None:
    with psycopg.connect(_pg_conninfo(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)  # type: ignore[arg-type,unused-ignore]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"optout_tpl_{uuid.uuid4().hex[:8]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    engine = create_db_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(False))
    migrate(engine)
    engine.dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "optout.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    tpl: str = request.getfixturevalue("pg_template")
    name = f"optout_t_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema) on the backend of the ``backend`` param."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"optout_e_{uuid.uuid4().hex[:10]}"
    try:
        _pg_admin(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Sink:
    """Records every message it accepts."""

    port: int = 0
    messages: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    """A real aiosmtpd server on a free loopback port, recording what it accepts."""
    sink = Sink(port=_free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def settings() -> Settings:
    return load_settings(EXAMPLE)


@pytest.fixture
def clock() -> FixedClock:
    # a Monday, 15:00 UTC = 10:00 in New York
    return FixedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(create_db_engine(db_url))
    yield s
    s.dispose()


@pytest.fixture
def service(store: Store, settings: Settings, clock: FixedClock) -> OptoutService:
    return OptoutService(store, policy_from(settings), clock)


@pytest.fixture
def config_file(tmp_path: Path, db_url: str) -> Path:
    """The example config pointed at this test's database."""
    text = EXAMPLE.read_text().replace('url = "sqlite:///var/optout.db"', f'url = "{db_url}"')
    text = text.replace('path = "var/inbox"', f'path = "{tmp_path / "inbox"}"')
    path = tmp_path / "optout.toml"
    path.write_text(text)
    return path
