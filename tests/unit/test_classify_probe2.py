"""What a second probe (257 realistic messages, 2026-12-04) found the classifier doing
wrong: machine mail taken for an opt-out, people's opt-outs missed, helpdesks bounced.
Each message is one of the probe's, trimmed; each test failed before its fix."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify
from worker.core.plan import Disposition, plan


def mail(head: str, body: str, ctype: str = 'text/plain; charset="UTF-8"') -> bytes:
    head = head.strip("\n") + f"\nMIME-Version: 1.0\nContent-Type: {ctype}\n"
    return (head + "\n" + body).replace("\n", "\r\n").encode()


def reply(subject: str, body: str, to: str = "news@shop.example.com") -> bytes:
    head = f"From: Paula <paula@example.com>\nTo: {to}\nSubject: {subject}\nMessage-ID: <p@x>"
    return mail(head, body)


def assert_no_opt_out(raw: bytes) -> None:
    result = classify(raw)
    decided = plan(result)
    assert not [a for a in decided.actions if not a.review], (result.message_class, result.evidence)


# -- a reply's subject is ours, echoed ------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Re: Stop scrolling: 50% off today", "Hi, is the 50% valid in your stores too?\n\nPaula"),
        ("Re: No more excuses: 40% off", "I'd like two of the blue ones, size M. Thanks!\nPaula"),
        ("RE: Cancel anytime - try Pro free", "Will I be billed after the trial ends?"),
        ("Re: Remove stains in seconds", "Thanks! Great tip, it worked on my sofa."),
        ("Re: Eliminar el estrés: ofertas de otoño", "¿A qué hora abre la tienda el sábado?"),
        ("ΑΠ: Remove stains in seconds", "Είμαι σε άδεια έως 28/10."),
        ("答复: Stop overpaying", "我正在休假，10月28日返回。"),
    ],
)
def test_a_reply_is_no_opt_out_for_a_word_of_our_subject(subject: str, body: str) -> None:
    # the person was suppressed at once, with no review, for asking or thanking
    assert_no_opt_out(reply(subject, body))


def test_an_empty_reply_with_an_explicit_subject_is_still_an_opt_out() -> None:
    result = classify(reply("Re: Unsubscribe me", ""))
    assert result.message_class is MessageClass.UNSUBSCRIBE


# -- robots -----------------------------------------------------------------------------
def test_a_ticket_systems_acknowledgement_echoing_an_opt_out_is_machine_mail() -> None:
    head = """
