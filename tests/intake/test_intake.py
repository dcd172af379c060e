"""Intake: each inbound message ends in the right place, exactly once (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.intake import messages as m
from worker.core.clock import FixedClock
from worker.core.model import NewRequest, RequestStatus
from worker.core.plan import Disposition, Effects
from worker.core.tokens import KeyRing
from worker.errors import DatabaseUnavailable, InvalidState
from worker.intake import IntakePolicy, IntakeService, Received
from worker.service import OptoutService
from worker.store import inbound

RECEIVED = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
KEYS = KeyRing.parse("k1:an-adequately-long-test-secret")


@pytest.fixture
def intake(service: OptoutService) -> IntakeService:
    return IntakeService(service, KEYS, IntakePolicy())


def test_unsubscribe_reply_becomes_a_suppression_once(intake: IntakeService) -> None:
    svc = intake.service
    first = intake.process("inbox", "1:1", m.UNSUBSCRIBE, RECEIVED)
    assert first.disposition is Disposition.PROCESSED
    assert first.message_class == "unsubscribe"
    assert first.new
    assert not svc.check("jane@example.org", "newsletter").allowed
    assert svc.check("jane@example.org", "account").allowed
    (req,) = svc.requests()
    assert req.received_at == RECEIVED
    assert req.deadline == svc.policy.calendar.deadline(RECEIVED)
    assert req.status is RequestStatus.APPLIED
    again = intake.process("inbox", "1:1", m.UNSUBSCRIBE, RECEIVED)
    assert not again.new
    assert again.item_id == first.item_id
    assert again.disposition is Disposition.PROCESSED
    assert len(svc.requests()) == 1
    events = [e.kind.value for e in svc.audit_log()]
    assert events == ["received", "classified", "received", "applied"]


def test_same_message_from_another_mailbox_has_no_second_effect(intake: IntakeService) -> None:
    intake.process("inbox", "1:1", m.UNSUBSCRIBE, RECEIVED)
    other = intake.process("second", "9:9", m.UNSUBSCRIBE, RECEIVED)
    assert other.new
    assert other.request_ids == ()
    assert len(intake.service.requests()) == 1


def test_hard_bounce_suppresses_the_failed_recipient_not_the_sender(
    intake: IntakeService,
) -> None:
    res = intake.process("inbox", "1:2", m.DSN_HARD, RECEIVED)
    assert res.message_class == "bounce"
    assert not res.confirmable
    svc = intake.service
    d = svc.check("gone.user@example.net", "account")
    assert not d.allowed  # hard bounce effect: every category
    assert d.reason is not None
    assert d.reason.value == "hard-bounce"
    assert svc.check("mailer-daemon@mx.example.com", "newsletter").allowed


def test_a_full_mailbox_is_recorded_with_its_cause_and_suppresses_nothing(
    intake: IntakeService,
) -> None:
    """A 5.2.2 is RFC 3464's "failed", but the address exists: a hard bounce's effect
    (every category, transactional included) would stop the person's receipts."""
    assert m.DSN_FULL != m.DSN_HARD
    res = intake.process("inbox", "1:3", m.DSN_FULL, RECEIVED)
    assert (res.message_class, res.disposition, res.request_ids) == (
        "bounce",
        Disposition.PROCESSED,
        (),
    )
    svc = intake.service
    assert svc.check("gone.user@example.net", "account").allowed
    assert svc.check("gone.user@example.net", "newsletter").allowed
    assert svc.requests() == []
    with svc.store.transaction() as tx:
        item = inbound.get_item(tx, res.item_id)
    assert item is not None
    assert item.detail["bounce_kind"] == "soft"
    assert item.detail["bounce_cause"] == "mailbox_full"
    classified = [e for e in svc.audit_log() if e.kind.value == "classified"]
    assert any("mailbox full" in str(e.detail.get("evidence")) for e in classified)


def _full(n: int, cause: bytes = b"552 5.2.2 mailbox full") -> bytes:
    return m.DSN_FULL.replace(b"<dsn-full@", f"<dsn-full-{n}@".encode()).replace(
        b"552 5.2.2 mailbox full", cause
    )


