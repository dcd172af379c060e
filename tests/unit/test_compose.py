"""Confirmations and deadline alerts as the person and the operator receive them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from worker.core.classify import MessageClass
from worker.mail.compose import AlertItem, alert, confirmation, may_confirm, pick_language
from worker.mail.sender import BACKOFF_CAP, backoff, jittered

RECEIVED = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 15, 5, tzinfo=UTC)


def _confirm(**overrides: Any) -> EmailMessage:
    args: dict[str, Any] = {
        "to": "john.doe@example.com",
        "sender": "Example <no-reply@example.com>",
        "scope_label": "all",
        "categories_stopped": ["newsletter", "offers"],
        "account_continues": True,
        "received_at": RECEIVED,
        "request_id": 42,
        "message_id_domain": "example.com",
        "date": NOW,
    }
    args.update(overrides)
    return confirmation(**args)


def _wire(msg: EmailMessage) -> EmailMessage:
    """The message as a receiver parses it from the bytes we would send."""
    parsed = message_from_bytes(msg.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def _prose(msg: EmailMessage) -> str:
    """The plain text with its line wrapping undone, for looking up phrases."""
    return " ".join(_text(msg).split())


def _item(request_id: int, kind: str, left: int, address: str = "j***@example.com") -> AlertItem:
    return AlertItem(
        request_id=request_id,
        kind=kind,  # type: ignore[arg-type]
        channel="imap",
        status="needs_review",
        address_masked=address,
        received_at=RECEIVED - timedelta(days=12),
        deadline=RECEIVED + timedelta(days=left),
        business_days_left=left,
    )


# -- confirmation --------------------------------------------------------------------------


def test_confirmation_is_an_rfc3834_auto_reply_without_precedence() -> None:
    msg = _wire(_confirm())
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Precedence"] is None


def test_confirmation_carries_no_unsubscribe_or_list_headers() -> None:
    msg = _wire(_confirm())
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"):
        assert msg[name] is None
    assert "unsubscribe" not in msg.as_string().lower().replace("unsubscribed", "")


def test_confirmation_has_fresh_message_id_on_our_domain_and_the_given_date() -> None:
    first, second = _wire(_confirm()), _wire(_confirm())
    assert first["Message-ID"].endswith("@example.com>")
    assert "confirm-42" in first["Message-ID"]
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Date"].datetime == NOW
    assert first["To"] == "john.doe@example.com"
    assert first["From"].addresses[0].addr_spec == "no-reply@example.com"


def test_confirmation_threads_under_the_persons_message() -> None:
    msg = _wire(_confirm(in_reply_to="  abc.123@mail.example.org "))
    assert msg["In-Reply-To"] == "<abc.123@mail.example.org>"
    assert msg["References"] == "<abc.123@mail.example.org>"


def test_confirmation_without_a_message_to_answer_has_no_threading_headers() -> None:
    msg = _wire(_confirm())
    assert msg["In-Reply-To"] is None
    assert msg["References"] is None


def test_malformed_in_reply_to_is_dropped_not_injected() -> None:
    msg = _wire(_confirm(in_reply_to="<a@b>\r\nBcc: victim@example.net"))
    assert msg["In-Reply-To"] is None
    assert msg["Bcc"] is None


def test_confirmation_says_what_stopped_and_that_account_email_continues() -> None:
    text = _text(_wire(_confirm()))
    assert "all promotional email" in _prose(_wire(_confirm()))
    assert "- newsletter" in text
    assert "- offers" in text
    assert "Account email continues" in text
    assert "request 42" in text
    assert "2026-11-23 15:00 UTC" in text


def test_confirmation_of_every_scope_says_account_email_stops_too() -> None:
    text = _prose(_wire(_confirm(scope_label="every", account_continues=False)))
    assert "all email from us" in text
    assert "Account email continues" not in text
    assert "also stops account email" in text


def test_one_category_is_named_in_the_subject() -> None:
    msg = _wire(_confirm(scope_label="newsletter", categories_stopped=["newsletter"]))
    assert msg["Subject"] == 'Unsubscribed: email about "newsletter"'


def test_plain_text_lines_are_wrapped_for_mail_readers() -> None:
    text = _text(_wire(_confirm()))
    assert max(len(line) for line in text.splitlines()) <= 72


def test_html_alternative_says_the_same_and_escapes_labels() -> None:
    msg = _wire(_confirm(scope_label="news<b>", categories_stopped=["news<b>", "a&b"]))
    assert msg.get_content_type() == "multipart/alternative"
    html_part = msg.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    page = str(html_part.get_content())
    assert "news&lt;b&gt;" in page
    assert "<li>a&amp;b</li>" in page
    assert "<b>" not in page
    assert "- news<b>" in _text(msg)  # plain text keeps the label as written


def test_html_alternative_can_be_left_out() -> None:
    msg = _wire(_confirm(with_html=False))
    assert msg.get_content_type() == "text/plain"


@pytest.mark.parametrize(
    ("hint", "subject_start", "phrase"),
    [
        ("en", "Unsubscribed:", "Account email continues"),
        ("es", "Baja confirmada:", "Los correos de su cuenta continúan"),
        ("fr-CA", "Désabonnement confirmé", "liés à votre compte continuent"),
        ("de_DE", "Abmeldung bestätigt:", "E-Mails zu Ihrem Konto gehen weiter"),
    ],
)
def test_confirmation_is_written_in_the_persons_language(
    hint: str, subject_start: str, phrase: str
) -> None:
    msg = _wire(_confirm(language=hint))
    assert msg["Subject"].startswith(subject_start)
    assert phrase in _prose(msg)
    assert msg["Content-Language"] == hint[:2]


def test_unknown_language_falls_back_to_english() -> None:
    assert _wire(_confirm(language="ja"))["Content-Language"] == "en"


@pytest.mark.parametrize(
    ("hint", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("pt-BR, es;q=0.8, en;q=0.5", "es"),
        ("FR_fr", "fr"),
        ("de-AT", "de"),
        ("xx", "en"),
    ],
)
def test_pick_language_takes_the_first_supported_tag(hint: str | None, lang: str) -> None:
    assert pick_language(hint) == lang


def test_non_ascii_body_and_subject_survive_the_wire() -> None:
    raw = _confirm(language="de").as_bytes()
    assert raw.isascii()  # quoted-printable and encoded-words: no 8BITMIME needed
    msg = _wire(_confirm(language="de"))
    assert "Abmeldung bestätigt" in msg["Subject"]
    assert "Zurücksetzungen" in _text(msg)


def test_naive_received_at_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _confirm(received_at=datetime(2026, 11, 23, 15, 0))


def test_message_id_domain_must_be_a_domain() -> None:
    with pytest.raises(ValueError, match="message_id_domain"):
        _confirm(message_id_domain="example.com>\r\nX: y")


# -- may_confirm ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message_class",
    [None, MessageClass.UNSUBSCRIBE, MessageClass.PRIVACY_REQUEST, "other"],
)
def test_a_person_request_may_be_confirmed(message_class: str | None) -> None:
    assert may_confirm(message_class, machine=False, recent_hard_bounce=False)


@pytest.mark.parametrize("message_class", ["bounce", "complaint", "auto_reply", "new-class"])
def test_machine_classes_and_unknown_classes_are_never_answered(message_class: str) -> None:
    assert not may_confirm(message_class, machine=False, recent_hard_bounce=False)


def test_machine_sent_mail_is_never_answered_whatever_its_class() -> None:
    assert not may_confirm("unsubscribe", machine=True, recent_hard_bounce=False)


def test_an_address_that_just_hard_bounced_gets_no_confirmation() -> None:
    assert not may_confirm(None, machine=False, recent_hard_bounce=True)


# -- alert ---------------------------------------------------------------------------------


def _alert(items: list[AlertItem]) -> EmailMessage:
    return _wire(
        alert(
            to="ops@example.com",
            sender="optout <no-reply@example.com>",
            items=items,
            generated_at=NOW,
            message_id_domain="example.com",
        )
    )


def test_alert_is_auto_generated_and_counts_the_requests_in_its_subject() -> None:
    msg = _alert([_item(1, "near", 2), _item(2, "near", 1)])
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "[optout] 2 opt-out requests near deadline"
    assert msg["Date"].datetime == NOW
    assert msg["List-Unsubscribe"] is None


def test_alert_subject_shouts_overdue_and_lists_overdue_first() -> None:
    msg = _alert([_item(1, "near", 2), _item(2, "overdue", -3)])
    assert msg["Subject"] == "[optout] OVERDUE: 1 of 2 opt-out requests past deadline"
    text = _text(msg)
    assert text.index("#2") < text.index("#1")
    assert "3 business days overdue" in text
    assert "2 business days left" in text


def test_alert_for_one_request_is_singular() -> None:
    assert _alert([_item(5, "overdue", 0)])["Subject"] == (
        "[optout] OVERDUE: 1 of 1 opt-out request past deadline"
    )


def test_alert_never_shows_a_full_address_even_if_given_one() -> None:
    text = _text(_alert([_item(1, "near", 2, address="john.doe@example.com")]))
    assert "john.doe" not in text
    assert "j***@example.com" in text


def test_alert_item_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="late"):
        _item(1, "late", 1)


def test_empty_alert_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="at least one"):
        _alert([])


# -- retry schedule ------------------------------------------------------------------------


def test_backoff_doubles_from_one_minute() -> None:
    assert [backoff(n) for n in range(4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]


def test_backoff_is_capped_at_six_hours_for_any_attempt() -> None:
    assert backoff(9) == BACKOFF_CAP == timedelta(hours=6)
    assert backoff(10_000) == BACKOFF_CAP


def test_backoff_refuses_negative_attempts() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff(-1)


def test_jitter_comes_from_the_given_random_and_stays_in_its_spread() -> None:
    delays = [jittered(timedelta(minutes=10), random.Random(seed)) for seed in range(50)]
    assert all(timedelta(minutes=8) <= d <= timedelta(minutes=12) for d in delays)
    assert len(set(delays)) > 1
    again = jittered(timedelta(minutes=10), random.Random(7))
    assert again == delays[7]


def test_a_long_label_wrapped_in_the_text_is_one_item_in_the_html() -> None:
    label = "a-rather-long-category-label " * 4
    msg = _wire(_confirm(categories_stopped=[label.strip()]))
    html_part = msg.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    assert f"<li>{label.strip()}</li>" in str(html_part.get_content())
