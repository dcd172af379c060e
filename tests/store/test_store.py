"""Store and service rules, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker.core.addresses import hash_of
from worker.core.clock import FixedClock
from worker.core.imports import ImportRow
from worker.core.model import AuditKind, Channel, Reason, RequestStatus
from worker.errors import InvalidAddress, InvalidScope, InvalidTime, NotFound, UnknownCategory
from worker.importer import import_rows
from worker.service import OptoutService

NY = ZoneInfo("America/New_York")


def phone(service: OptoutService, address: str, **kw: object) -> object:
    return service.record(service.prepare(address, channel=Channel.PHONE, **kw))  # type: ignore[arg-type]


def test_opt_out_is_recorded_applied_and_audited(service: OptoutService) -> None:
    out = service.record(
        service.prepare("A@Example.com", channel=Channel.PHONE, actor="desk", note="called")
    )
    assert out.created
    assert out.suppression_created
    r = out.request
    assert r.status is RequestStatus.APPLIED
    assert r.address == "a@example.com"
    assert r.applied_at == service.clock.now()
    assert not service.check("a@example.com", "newsletter").allowed
    assert not service.check("A@EXAMPLE.COM", "offers").allowed
    assert service.check("a@example.com", "account").allowed
    kinds = [e.kind for e in service.audit_log(address="a@example.com")]
    assert kinds == [AuditKind.RECEIVED, AuditKind.APPLIED]
    event = service.audit_log(address="a@example.com")[0]
    assert event.address_masked == "a***@example.com"
    assert event.actor == "desk"


def test_same_evidence_key_twice_has_one_effect(service: OptoutService) -> None:
    req = service.prepare("a@example.com", channel=Channel.PHONE, evidence_key="phone:T-1")
    first = service.record(req)
    second = service.record(req)
    assert first.created
    assert not second.created
    assert second.request.id == first.request.id
    assert len(service.requests()) == 1
    assert len(service.history("a@example.com")) == 1
    assert [e.kind for e in service.audit_log()][-1] is AuditKind.DUPLICATE


def test_concurrent_duplicates_still_have_one_effect(service: OptoutService) -> None:
    req = service.prepare("a@example.com", channel=Channel.PHONE, evidence_key="phone:T-2")
    results: list[bool] = []

    def go() -> None:
        results.append(service.record(req).created)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert len(service.requests()) == 1


def test_second_opt_out_without_key_is_a_request_but_not_a_second_suppression(
    service: OptoutService,
) -> None:
    phone(service, "a@example.com")
    out = service.record(service.prepare("a@example.com", channel=Channel.MANUAL))
    assert out.created
    assert not out.suppression_created
    assert len(service.history("a@example.com")) == 1
    assert len(service.requests()) == 2


def test_deadline_comes_from_received_time(service: OptoutService) -> None:
    received = datetime(2026, 11, 25, 10, 0, tzinfo=NY)
    clock = service.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    out = service.record(
        service.prepare("x@example.com", channel=Channel.PHONE, received_at=received)
    )
    assert out.request.received_at == received
    assert out.request.deadline.astimezone(NY).date().isoformat() == "2026-12-10"


def test_bad_input_changes_nothing(service: OptoutService) -> None:
    with pytest.raises(InvalidAddress):
        service.prepare("not-an-address", channel=Channel.PHONE)
    with pytest.raises(InvalidScope):
        service.prepare("a@example.com", scope="account", channel=Channel.PHONE)
    with pytest.raises(UnknownCategory):
        service.check("a@example.com", "nosuch")
    with pytest.raises(InvalidTime, match="timezone"):
        service.prepare("a@example.com", channel=Channel.PHONE, received_at=datetime(2026, 1, 1))
    assert service.requests() == []
    assert service.audit_log() == []


def test_lift_all_keeps_history_and_needs_actor_and_reason(service: OptoutService) -> None:
    phone(service, "a@example.com")
    with pytest.raises(Exception, match="--actor"):
        service.lift("a@example.com", "all", actor="", reason="asked")
    lifted = service.lift("a@example.com", "all", actor="desk", reason="asked to rejoin")
    assert [s.scope for s in lifted] == ["all"]
    assert service.check("a@example.com", "newsletter").allowed
    hist = service.history("a@example.com")
    assert len(hist) == 1
    assert hist[0].lifted_by == "desk"
    assert hist[0].lift_reason == "asked to rejoin"
    kinds = [e.kind for e in service.audit_log(address="a@example.com")]
    assert kinds[-1] is AuditKind.LIFTED
    with pytest.raises(NotFound):
        service.lift("a@example.com", "all", actor="desk", reason="again")


def test_lifting_one_category_out_of_all_keeps_the_others(service: OptoutService) -> None:
    phone(service, "a@example.com")
    service.lift("a@example.com", "newsletter", actor="desk", reason="wants the newsletter")
    assert service.check("a@example.com", "newsletter").allowed
    offers = service.check("a@example.com", "offers")
    assert not offers.allowed
    assert offers.scope == "offers"


def test_opt_out_after_lift_suppresses_again(service: OptoutService) -> None:
    phone(service, "a@example.com")
    service.lift("a@example.com", "all", actor="desk", reason="rejoined")
    out = phone(service, "a@example.com")
    assert out.suppression_created  # type: ignore[attr-defined]
    assert not service.check("a@example.com", "offers").allowed
    assert len(service.history("a@example.com")) == 2


def test_bulk_check_returns_the_suppressed_subset(service: OptoutService) -> None:
    phone(service, "a@example.com")
    phone(service, "b@example.com", scope="offers")
    got = service.suppressed_among(
        ["A@example.com", "b@example.com", "c@example.com"], "newsletter"
    )
    assert got == ["A@example.com"]
    got = service.suppressed_among(["a@example.com", "b@example.com"], "offers")
    assert sorted(got) == ["a@example.com", "b@example.com"]
    assert service.suppressed_among(["a@example.com"], "account") == []


def test_effects_with_every_scope_stop_transactional(service: OptoutService) -> None:
    req = service.prepare(
        "gone@example.com", scope="every", channel=Channel.BOUNCE, reason=Reason.HARD_BOUNCE
    )
    service.record(req)
    d = service.check("gone@example.com", "account")
    assert not d.allowed
    assert d.reason is Reason.HARD_BOUNCE


def test_export_full_and_incremental(service: OptoutService) -> None:
    clock = service.clock
    assert isinstance(clock, FixedClock)
    phone(service, "a@example.com")
    clock.advance(timedelta(hours=1))
    mark = clock.now()
    phone(service, "b@example.com", scope="offers")
    clock.advance(timedelta(hours=1))
    service.lift("a@example.com", "all", actor="desk", reason="rejoined")
    full = list(service.export())
    assert [s.address for s in full] == ["b@example.com"]
    inc = list(service.export(since=mark))
    assert {(s.address, s.lifted_at is not None) for s in inc} == {
        ("b@example.com", False),
        ("a@example.com", True),
    }
    assert [s.address for s in service.export(category="newsletter")] == []
    assert [s.address for s in service.export(category="offers")] == ["b@example.com"]


def test_import_is_batched_idempotent_and_audited(service: OptoutService) -> None:
    rows = [ImportRow(i + 2, f"user{i}@example.com", "all", None, None) for i in range(250)]
    rows.append(ImportRow(300, "user0@example.com", "offers", None, "also offers"))
    results = list(import_rows(service, rows, source="list.csv", actor="ops", batch=100))
    assert sum(r.imported for r in results) == 251
    assert sum(r.suppressions_created for r in results) == 251
    again = list(import_rows(service, rows, source="list.csv", actor="ops", batch=100))
    assert sum(r.imported for r in again) == 0
    assert sum(r.duplicates for r in again) == 251
    assert not service.check("user249@example.com", "newsletter").allowed
    log = service.audit_log(address="user0@example.com")
    assert [e.kind for e in log] == [AuditKind.IMPORTED, AuditKind.IMPORTED]
    assert log[0].detail["line"] == 2


def test_requests_filters_and_report(service: OptoutService) -> None:
    clock = service.clock
    assert isinstance(clock, FixedClock)
    phone(service, "a@example.com", received_at=clock.now() - timedelta(seconds=30))
    phone(service, "b@example.com", received_at=clock.now() - timedelta(seconds=90))
    req = service.prepare(
        "c@example.com", channel=Channel.EMAIL, received_at=clock.now() - timedelta(days=13)
    )
    waiting = service.record(type(req)(**{**req.__dict__, "needs_review": True}))
    assert waiting.request.status is RequestStatus.NEEDS_REVIEW
    assert service.check("c@example.com", "newsletter").allowed
    assert [r.address for r in service.requests("needs-review")] == ["c@example.com"]
    assert [r.address for r in service.requests("overdue")] == []
    rep = service.report()
    assert rep.requests_by_status == {"applied": 2, "needs-review": 1}
    assert rep.time_to_suppression["p50_seconds"] == 30.0
    assert rep.time_to_suppression["max_seconds"] == 90.0
    assert [r.address for r in rep.near_deadline] == ["c@example.com"]
    clock.advance(timedelta(days=5))
    assert [r.address for r in service.requests("overdue")] == ["c@example.com"]
    assert [r.address for r in service.report().overdue] == ["c@example.com"]
    done = service.apply_pending(waiting.request.id, actor="ops", reason="verified")
    assert done.status is RequestStatus.APPLIED
    assert not service.check("c@example.com", "newsletter").allowed
    assert service.report().overdue == []


def test_audit_log_never_holds_a_full_address(service: OptoutService) -> None:
    phone(service, "secret.person@example.com", note="n")
    service.lift("secret.person@example.com", "all", actor="desk", reason="r")
    for e in service.audit_log():
        assert "secret.person@" not in repr(e)
        assert e.address_hash == hash_of("secret.person@example.com")


def test_a_future_received_time_is_kept_but_flagged(service: OptoutService) -> None:
    future = service.clock.now() + timedelta(days=2)
    out = service.record(
        service.prepare("a@example.com", channel=Channel.PHONE, received_at=future)
    )
    assert out.request.received_at == future
    assert out.request.evidence["received_at_in_future"] is True
    assert not service.check("a@example.com", "newsletter").allowed