From: "Acme Support" <support@acme.zendesk.com>
To: unsubscribe@shop.example.com
Subject: [Ticket #123] Re: Unsubscribe me please
Message-ID: <21@acme.zendesk.com>
X-Zendesk-Email-Id: 01HXYZ
"""
    body = "##- Please type your reply above this line -##\n\nYour request (123) has been received."
    result = classify(mail(head, body))
    assert result.message_class is MessageClass.AUTO_REPLY
    head = """
From: "Initech Service Desk" <jira@initech.atlassian.net>
To: unsubscribe@shop.example.com
Subject: SD-89 STOP
Message-ID: <22@initech.atlassian.net>
"""
    body = "Hi,\n\nThanks for getting in touch. We've received your request SD-89."
    assert classify(mail(head, body)).message_class is MessageClass.AUTO_REPLY


@pytest.mark.parametrize(
    "sender",
    [
        "noreply-groups@google.com",
        "shop-announce+owners@googlegroups.com",
        "staff-bounces@lists.acme.org",
        "listserv@lists.example.edu",
        "messages-noreply@linkedin.com",
        "notifications@shopify.example",
    ],
)
def test_mailing_list_software_and_no_reply_senders_never_opt_out(sender: str) -> None:
    head = f"From: <{sender}>\nTo: unsubscribe@shop.example.com\nSubject: unsubscribe"
    result = classify(mail(head, "You have been unsubscribed from the list."))
    assert result.message_class is MessageClass.AUTO_REPLY
    assert any("system address" in e for e in result.evidence)


@pytest.mark.parametrize(
    "subject", ["Read: Stop scrolling: 50% off today", "Not read: Remove stains"]
)
def test_a_plain_text_read_receipt_is_machine_mail(subject: str) -> None:
    body = "Your message\n\n  To: john.doe@acme.example\n\nwas read on Tuesday."
    result = classify(reply(subject, body))
    assert result.message_class is MessageClass.AUTO_REPLY


def test_a_calendar_answer_attached_as_an_ics_file_is_machine_mail() -> None:
    head = "From: Tom <tom@acme.example>\nSubject: Declined: Stop losing customers"
    body = (
        "--B\nContent-Type: text/plain\n\nDeclined\n"
        '--B\nContent-Type: application/octet-stream; name="invite.ics"\n\n'
        "BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\n--B--\n"
    )
    raw = mail(head, body, ctype='multipart/mixed; boundary="B"')
    assert classify(raw).message_class is MessageClass.AUTO_REPLY


@pytest.mark.parametrize(
    "body",
    [
        "現在休暇中です。",
        "我正在休假，10月28日返回。",
        "In ferie fino al 20/10",
        "Jestem na urlopie do 20.10.",
    ],
)
def test_short_out_of_office_sent_to_the_unsubscribe_address_is_no_opt_out(body: str) -> None:
    result = classify(reply("Re: Unsubscribed", body, to="unsubscribe@shop.example.com"))
    assert result.message_class is not MessageClass.UNSUBSCRIBE


def test_a_short_phishing_mail_with_a_link_to_the_unsubscribe_address_is_no_opt_out() -> None:
    head = "From: <it@secure-verify.example>\nTo: unsubscribe@shop.example.com\nSubject: Mailbox"
    assert_no_opt_out(mail(head, "Verify now: https://secure-verify.example/login"))


# -- people ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "I would like to unsubscribe.",
        "I clicked the unsubscribe link 3 times, still getting these. Remove me.",
        "Ich möchte mich hier abmelden.",
        "Ik wil me hier afmelden.",
        "I want off this list.",
        "Quit spamming me",
        "unsubcribe",
        "Bitte streichen Sie mich aus Ihrem Verteiler.",
        "Sáquenme de su lista de correos.",
        "Per favore cancellarmi dalla newsletter.",
        "Gelieve mij uit te schrijven.",
        "Parem de me mandar e-mails.",
        "Take us off your distribution list.",
    ],
)
def test_opt_outs_worded_the_way_people_write_them(body: str) -> None:
    result = classify(reply("Re: Autumn sale: 30% off everything", body))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
    assert plan(result).disposition is Disposition.PROCESSED


def _outlook_web(own: str, newsletter: str) -> bytes:
    head = "From: Pat Lee <pat@contoso.example>\nTo: news@shop.example.com\nSubject: RE: Sale"
    body = (
        f'<html><body><div class="elementToProof">{own}</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg"><b>From:</b> Shop &lt;news@shop.example.com&gt;<br>'
        "<b>Subject:</b> Autumn sale</div>"
        f"<div><p>{newsletter}</p><p>You are receiving this email because you signed up. "
        '<a href="https://shop.example.com/u/x">Unsubscribe</a></p></div></body></html>'
    )
    return mail(head, body, ctype='text/html; charset="utf-8"')


def test_outlook_on_the_webs_quoted_newsletter_is_not_the_writers_words() -> None:
    # the original follows Outlook's reply header outside any quote container
    assert classify(_outlook_web("Unsubscribe", "Our biggest sale.")).message_class is (
        MessageClass.UNSUBSCRIBE
    )
    asking = _outlook_web("Is this in stores too?", "Stop sending money the expensive way.")
    assert_no_opt_out(asking)


# -- text bounces ---------------------------------------------------------------------
def _text_bounce(lines: str) -> bytes:
    head = """
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mail.smallisp.example>
To: bounce@shop.example.com
Subject: Undelivered Mail Returned to Sender
Message-ID: <b@x>
"""
    intro = "Your message could not be delivered to one or more recipients.\n\n"
    return mail(head, intro + lines)


def test_a_helpdesk_named_beside_the_failure_line_is_not_bounced() -> None:
    result = classify(_text_bounce(
        "<olduser@smallisp.example>: 550 5.1.1 mailbox unavailable\n"
        "Need help? Contact our helpdesk at help@smallisp.example\n"
    ))  # fmt: skip
    assert result.message_class is MessageClass.BOUNCE
    assert result.addresses == ("olduser@smallisp.example",)


def test_the_new_address_of_a_551_is_not_bounced() -> None:
    result = classify(_text_bounce(
        "<jane@oldco.example>: host mx.oldco.example said: 551 5.1.6 User\n"
        "    not local; please try <jane.doe@newco.example> (in reply to RCPT TO command)\n"
    ))  # fmt: skip
    assert result.addresses == ("jane@oldco.example",)


@pytest.mark.parametrize(
    "body",
    [
        "Tell me what information you have on me and where you got it from.",
        "Quiero que eliminen toda mi información de sus sistemas.",
        "Je vous demande d'effacer toutes les informations me concernant.",
        "Löschen Sie bitte alles, was Sie über mich gespeichert haben.",
        "Was haben Sie alles über mich gespeichert?",
        "Quero que apaguem todas as minhas informações e a minha conta.",
        "Che dati avete su di me?",
        "Welke informatie hebben jullie over mij opgeslagen?",
        "Por medio del presente ejerzo mi derecho de cancelación de mis datos.",
    ],
)
def test_privacy_requests_written_freely_are_privacy_requests(body: str) -> None:
    # they were review items without the privacy deadline
    assert classify(reply("Meine Daten / my data", body)).message_class is (
        MessageClass.PRIVACY_REQUEST
    )


@pytest.mark.parametrize(
    "body",
    [
        "Thank you for contacting Wonka Support. Ticket #1042 has been created.",
        "Your ticket has been received. Ticket ID: QWE-123-45678",
        "Grazie per il messaggio, rientro in ufficio il 20/10.",
    ],
)
def test_short_robot_mail_to_the_unsubscribe_address_is_no_opt_out(body: str) -> None:
    assert_no_opt_out(reply("Re: STOP [#QWE-123-45678]", body, to="unsubscribe@shop.example.com"))


@pytest.mark.parametrize(
    "body",
    [
        "I clicked the unsubscribe link in your footer three times now and I still get "
        "these every single week. Remove me.",
        "If you don't remove me I will report you as spam, remove me now.",
        "Olá, por favor me descadastrem da lista de e-mails. Obrigado, João",
        "Ich habe mich schon dreimal abgemeldet! Hört endlich auf, mir zu schreiben.",
    ],
)
def test_a_command_of_its_own_in_a_longer_mail_is_an_opt_out(body: str) -> None:
    result = classify(reply("Re: Autumn sale", body))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


def test_a_lone_stop_in_a_longer_mail_is_no_command() -> None:
    body = (
        "We talked about the offer at the store yesterday and my colleague said: stop. Is it over?"
    )
    assert classify(reply("Re: Autumn sale", body)).message_class is not MessageClass.UNSUBSCRIBE