def test_a_soft_bounce_is_in_the_log_under_the_recipients_address(
    intake: IntakeService,
) -> None:
    intake.process("inbox", "2:1", m.DSN_FULL, RECEIVED)
    svc = intake.service
    events = svc.audit_log(address="gone.user@example.net")
    assert [e.kind.value for e in events] == ["bounced"]
    (e,) = events
    assert e.address_masked == "g***@example.net"
    assert e.detail["cause"] == "mailbox_full"
    assert e.detail["received_at"] == RECEIVED.isoformat()


def test_a_soft_bounce_from_two_mailboxes_is_counted_once(intake: IntakeService) -> None:
    intake.process("inbox", "2:1", m.DSN_FULL, RECEIVED)
    twin = intake.process("second", "7:7", m.DSN_FULL, RECEIVED)
    assert twin.new
    events = intake.service.audit_log(address="gone.user@example.net")
    assert [e.kind.value for e in events] == ["bounced"]


def test_a_full_mailbox_never_becomes_a_hard_bounce_by_default(intake: IntakeService) -> None:
    for n in range(8):
        intake.process("inbox", f"3:{n}", _full(n), RECEIVED + timedelta(days=7 * n))
    assert intake.service.check("gone.user@example.net", "account").allowed
    assert intake.service.requests() == []


def test_a_mailbox_full_for_weeks_gets_the_hard_bounce_effect_when_configured(
    service: OptoutService,
) -> None:
    effects = Effects(soft_bounce_limit=3, soft_bounce_days=14)
    intake = IntakeService(service, KEYS, IntakePolicy(effects=effects))
    # our IP on a blocklist twice: about our mail, never counted
    for n, cause in enumerate((b"554 5.7.1 blocked using zen.spamhaus.org",) * 2):
        intake.process("inbox", f"4:b{n}", _full(100 + n, cause), RECEIVED)
    first = intake.process("inbox", "4:0", _full(0), RECEIVED)
    second = intake.process("inbox", "4:1", _full(1), RECEIVED + timedelta(days=6))
    assert first.request_ids == second.request_ids == ()
    assert service.check("gone.user@example.net", "account").allowed
    third = intake.process("inbox", "4:2", _full(2), RECEIVED + timedelta(days=15))
    assert third.disposition is Disposition.PROCESSED
    (rid,) = third.request_ids
    decision = service.check("gone.user@example.net", "account")
    assert not decision.allowed  # the hard-bounce effect: every category
    assert decision.reason is not None
    assert decision.reason.value == "hard-bounce"
    (req,) = service.requests()
    assert req.id == rid
    assert req.evidence["escalated"] == (
        "3 soft bounces of a lasting cause (mailbox_full) since 2026-11-23"
    )


def test_bounces_of_one_batch_count_each_other(service: OptoutService) -> None:
    effects = Effects(soft_bounce_limit=2, soft_bounce_days=1)
    intake = IntakeService(service, KEYS, IntakePolicy(effects=effects))
    batch = [
        Received("inbox", "5:0", _full(0), RECEIVED, len(_full(0))),
        Received("inbox", "5:1", _full(1), RECEIVED + timedelta(days=2), len(_full(1))),
    ]
    first, second = intake.process_many(batch)
    assert first.request_ids == ()
    assert len(second.request_ids) == 1
    assert not service.check("gone.user@example.net", "newsletter").allowed


def test_out_of_office_changes_nothing(intake: IntakeService) -> None:
    res = intake.process("inbox", "1:3", m.OUT_OF_OFFICE, RECEIVED)
    assert res.message_class == "auto_reply"
    assert res.disposition is Disposition.PROCESSED
    assert res.request_ids == ()
    assert intake.service.check("jane@example.org", "newsletter").allowed


def test_footer_quote_with_a_question_waits_for_review(intake: IntakeService) -> None:
    svc = intake.service
    res = intake.process("inbox", "1:4", m.QUESTION_WITH_FOOTER, RECEIVED)
    assert res.disposition is Disposition.REVIEW
    assert svc.check("jane@example.org", "newsletter").allowed
    (held,) = svc.requests("needs-review")
    assert held.deadline == svc.policy.calendar.deadline(RECEIVED)
    (item,) = intake.review_items()
    assert item.id == res.item_id
    intake.review_dismiss(res.item_id, actor="ops", reason="a question, not an opt-out")
    assert svc.requests("needs-review") == []
    assert svc.check("jane@example.org", "newsletter").allowed
    assert intake.review_items() == []
    with pytest.raises(InvalidState):
        intake.review_apply(res.item_id, actor="ops", reason="again")


