"""Multi-row INSERTs straight on the session's DBAPI connection: the hot write paths.

Recording a request (one-click group commit, ``optout import``, inbox intake) inserts a
few rows into a handful of tables. Through SQLAlchemy Core an executemany costs about
10 µs of CPU per row in statement caching, ``construct_params`` and per-value type
processing; the rows themselves are plain. Here each INSERT's SQL is built once per
table, column set, dialect and row count, the values are converted by small functions
that write exactly what the column types write (see :func:`_converter`), and the
statement runs on a cursor of the connection the session already holds, so it is part
of the same transaction (on PostgreSQL a psycopg ``RawCursor`` with ``$n`` placeholders:
psycopg re-parses any query of more than 50 parameters on every call otherwise). A DBAPI
error is raised as SQLAlchemy's wrapped exception (an ``OperationalError`` still becomes
``DatabaseUnavailable`` in ``Store.transaction``).

Set :data:`ENABLED` to False to take the Core path again (the equality test does, to
prove both write the same rows byte for byte).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from worker.store.models import UTCDateTime

#: False: every caller takes the SQLAlchemy Core path it had before this module
ENABLED = True

#: rows per statement at most (SQLAlchemy's insertmanyvalues page size is the same)
MAX_ROWS = 1000
#: bound parameters per statement: SQLite ≥ 3.32 allows 32766, PostgreSQL 65535
_MAX_PARAMS = {
    "sqlite": 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999,
    "postgresql": 65535,
}

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Insert:
    """One INSERT shape: a table, the columns given (in row order), and its options."""

    table: Table
    columns: tuple[str, ...]
    on_conflict_do_nothing: bool = False
    returning: tuple[str, ...] = ()


def execute(session: Session, spec: Insert, rows: Sequence[Sequence[Any]]) -> list[Any]:
    """Insert ``rows`` (tuples in ``spec.columns`` order) in as few statements as the
    parameter limit allows; the RETURNING rows (in no particular order), if any."""
    if not rows:
        return []
    out: list[Any] = []
    with _cursor(session) as (cur, name, last):
        convs = _converters(spec, name)
        per_stmt = max(1, min(MAX_ROWS, _MAX_PARAMS.get(name, 999) // len(spec.columns)))
        start = 0
        for size in _chunk_sizes(len(rows), per_stmt):
            chunk = rows[start : start + size]
            start += size
            last[0] = sql = _sql(spec, name, size)
            last[1] = params = _flatten(chunk, convs)
            cur.execute(sql, params)
            if spec.returning:
                out.extend(cur.fetchall())
    return out


def query(session: Session, sql: dict[str, str], params: Sequence[Any]) -> list[Any]:
    """The rows of one query (its text by dialect name, ``$n`` placeholders on
    PostgreSQL, ``?`` on SQLite) on the session's connection, in its transaction."""
    with _cursor(session) as (cur, name, last):
        last[0], last[1] = sql[name], list(params)
        cur.execute(sql[name], params)
        rows: list[Any] = cur.fetchall()
    return rows


@contextmanager
def _cursor(session: Session) -> Iterator[tuple[Any, str, list[Any]]]:
    """A cursor on the connection the session holds, its dialect's name, and a list the
    caller keeps the statement and parameters being run in, for the error raised."""
    conn = session.connection()
    dialect = conn.dialect
    raw = conn.connection.driver_connection
    assert raw is not None
    # PostgreSQL: a RawCursor takes $n placeholders and skips psycopg's parsing of the
    # query text, which is cached only for queries of at most 50 parameters and costs
    # milliseconds for a VALUES list of 50 rows
    if dialect.name == "postgresql":
        import psycopg  # here, not at the top: a SQLite deployment never loads it

        cur: Any = psycopg.RawCursor(raw)
    else:
        cur = raw.cursor()
    last: list[Any] = ["", []]
    try:
        yield cur, dialect.name, last
    except dialect.loaded_dbapi.Error as exc:
        invalidated = dialect.is_disconnect(exc, raw, cur)
        if invalidated:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            last[0],
            last[1],
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=dialect,
        ) from exc
    finally:
        cur.close()


#: statement sizes (rows) besides the parameter limit: every batch is cut into these, so
#: a table sees a handful of distinct INSERT texts, not one per row count. Each distinct
#: text is a prepared statement in the driver's cache (sqlite3 keeps 128 per connection,
#: psycopg prepares repeated ones on the server), and one for every count between 1 and
#: 1,000 made the daemon's memory grow with the backlog (+29 MB from 2,000 to 10,000
#: messages in the intake benchmark)
_LADDER = (256, 64, 16, 4, 1)


