"""Engines and migrations for the two supported backends."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from worker.errors import DatabaseUnavailable, SchemaOutOfDate

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; SQLAlchemy would otherwise pick psycopg2."""
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


#: WAL pages past which a writing connection checkpoints itself (see _sqlite_pragmas)
WRITER_CHECKPOINT_PAGES = 40_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the HTTP server read while the scheduler writes; NORMAL is durable
    # across application crashes, which is the failure WAL mode guards here.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Every request, suppression and audit row also goes into indexes keyed by address
    # hashes, message ids and evidence keys: random keys, so each commit dirties
    # index pages all over the file. With SQLite's 2 MB default cache those pages were
    # read back again and again, and a checkpoint every 1,000 WAL pages copied the same
    # hot pages into the database many times over: committing a 10,000-reply backlog
    # made 285,000 pwrite and 83,000 pread calls. A 16 MB cache (filled only as pages are
    # used): 201,000 and 20,000, and the poll's main process 5-15 % faster (bench_intake,
    # three runs each way). Checkpoints are the store's checkpointer thread's
    # (worker.store.wal), every half second while commits come in; a writer checkpoints
    # itself only past 40,000 pages (160 MB) of WAL, a backstop for a checkpointer that
    # cannot keep up. The WAL file is cut back to 64 MB when it starts over.
    cur.execute("PRAGMA cache_size=-16384")
    cur.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
    cur.execute("PRAGMA journal_size_limit=67108864")
    # A statement that may fail halfway inside a transaction (a multi-row INSERT, with
    # its NOT NULL and foreign-key checks) keeps the prior content of every page it
    # changes in a statement journal, to undo just itself; past 64 KB SQLite spills
    # that journal to a temporary file. An intake batch changes index pages all over
    # the file, so committing a 10,000-reply backlog wrote 138 MB to such files in
    # 66,000 write calls (wchar 314 MB in all, 176 MB with this). In memory, the
    # journal of one statement is at most the pages it changes, a few MB for the
    # largest batch, and freed when it ends; no query here sorts a large set without
    # an index (the other use of temporary storage). Commit CPU 1.19 -> 1.05 s.
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


#: the newest migration in ``migrations/versions``. Every command checks the database
#: against it when it opens one; written here, the check needs no Alembic import (a
#: tenth of a short ``optout poll``'s start-up). tests/store/test_migrations.py fails
#: when a migration is added and this is not moved on with it.
SCHEMA_HEAD = "0007"


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The revision(s) the migration scripts end at, as one comparable string."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return ",".join(sorted(script.get_heads()))


def current_revision(engine: Engine) -> str | None:
    """What Alembic's version table records, read with one query (None: never migrated)."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return ",".join(sorted(heads)) or None
    except OperationalError as exc:
        raise DatabaseUnavailable(_short(exc)) from exc


def migrate(engine: Engine, revision: str = "heads") -> None:
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        raise DatabaseUnavailable(_short(exc)) from exc


def ensure_schema(engine: Engine, *, auto_migrate: bool) -> None:
    """Embedded SQLite migrates itself; a shared PostgreSQL is migrated on purpose, by
    `optout migrate`, so that several instances never race a schema change."""
    if current_revision(engine) == SCHEMA_HEAD:
        return
    if auto_migrate:
        migrate(engine)
        return
    raise SchemaOutOfDate(f"database is at {current_revision(engine)}, code needs {SCHEMA_HEAD}")


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