def test_review_apply_suppresses_with_actor_and_reason(intake: IntakeService) -> None:
    svc = intake.service
    res = intake.process("inbox", "1:5", m.QUESTION_WITH_FOOTER, RECEIVED)
    applied = intake.review_apply(res.item_id, actor="ops", reason="she asked by phone too")
    assert applied == list(res.request_ids)
    assert not svc.check("jane@example.org", "offers").allowed
    kinds = [e.kind.value for e in svc.audit_log()]
    assert kinds.count("reviewed") == 2  # the request and the item


def test_token_for_a_category_limits_the_scope(intake: IntakeService) -> None:
    token = KEYS.mint_mailto("jane@example.org", "newsletter", 1_790_000_000)
    msg = m.reply("unsubscribe", to=f"unsubscribe+{token}@example.com", subject="unsubscribe")
    res = intake.process("inbox", "1:6", msg, RECEIVED)
    assert res.disposition is Disposition.PROCESSED
    svc = intake.service
    assert not svc.check("jane@example.org", "newsletter").allowed
    assert svc.check("jane@example.org", "offers").allowed


def test_token_naming_someone_else_goes_to_review(intake: IntakeService) -> None:
    token = KEYS.mint_mailto("friend@example.net", "all", 1_790_000_000)
    msg = m.reply("unsubscribe", to=f"unsubscribe+{token}@example.com", subject="unsubscribe")
    res = intake.process("inbox", "1:7", msg, RECEIVED)
    assert res.disposition is Disposition.REVIEW
    svc = intake.service
    assert svc.check("friend@example.net", "newsletter").allowed
    assert svc.check("jane@example.org", "newsletter").allowed


def _redacted_complaint(token: str) -> bytes:
    """An abuse report that redacts the complainant everywhere but in our own token."""
    return (
        "From: <fbl@isp.example>\r\nTo: <abuse@example.com>\r\nSubject: Abuse report\r\n"
        "Message-ID: <fbl-1@isp.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="R"\r\n\r\n'
        "--R\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n"
        "--R\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: xxxxxxxx@example.org\r\n\r\n"
        "--R\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: News <news@example.com>\r\nTo: redacted@example.org\r\nSubject: Offers\r\n"
        f"List-Unsubscribe: <mailto:unsubscribe+{token}@example.com>\r\n\r\nSale!\r\n"
        "--R--\r\n"
    ).encode()


def test_redacted_complaint_suppresses_the_person_our_token_names(
    intake: IntakeService,
) -> None:
    # DESIGN rule 5 and the issue: the recipient comes from Original-Rcpt-To, or from
    # our own token in the attached original when the provider redacted it. It went to
    # review "complaint without an address".
    token = KEYS.mint_mailto("jane@example.org", "newsletter", 1_790_000_000)
    res = intake.process("inbox", "1:20", _redacted_complaint(token), RECEIVED)
    assert res.message_class == "complaint"
    assert res.disposition is Disposition.PROCESSED
    assert not res.confirmable  # a complaint is never answered
    svc = intake.service
    # the complaint's effect (all promotional), not the token's one list
    assert not svc.check("jane@example.org", "newsletter").allowed
    assert not svc.check("jane@example.org", "offers").allowed
    assert svc.check("jane@example.org", "account").allowed
    assert svc.check("fbl@isp.example", "newsletter").allowed
    (req,) = svc.requests()
    assert req.evidence is not None
    assert req.evidence["token_id"]


def _complaint_to_our_list(token: str) -> bytes:
    """A report whose original went to our list address (its readers in Bcc)."""
    return (
        _redacted_complaint(token)
        .replace(b"Original-Rcpt-To: xxxxxxxx@example.org\r\n", b"")
        .replace(b"To: redacted@example.org", b"To: Readers <list@example.com>")
    )


def test_a_complaint_naming_our_list_address_suppresses_the_reader_our_token_names(
    service: OptoutService,
) -> None:
    token = KEYS.mint_mailto("jane@example.org", "newsletter", 1_790_000_000)
    ours = frozenset({"list@example.com"})
    intake = IntakeService(service, KEYS, IntakePolicy(ours=ours))
    res = intake.process("inbox", "1:22", _complaint_to_our_list(token), RECEIVED)
    assert (res.message_class, res.disposition) == ("complaint", Disposition.PROCESSED)
    assert not service.check("jane@example.org", "newsletter").allowed
    assert service.check("list@example.com", "newsletter").allowed


