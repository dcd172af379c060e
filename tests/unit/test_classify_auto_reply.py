"""Auto-replies (RFC 3834 and the usual headerless ones) are never requests."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify


def mail(body: str, subject: str = "Re: Spring sale", extra: str = "") -> bytes:
    return (
        "From: Max Muster <max@example.de>\n"
        "To: news@shop.example.com\n"
        f"Subject: {subject}\n"
        f"{extra}"
        "Content-Type: text/plain; charset=utf-8\n\n"
        f"{body}"
    ).encode()


def test_german_out_of_office_without_headers_is_an_auto_reply() -> None:
    body = "Ich bin derzeit nicht im Büro und ab dem 14. März wieder erreichbar."
    result = classify(mail(body, subject="Abwesenheitsnotiz: Spring sale"))
    assert result.message_class is MessageClass.AUTO_REPLY
    assert any("abwesenheitsnotiz" in e for e in result.evidence)


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "X-Autoreply: yes",
        "X-Autorespond: vacation",
        "Precedence: bulk",
        "Precedence: junk",
        "Return-Path: <>",
    ],
)
def test_machine_markers_make_unsubscribe_words_irrelevant(header: str) -> None:
    result = classify(mail("unsubscribe", subject="unsubscribe", extra=header + "\n"))
    assert result.message_class is MessageClass.AUTO_REPLY
    assert result.machine


def test_auto_submitted_no_is_a_person() -> None:
    result = classify(mail("unsubscribe", extra="Auto-Submitted: no\n"))
    assert result.message_class is MessageClass.UNSUBSCRIBE


def test_x_auto_response_suppress_alone_does_not_make_a_person_a_machine() -> None:
    extra = "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\n"
    assert classify(mail("unsubscribe", extra=extra)).message_class is MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Spring sale",
        "Automatic reply: Spring sale",
        "Respuesta automática: Spring sale",
        "Réponse automatique : absent du bureau",
        "Risposta automatica",
        "Automatisch antwoord: afwezig",
        "Resposta automática: férias",
    ],
)
def test_out_of_office_subjects_in_several_languages(subject: str) -> None:
    assert classify(mail("Back next week.", subject=subject)).message_class is (
        MessageClass.AUTO_REPLY
    )


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (
            "Auto-Submitted: auto-replied",
            "I am out of the office until Monday.\n"
            "For urgent matters please contact my colleague Jane, jane@example.org, or "
            "call the desk.\n",
        ),
        (
            "X-Autoreply: yes",
            "Thanks for your mail. My colleagues Ann Lee, ann.lee@example.org, and "
            "Tom Roe, tom.roe@example.org, cover for me. Call 555-0100.\n",
        ),
        (
            "Precedence: bulk",
            "This list moved. Write to the owners, owners@lists.example.org, with questions.\n",
        ),
    ],
)
def test_a_colleague_named_in_an_auto_reply_is_not_a_failed_recipient(
    header: str, body: str
) -> None:
    """flufl.bounce's LLNL detector takes any "Name, address," line for a failed
    recipient; machine mail that words no failure is not asked, so an out-of-office
    never turns the colleague it names into a hard bounce (suppressed everywhere)."""
    result = classify(mail(body, subject="Out of office: Spring sale", extra=header + "\n"))
    assert result.message_class is not MessageClass.BOUNCE
    assert not result.suppresses
    assert not any("@" in a and a != "max@example.de" for a in result.addresses)


def test_machine_mail_that_words_a_failure_is_still_read_as_a_bounce() -> None:
    """The same loose format with failure wording: a notice from a relay that could not
    deliver, which is what a bounce without a DSN looks like."""
    body = (
        "Your message could not be delivered to the following recipient:\n"
        "  Jane Doe, jane@example.org, user unknown\n"
    )
    result = classify(mail(body, subject="Notice", extra="Auto-Submitted: auto-replied\n"))
    assert result.message_class is MessageClass.BOUNCE
    assert "jane@example.org" in result.addresses


@pytest.mark.parametrize(
    "body",
    [
        "I am away. My mailbox is full, please write to jane@example.org instead.\n",
        "I no longer work here; this address does not exist after Friday. "
        "Contact jane@example.org.\n",
        "I have left the company. Your message was not delivered to me.\n"
        "Please contact: Jane Doe <jane@example.org>\n",
        "Out of office.\nUrgent? jane@example.org\nMessage rejected? call 555-0100\n",
        "Je suis absent. Pour toute urgence : jane@example.org (adresse inconnue ? appelez)\n",
    ],
)
def test_an_auto_reply_wording_a_failure_is_no_bounce_of_the_contact_it_names(
    body: str,
) -> None:
    """Machine mail with failure words but no report in it ("my mailbox is full, write
    to jane@…") was read as a hard bounce of the address in its text, suppressing the
    colleague for every category; the free text is searched for a failed recipient only
    when something else says the message is a report."""
    for extra in ("Auto-Submitted: auto-replied\n", "Precedence: bulk\n"):
        result = classify(mail(body, subject="Out of office: Spring sale", extra=extra))
        assert result.message_class is MessageClass.AUTO_REPLY
        assert not result.suppresses
        assert "jane@example.org" not in result.addresses


def _calendar_answer(subject: str, method: str, *, in_param: bool) -> bytes:
    """What Outlook or Google Calendar sends when a person clicks Decline/Accept."""
    ctype = f"text/calendar; charset=utf-8; method={method}" if in_param else "text/calendar"
    return (
        "From: Max Muster <max@example.de>\r\nTo: events@shop.example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <cal-1@example.de>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="C"\r\n\r\n'
        f"--C\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{subject}\r\n"
        f"--C\r\nContent-Type: {ctype}\r\n\r\n"
        f"BEGIN:VCALENDAR\r\nMETHOD:{method}\r\nBEGIN:VEVENT\r\n"
        "ATTENDEE;PARTSTAT=DECLINED:mailto:max@example.de\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        "--C--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("subject", "method", "in_param"),
    [
        ("Declined: Webinar: stop losing customers", "REPLY", True),
        ("Abgelehnt: Webinar: Schluss mit dem Spam-Ordner", "REPLY", False),
        ("Nouvelle proposition d'horaire : Désabonnez-vous du stress", "COUNTER", True),
    ],
)
def test_a_calendar_clients_answer_is_machine_mail(
    subject: str, method: str, in_param: bool
) -> None:
    # the subject of our invitation ("stop …", "unsubscribe …") made it an opt-out
    result = classify(_calendar_answer(subject, method, in_param=in_param))
    assert result.message_class is MessageClass.AUTO_REPLY
    assert not result.suppresses
    assert any("calendar" in e for e in result.evidence)


def test_a_calendar_invitation_sent_to_us_is_no_calendar_answer() -> None:
    raw = _calendar_answer("Please unsubscribe me", "REQUEST", in_param=True)
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


def _robot(sender: str) -> bytes:
    return (
        f"From: Guest List <{sender}>\n"
        "To: news@shop.example.com\n"
        "Subject: Request to join jane@example.org's Guest List\n"
        "Message-ID: <guest-1@filter.example.net>\n"
        "Content-Type: text/plain\n\n"
        "Hello, your message was waitlisted. Please add yourself to my Guest List so your\n"
        "messages reach my Inbox. To stop receiving these, unsubscribe.\n"
    ).encode()


@pytest.mark.parametrize(
    "sender",
    ["notify@guestlist.example.net", "alerts@bank.example.com", "verify@filter.example.net",
     "autoreply@example.org", "auto-responder@example.org", "automated@example.org"],
)  # fmt: skip
def test_a_challenge_response_filter_or_alert_robot_is_no_opt_out(sender: str) -> None:
    # no RFC 3834 header, "unsubscribe" in its own text: its sender is the robot
    result = classify(_robot(sender))
    assert result.message_class is MessageClass.AUTO_REPLY
    assert not result.suppresses


@pytest.mark.parametrize("sender", ["norman.mailer@example.org", "ann.robotham@example.org"])
def test_a_person_whose_name_holds_a_robot_word_still_opts_out(sender: str) -> None:
    # guard: system words are whole parts of the local part, and not surnames
    raw = _robot(sender).replace(b"Guest List <", b"Reader <")
    raw = raw.split(b"\n\n")[0] + b"\n\nPlease unsubscribe me.\n"
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize(
    "body",
    [
        "I am on vacation this week, but please unsubscribe me from this list.",
        "Ich bin im Urlaub. Bitte tragen Sie mich aus Ihrem Verteiler aus.",
        "Je suis en congé, mais merci de me désinscrire de votre liste.",
    ],
)
def test_a_person_who_mentions_a_holiday_and_asks_to_stop_is_no_auto_reply(body: str) -> None:
    # only the words look like an out-of-office, and the same words ask to stop: taken
    # for an auto-reply, the opt-out would be recorded and neither applied nor reviewed
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


def test_a_subject_that_says_absence_over_a_request_is_a_persons_request() -> None:
    body = "Ich bin ab Dezember in Elternzeit. Bitte tragen Sie mich aus Ihrem Newsletter aus."
    result = classify(mail(body, subject="Abwesenheit ab 1.12. / bitte austragen"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject", "extra"),
    [
        # a machine says so in a header: never an opt-out (RFC 3834)
        ("I am on vacation this week, but please unsubscribe me.", "Re: Spring sale",
         "Auto-Submitted: auto-replied\n"),
        # a help desk acknowledges a request: it echoes it, it does not make one
        ("Thank you for contacting us. We have received your request and a ticket has "
         "been created. Your request: please unsubscribe me from this list.",
         "[Ticket #4411] Re: Spring sale", ""),
    ],
)  # fmt: skip
def test_an_out_of_office_that_says_so_elsewhere_stays_one(
    body: str, subject: str, extra: str
) -> None:
    result = classify(mail(body, subject=subject, extra=extra))
    assert result.message_class is MessageClass.AUTO_REPLY, result.evidence


def test_out_of_office_words_beside_a_bare_keyword_go_to_a_person() -> None:
    # a bare keyword is no explicit request, so nothing is applied; but no header says
    # machine and the writer's own text names unsubscribing: a person looks rather than
    # the message being filed away as an auto-reply (it was one until 2026-12-05)
    result = classify(mail("I am on vacation until Monday. Unsubscribe", "Re: Spring sale"))
    assert result.message_class is MessageClass.OTHER, result.evidence
    assert not result.suppresses
