"""Every SQLite connection the engine opens carries the settings the store relies on.

SQLite only: these are SQLite connection settings (PostgreSQL has its own server ones).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from worker.store.db import create_db_engine


def test_each_connection_gets_wal_cache_and_checkpoint_settings(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with engine.connect() as a, engine.connect() as b:  # two pooled connections
            for conn in (a, b):
                got = {
                    name: conn.execute(text(f"PRAGMA {name}")).scalar()
                    for name in (
                        "journal_mode",
                        "synchronous",
                        "foreign_keys",
                        "busy_timeout",
                        "cache_size",
                        "wal_autocheckpoint",
                        "journal_size_limit",
                        "temp_store",
                    )
                }
                assert got == {
                    "journal_mode": "wal",
                    "synchronous": 1,  # NORMAL
                    "foreign_keys": 1,
                    "busy_timeout": 30000,
                    "cache_size": -16384,  # KiB: 16 MB
                    "wal_autocheckpoint": 40000,  # a backstop: see worker.store.wal
                    "journal_size_limit": 67108864,
                    "temp_store": 2,  # MEMORY: statement journals stay off the disk
                }
    finally:
        engine.dispose()


def _written() -> int:
    """Bytes this process has passed to write calls (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def test_a_statement_journal_is_kept_in_memory_not_written(tmp_path: Path) -> None:
    # One INSERT that changes index pages all over a table, inside a transaction: what
    # is written is the transaction's WAL frames, not also a statement journal's file
    # (with temp_store at its default, the same run wrote about twice the WAL)
    path = tmp_path / "j.db"
    engine = create_db_engine(f"sqlite:///{path}")
    fill = (
        "INSERT INTO t (k, v) SELECT hex(randomblob(16)), zeroblob(100) FROM "
        "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
        "SELECT i FROM n)"
    )
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v BLOB)"))
            conn.execute(text("CREATE INDEX ix_t_k ON t (k)"))
            conn.execute(text(fill), {"rows": 20000})
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.commit()
            before = _written()
            with conn.begin():
                conn.execute(text("UPDATE t SET v = zeroblob(100) WHERE id = 1"))
                conn.execute(text(fill), {"rows": 5000})  # a statement journal's case
            written = _written() - before
        wal = Path(f"{path}-wal").stat().st_size
        assert wal > 1_000_000
        assert written < wal * 1.2, (written, wal)
    finally:
        engine.dispose()