def test_redacted_complaint_with_a_forged_token_waits_for_review(
    intake: IntakeService,
) -> None:
    token = KEYS.mint_mailto("jane@example.org", "newsletter", 1_790_000_000)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    res = intake.process("inbox", "1:21", _redacted_complaint(forged), RECEIVED)
    assert res.message_class == "complaint"
    assert res.disposition is Disposition.REVIEW
    assert res.request_ids == ()
    assert intake.service.check("jane@example.org", "newsletter").allowed
    with intake.service.store.transaction() as tx:
        view = inbound.get_item(tx, res.item_id)
    assert view is not None
    assert any("invalid" in r for r in view.detail["review_reasons"])


def _apple_unsubscribe(sender: str, token: str) -> bytes:
    """What Apple Mail's unsubscribe button sends to a List-Unsubscribe mailto."""
    return (
        f"From: Reader <{sender}>\r\nTo: unsubscribe+{token}@example.com\r\n"
        "Subject: unsubscribe\r\nMessage-ID: <apple-1@icloud.example>\r\n"
        "X-Apple-Unsubscribe: true\r\nAuto-Submitted: auto-generated\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This message was automatically generated by Mail.\r\n"
    ).encode()


def test_apple_unsubscribe_button_suppresses_its_sender(intake: IntakeService) -> None:
    token = KEYS.mint_mailto("bob@example.net", "newsletter", 1_790_000_000)
    res = intake.process("inbox", "1:22", _apple_unsubscribe("bob@example.net", token), RECEIVED)
    assert res.disposition is Disposition.PROCESSED
    assert not res.confirmable  # machine mail: never answered
    assert not intake.service.check("bob@example.net", "newsletter").allowed


def test_apple_unsubscribe_of_a_forwarded_newsletter_waits_for_review(
    intake: IntakeService,
) -> None:
    # Jane's newsletter, forwarded to Bob, unsubscribed with Bob's Mail button: it was
    # applied to Bob, and Jane (whose token it is) went on getting mail
    token = KEYS.mint_mailto("jane@example.org", "newsletter", 1_790_000_000)
    res = intake.process("inbox", "1:23", _apple_unsubscribe("bob@example.net", token), RECEIVED)
    assert res.disposition is Disposition.REVIEW
    svc = intake.service
    assert svc.check("bob@example.net", "newsletter").allowed
    assert svc.check("jane@example.org", "newsletter").allowed
    (req,) = svc.requests()
    assert req.address == "bob@example.net"
    assert req.status is RequestStatus.NEEDS_REVIEW


def test_privacy_request_is_queued_with_its_deadline_and_opts_out(
    intake: IntakeService,
) -> None:
    res = intake.process("inbox", "1:8", m.ERASURE, RECEIVED)
    assert res.message_class == "privacy_request"
    svc = intake.service
    assert not svc.check("jane@example.org", "newsletter").allowed
    with svc.store.transaction() as tx:
        (p,) = inbound.list_privacy(tx)
    assert "erasure" in p.kinds
    assert p.deadline - RECEIVED > timedelta(days=44)


