"""Leases: one instance at a time polls a given mailbox.

Several `optout run` instances may share one PostgreSQL database. Processing is safe
anyway (idempotent by key), but two instances fetching the same mailbox would fetch and
move every message twice; a session-level advisory lock held for the duration of a
poll makes the second one skip its turn instead. The lock lives on its own connection,
so it vanishes with the instance if the instance dies — no stale lease to clean up.
SQLite is one host's embedded database: there the lease is always granted.
"""

from __future__ import annotations

import hashlib
from types import TracebackType

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from worker.errors import DatabaseUnavailable


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` from a lease name."""
    digest = hashlib.sha256(f"optout-lease:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._conn: Connection | None = None
        self.held = False

    def acquire(self) -> bool:
        """Try to take the lease; False when another instance holds it."""
        if self.engine.dialect.name != "postgresql":
            self.held = True
            return True
        try:
            conn = self.engine.connect()
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
                       .scalar())  # fmt: skip
            conn.commit()
        except DBAPIError as exc:
            raise DatabaseUnavailable(str(exc.orig).splitlines()[0]) from exc
        if got:
            self._conn = conn
        else:
            conn.close()
        self.held = got
        return got

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            except DBAPIError:
                pass  # the connection is gone, and the lock with it
            finally:
                self._conn.close()
                self._conn = None
        self.held = False

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
