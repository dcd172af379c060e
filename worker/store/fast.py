"""Raw-driver queries for the two hot read paths of the check API.

A marketing system asks "may I send?" once per message, and a bulk sync asks it for
100,000 addresses at a time. Through the ORM a single lookup costs about three times
what the raw driver costs (see ``NOTES.md``), and the answer is a handful of columns, so
these two queries bypass SQLAlchemy and talk to sqlite3 / psycopg directly, on one
connection per thread held open for the life of the process. They only read, in
autocommit mode, so they never hold a lock a writer waits for.

The SQL is the fastest form measured for each backend: ``json_each`` turns one bound
parameter into a set on SQLite; ``= ANY(%s::text[])`` does the same on PostgreSQL. Both
hit the partial unique index on ``(address_hash, scope) WHERE lifted_at IS NULL``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from worker.core.model import ActiveSuppression, Reason
from worker.errors import DatabaseUnavailable

_ACTIVE = (
    "SELECT scope, since, reason, request_id FROM suppressions "
    "WHERE address_hash = {p} AND lifted_at IS NULL"
)
# One row (a JSON array) rather than a row per hit: the whole query then runs in one
# sqlite3_step without the GIL, so a bulk check can hash its next chunk meanwhile.
_BLOCKED_SQLITE = (
    "SELECT json_group_array(address_hash) FROM suppressions "
    "WHERE address_hash IN (SELECT value FROM json_each(?)) "
    "AND scope IN (SELECT value FROM json_each(?)) AND lifted_at IS NULL"
)
_BLOCKED_PG = (
    "SELECT DISTINCT address_hash FROM suppressions "
    "WHERE address_hash = ANY(%s::text[]) AND scope = ANY(%s::text[]) AND lifted_at IS NULL"
)

#: threads for the queries of concurrent bulk checks (one query in flight per call)
_WORKERS = 4


class FastReads:
    """Per-thread raw connections to the store's database; :meth:`close` closes them all."""

    def __init__(self, engine: Engine) -> None:
        url = engine.url
        self.dialect = engine.dialect.name
        # the driver's error classes; psycopg is imported only for PostgreSQL (start-up)
        self._errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        self._down: tuple[type[Exception], ...] = (sqlite3.OperationalError,)
        if self.dialect == "sqlite":
            self._target = url.database or ":memory:"
        else:
            import psycopg

            self._target = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._errors += (psycopg.Error,)
            self._down += (psycopg.OperationalError,)
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._connect()
            except self._errors as exc:
                raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            conn = sqlite3.connect(
                self._target, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        return psycopg.connect(self._target, autocommit=True, connect_timeout=10)

    def _run(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        conn = self._conn()
        try:
            rows: list[tuple[Any, ...]] = conn.execute(sql, params).fetchall()
        except self._down as exc:
            self._drop(conn)  # a broken connection is replaced on the next call
            raise DatabaseUnavailable(str(exc).splitlines()[0]) from exc
        return rows

    def active_suppressions(self, address_hash: str) -> list[ActiveSuppression]:
        """The active suppressions of one address, as ``Tx.active_suppressions`` gives."""
        p = "?" if self.dialect == "sqlite" else "%s"
        rows = self._run(_ACTIVE.format(p=p), (address_hash,))
        return [
            ActiveSuppression(scope, _aware(since), Reason(reason), request_id)
            for scope, since, reason, request_id in rows
        ]

    def blocked_hashes(self, hashes: Sequence[str], scopes: Sequence[str]) -> set[str]:
        """Which of ``hashes`` have an active suppression in one of ``scopes``."""
        if not hashes:
            return set()
        if self.dialect == "sqlite":
            rows = self._run(_BLOCKED_SQLITE, (json.dumps(list(hashes)), json.dumps(list(scopes))))
            found: list[str] = json.loads(rows[0][0])
            return set(found)
        rows = self._run(_BLOCKED_PG, (list(hashes), list(scopes)))
        return {r[0] for r in rows}

    def blocked_among(self, chunks: Iterable[Sequence[str]], scopes: Sequence[str]) -> set[str]:
        """:meth:`blocked_hashes` over every chunk of hashes ``chunks`` yields.

        Each chunk's query runs in a worker thread while the caller's iterator computes
        the next chunk (the bulk check hashes addresses meanwhile); one query at a time
        per call, so a call never takes more than one connection.
        """
        hits: set[str] = set()
        pending: Future[set[str]] | None = None
        try:
            for chunk in chunks:  # making this chunk overlaps the previous chunk's query
                if pending is not None:
                    hits |= pending.result()
                    pending = None
                if chunk:
                    pending = self._executor().submit(self.blocked_hashes, chunk, scopes)
            if pending is not None:
                hits |= pending.result()
                pending = None
        finally:
            if pending is not None:  # the iterator failed: let the query finish first
                with contextlib.suppress(Exception):
                    pending.result()
        return hits

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="fast-reads")
            return self._pool

    def _drop(self, conn: Any) -> None:
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with contextlib.suppress(Exception):  # a dead connection may fail to close too
            conn.close()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # a query in flight finishes before its connection closes
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(Exception):  # best effort at shutdown
                conn.close()
        self._local = threading.local()


def _aware(value: Any) -> datetime:
    """SQLite returns the stored text (naive UTC); PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