def test_a_failing_item_is_kept_as_a_dead_letter_and_can_be_replayed(
    intake: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = intake.service

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(svc, "record_batch_in", boom)
    res = intake.process("inbox", "1:9", m.UNSUBSCRIBE, RECEIVED)
    assert res.disposition is Disposition.REVIEW
    view, raw = intake.item(res.item_id)
    assert view.status == "failed"
    assert view.error is not None
    assert "disk on fire" in view.error
    assert raw == m.UNSUBSCRIBE
    assert svc.requests() == []
    monkeypatch.undo()
    again = intake.retry(res.item_id)
    assert again.item_id == res.item_id
    assert again.disposition is Disposition.PROCESSED
    assert not svc.check("jane@example.org", "newsletter").allowed


def _batch(*raws: bytes, source: str = "inbox") -> list[Received]:
    return [Received(source, f"7:{n}", raw, RECEIVED, len(raw)) for n, raw in enumerate(raws, 1)]


def _reader(n: int) -> bytes:
    return m.reply(
        "Please unsubscribe me.",
        sender=f"Reader {n} <reader{n}@example.org>",
        message_id=f"<batch-{n}@example.org>",
    )


def test_a_batch_commits_every_item_with_its_own_outcome(intake: IntakeService) -> None:
    svc = intake.service
    items = _batch(_reader(1), m.OUT_OF_OFFICE, m.DSN_HARD, _reader(2), m.QUESTION_WITH_FOOTER)
    results = intake.process_many(items)
    assert [r.message_class for r in results] == [
        "unsubscribe", "auto_reply", "bounce", "unsubscribe", "other",
    ]  # fmt: skip
    assert [r.disposition for r in results] == [Disposition.PROCESSED] * 4 + [Disposition.REVIEW]
    assert all(r.new for r in results)
    assert len({r.item_id for r in results}) == 5
    assert not svc.check("reader1@example.org", "newsletter").allowed
    assert not svc.check("reader2@example.org", "newsletter").allowed
    assert results[1].request_ids == ()
    assert len(results[2].request_ids) == 1  # the failed recipient, not the sender
    for r in results:  # each item's requests are linked to it, and only to it
        view, _ = intake.item(r.item_id)
        assert view.request_ids == r.request_ids
    again = intake.process_many(items)
    assert [(r.item_id, r.new) for r in again] == [(r.item_id, False) for r in results]
    statuses = sorted(r.status.value for r in svc.requests())
    assert statuses == ["applied", "applied", "applied", "needs-review"]  # the question is held


def test_one_bad_item_is_dead_lettered_alone_and_the_rest_of_its_batch_lands(
    intake: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = intake.service
    real = svc.record_batch_in

    def picky(tx: object, reqs: list[NewRequest]) -> object:
        if any(r.address == "reader2@example.org" for r in reqs):
            raise RuntimeError("constraint trouble")
        return real(tx, reqs)  # type: ignore[arg-type]

    monkeypatch.setattr(svc, "record_batch_in", picky)
    results = intake.process_many(_batch(_reader(1), _reader(2), _reader(3)))
    assert [r.disposition for r in results] == [
        Disposition.PROCESSED, Disposition.REVIEW, Disposition.PROCESSED,
    ]  # fmt: skip
    assert intake.item(results[1].item_id)[0].status == "failed"
    assert not svc.check("reader1@example.org", "newsletter").allowed
    assert svc.check("reader2@example.org", "newsletter").allowed
    assert not svc.check("reader3@example.org", "newsletter").allowed
    assert len(svc.requests()) == 2  # nothing of the failed item, nothing doubled


def test_the_same_mail_twice_in_one_batch_has_one_effect(intake: IntakeService) -> None:
    first, second = intake.process_many(_batch(m.UNSUBSCRIBE, m.UNSUBSCRIBE))
    assert first.request_ids
    assert second.request_ids == ()
    view, _ = intake.item(second.item_id)
    assert view.detail["duplicate_of"] == first.item_id
    assert len(intake.service.requests()) == 1
    events = [e.kind.value for e in intake.service.audit_log()]
    assert events.count("applied") == 1


def test_a_database_error_in_a_batch_commits_nothing(
    intake: IntakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_a: object, **_k: object) -> None:
        raise DatabaseUnavailable("connection refused")

    monkeypatch.setattr(intake.service, "record_batch_in", down)
    with pytest.raises(DatabaseUnavailable):
        intake.process_many(_batch(_reader(1), _reader(2)))
    monkeypatch.undo()
    assert intake.review_items() == []
    assert intake.service.requests() == []


def test_oversized_message_goes_to_review_untouched(service: OptoutService) -> None:
    small = IntakeService(service, KEYS, IntakePolicy(max_bytes=100))
    res = small.process("inbox", "2:1", m.UNSUBSCRIBE, RECEIVED)
    assert res.disposition is Disposition.REVIEW
    assert service.check("jane@example.org", "newsletter").allowed


def test_processing_uses_the_clock_for_applied_time(intake: IntakeService) -> None:
    clock = intake.service.clock
    assert isinstance(clock, FixedClock)
    intake.process("inbox", "3:1", m.UNSUBSCRIBE, RECEIVED)
    (req,) = intake.service.requests()
    assert req.applied_at == clock.now()
