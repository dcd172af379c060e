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
                    )
                }
                assert got == {
                    "journal_mode": "wal",
                    "synchronous": 1,  # NORMAL
                    "foreign_keys": 1,
                    "busy_timeout": 30000,
                    "cache_size": -16384,  # KiB: 16 MB
                    "wal_autocheckpoint": 10000,
                    "journal_size_limit": 67108864,
                }
    finally:
        engine.dispose()
