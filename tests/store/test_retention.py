"""Deletion keeps the opt-out (hash tombstone); retention drops old bodies, keeps evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.intake import messages as m
from worker.core.clock import FixedClock
from worker.core.model import AuditKind, Channel
from worker.intake import IntakePolicy, IntakeService
from worker.retention import Retention
from worker.service import OptoutService
from worker.store.stats import queue_state


def test_forget_keeps_the_suppression_under_its_hash(service: OptoutService) -> None:
    service.record(service.prepare("Gone@Example.com", channel=Channel.PHONE, note="called"))
    counts = Retention(service, 30).forget("gone@example.com", actor="dpo", reason="erasure")
    assert counts["suppressions"] == 1
    assert not service.check("gone@example.com", "newsletter").allowed
    (sup,) = service.history("gone@example.com")
    assert sup.address is None
    (req,) = service.requests()
    assert req.address is None
    assert req.note is None
    assert list(service.export()) != []  # still exported (hashed exports show it)
    assert [e.kind for e in service.audit_log()][-1] is AuditKind.FORGOTTEN


def test_forget_needs_actor_and_reason(service: OptoutService) -> None:
    with pytest.raises(Exception, match="--actor"):
        Retention(service, 30).forget("a@example.com", actor="", reason="x")


def test_purge_drops_old_bodies_but_keeps_items(service: OptoutService) -> None:
    clock = service.clock
    assert isinstance(clock, FixedClock)
    intake = IntakeService(service, None, IntakePolicy())
    old = intake.process("inbox", "1", m.UNSUBSCRIBE, clock.now() - timedelta(days=40))
    review = intake.process("inbox", "2", m.QUESTION_WITH_FOOTER, clock.now() - timedelta(days=40))
    fresh = intake.process("inbox", "3", m.OUT_OF_OFFICE, datetime(2026, 11, 22, tzinfo=UTC))
    assert Retention(service, 30).purge_raw() == 1
    assert intake.item(old.item_id)[1] is None
    assert intake.item(old.item_id)[0].message_class == "unsubscribe"
    assert intake.item(review.item_id)[1] is not None  # still waiting for a person
    assert intake.item(fresh.item_id)[1] is not None


def test_queue_state_counts(service: OptoutService) -> None:
    intake = IntakeService(service, None, IntakePolicy())
    intake.process("inbox", "2", m.QUESTION_WITH_FOOTER, service.clock.now())
    state = queue_state(service.store, service.clock.now())
    assert state.review_backlog == 1
    assert state.open_requests == 1
    assert state.overdue_requests == 0
