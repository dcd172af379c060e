"""Per-source bookmarks (``source_state``): a log offset, a mailbox's last UID.

Generic on purpose — name, key, text value — so every intake source can keep its place
across restarts without a migration of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from worker.core.clock import Clock
from worker.store.models import SourceState
from worker.store.repo import Store, Tx


class SourceStateStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get_all(self, name: str) -> dict[str, str]:
        with self.store.transaction() as tx:
            return get_all(tx, name)

    def put(self, name: str, values: dict[str, str], now: datetime) -> None:
        with self.store.transaction() as tx:
            put(tx, name, values, now)


def get_all(tx: Tx, name: str) -> dict[str, str]:
    q = select(SourceState.key, SourceState.value).where(SourceState.name == name)
    return {str(k): str(v) for k, v in tx.session.execute(q)}


def put(tx: Tx, name: str, values: dict[str, str], now: datetime) -> None:
    """Upsert; inside the caller's transaction, so a bookmark moves with the work it marks."""
    if not values:
        return
    table = SourceState.__table__
    rows = [{"name": name, "key": k, "value": v, "updated_at": now} for k, v in values.items()]
    stmt = tx._insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.name, table.c.key],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )
    tx.session.connection().execute(stmt, rows)


class DbCheckpoint:
    """:class:`worker.sources.base.Checkpoint` backed by ``source_state``."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.states = SourceStateStore(store)
        self.clock = clock

    def get(self, source: str, key: str) -> str | None:
        return self.states.get_all(source).get(key)

    def set(self, source: str, key: str, value: str) -> None:
        self.states.put(source, {key: value}, self.clock.now())