def _chunk_sizes(n: int, per_stmt: int) -> list[int]:
    """``n`` rows as full statements of ``per_stmt`` rows, the rest greedily from the
    ladder: at most three statements of each smaller size."""
    sizes = [per_stmt] * (n // per_stmt)
    rest = n % per_stmt
    for step in _LADDER:
        if step < per_stmt:
            sizes.extend([step] * (rest // step))
            rest %= step
    return sizes


def _flatten(rows: Sequence[Sequence[Any]], convs: tuple[tuple[int, Converter], ...]) -> list[Any]:
    if not convs:
        return [v for row in rows for v in row]
    out: list[Any] = []
    extend = out.extend
    # a batch repeats the same datetime objects (its "now", shared deadlines): each is
    # converted once. Keyed by id(): every value stays alive in ``rows`` meanwhile.
    done: dict[int, Any] = {}
    for row in rows:
        values = list(row)
        for i, conv in convs:
            v = values[i]
            if conv is _utc_text or conv is _utc_aware:
                key = id(v)
                if key in done:
                    values[i] = done[key]
                else:
                    values[i] = done[key] = conv(v)
            else:
                values[i] = conv(v)
        extend(values)
    return out


@lru_cache(maxsize=64)  # a 1000-row SQL text is ~100 kB: keep few
def _sql(spec: Insert, dialect: str, nrows: int) -> str:
    n = len(spec.columns)
    if dialect == "sqlite":
        one = "(" + ", ".join(["?"] * n) + ")"
        values = ", ".join([one] * nrows)
    else:  # numbered: psycopg's RawCursor sends the text as it is (see execute)
        values = ", ".join(
            "(" + ", ".join(f"${r * n + c + 1}" for c in range(n)) + ")" for r in range(nrows)
        )
    sql = (
        f"INSERT INTO {_quote(spec.table.name)} ({', '.join(map(_quote, spec.columns))}) "
        f"VALUES {values}"
    )
    if spec.on_conflict_do_nothing:
        sql += " ON CONFLICT DO NOTHING"
    if spec.returning:
        sql += f" RETURNING {', '.join(map(_quote, spec.returning))}"
    return sql


def _quote(name: str) -> str:
    # every name of the schema is a lower-case identifier; quoting keeps keywords safe
    assert name.replace("_", "").isalnum(), name
    assert name.islower(), name
    return f'"{name}"'


@lru_cache(maxsize=64)
def _converters(spec: Insert, dialect: str) -> tuple[tuple[int, Converter], ...]:
    out = []
    for i, column in enumerate(spec.columns):
        conv = _converter(spec.table.c[column].type, dialect)
        if conv is not None:
            out.append((i, conv))
    return tuple(out)


def _converter(type_: Any, dialect: str) -> Converter | None:
    """What the column type's bind processing does, for the types the schema uses.

    ``UTCDateTime`` → SQLite: naive UTC in SQLAlchemy's SQLite DATETIME text format
    (``2026-11-23 15:00:00.000000``, microseconds always written); PostgreSQL: the aware
    UTC datetime, as psycopg gets it from SQLAlchemy. ``JSON`` → ``json.dumps`` text on
    SQLite (the same text: see ``_JSON_TEXT``), psycopg's ``Json`` wrapper on PostgreSQL
    (SQLAlchemy's psycopg dialect binds the same; no custom serializer is configured).
    Strings, numbers and bytes pass as is, as they do through Core.
    """
    if isinstance(type_, UTCDateTime):
        return _utc_text if dialect == "sqlite" else _utc_aware
    if isinstance(type_, JSON):
        if dialect == "sqlite":
            return _JSON_TEXT
        from psycopg.types.json import Json

        # the same text as on SQLite, from the one-call encoder below: psycopg's default
        # json.dumps builds a new encoder for every cell (0.27 s of a 10,000-message
        # intake commit on PostgreSQL, 0.14 s with this)
        return partial(Json, dumps=_JSON_TEXT)
    return None


def _json_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its defaults, as one call into the C encoder.

    Two things of ``JSONEncoder.encode`` are left out, for one encoder call per JSON
    cell (55,000 for a 10,000-message intake backlog): the check for circular
    references, which keeps a table of every container it enters (the values bound here
    are fresh dicts of strings and numbers, built for the row, which cannot refer to
    themselves), and the building of a new C encoder on every call, which took as long
    as the encoding of a small cell. The text is ``json.dumps``'s to the byte
    (test_bulk_equality.py compares them); a Python without the C encoder gets
    ``encode`` itself.
    """
    base = json.JSONEncoder(check_circular=False)
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has _json
        return base.encode
    as_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii
    encode_c = make(
        None, base.default, as_ascii, None, base.key_separator, base.item_separator,
        False, False, True,
    )  # fmt: skip

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return as_ascii(value)
        return "".join(encode_c(value, 0))

    return encode


_JSON_TEXT = _json_encoder()


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # an aware UTC isoformat is 'YYYY-MM-DD HH:MM:SS.ffffff+00:00': drop the offset
    return value.isoformat(" ", "microseconds")[:26]


def _utc_aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value if value.tzinfo is UTC else value.astimezone(UTC)
