"""One instance at a time polls a mailbox (PostgreSQL advisory lock; SQLite: one host)."""

from __future__ import annotations

from worker.store.lease import Lease, lock_key
from worker.store.repo import Store


def test_a_second_instance_cannot_take_a_held_lease(store: Store) -> None:
    first = Lease(store.engine, "source:imap")
    second = Lease(store.engine, "source:imap")
    other = Lease(store.engine, "source:other")
    assert first.acquire()
    if store.dialect == "postgresql":
        assert not second.acquire()
    else:
        assert second.acquire()  # embedded SQLite: one host, always granted
        second.release()
    assert other.acquire()
    first.release()
    assert second.acquire()
    second.release()
    other.release()


def test_lease_keys_are_stable_and_distinct() -> None:
    assert lock_key("a") == lock_key("a")
    assert lock_key("a") != lock_key("b")
    assert -(2**63) <= lock_key("a") < 2**63
