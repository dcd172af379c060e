"""What a third probe (200 realistic delivery reports, feedback loops, privacy letters
and forwards, 2026-12-04) found: people hard-bounced who did not fail, forwards opting
out the forwarder. Each message is one of the probe's, trimmed; each test failed before
its fix."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify
from worker.core.plan import Disposition, plan


def mail(head: str, body: str, ctype: str = 'text/plain; charset="UTF-8"') -> bytes:
    head = head.strip("\n") + f"\nMIME-Version: 1.0\nContent-Type: {ctype}\n"
    return (head + "\n" + body).replace("\n", "\r\n").encode()


DAEMON = """
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.one.example>
To: bounce@shop.example.com
Message-ID: <dsn@mx.one.example>
"""


def test_a_report_with_one_failed_and_one_delayed_recipient_bounces_only_the_failed() -> None:
    dsn = (
        "--D\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--D\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.one.example\n\n"
        "Final-Recipient: rfc822; alice@one.example\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; bob@one.example\nAction: delayed\nStatus: 4.2.2\n\n--D--\n"
    )
    head = DAEMON + "Subject: Undelivered Mail Returned to Sender"
    result = classify(
        mail(head, dsn, 'multipart/report; report-type=delivery-status; boundary="D"')
    )
    assert result.message_class is MessageClass.BOUNCE
    assert result.bounce_kind == "hard"
    assert result.addresses == ("alice@one.example",)  # bob's mail was only delayed
    assert any("bob@one.example" in e for e in result.evidence)


def test_a_success_notice_in_words_is_no_bounce() -> None:
    head = DAEMON + "Subject: Successful Mail Delivery Report"
    body = (
        "Your message was successfully delivered to the destination(s)\nlisted below. "
        "Otherwise you may still receive\nnotifications of mail delivery errors from other "
        "systems.\n\n<erin@four.example>: delivery via dovecot service: delivered to mailbox\n"
    )
    result = classify(mail(head, body))
    assert result.message_class is not MessageClass.BOUNCE
    assert not result.suppresses
    head = DAEMON.replace("Mail Delivery System", "Microsoft Outlook") + "Subject: Delivered: Sale"
    body = "Your message has been delivered to the following recipients:\n\nceo@firm.example\n"
    assert not classify(mail(head, body)).suppresses


def test_a_german_delay_warning_is_a_soft_bounce() -> None:
    head = DAEMON + "Subject: Warnung: Zustellung verzögert"
    body = (
        "Ihre Nachricht konnte bisher nicht an folgende Empfänger zugestellt werden:\n\n"
        "  susi.s@gmx.at\n    451 Postfach voll\n\nWeitere Zustellversuche werden unternommen, "
        "die Zustellung ist verzögert.\n"
    )
    result = classify(mail(head, body))
    assert result.bounce_kind == "soft"
    assert not result.suppresses


def test_a_text_bounce_naming_nobody_does_not_bounce_every_recipient_of_the_copy() -> None:
    head = DAEMON + "Subject: Undelivered Mail Returned to Sender"
    body = (
        "Your message could not be delivered.\nReason: 550 5.1.1 Recipient address rejected: "
        "User unknown\n\nOriginal message headers:\nFrom: Billing <billing@shop.example.com>\n"
        "To: billing@client3.example\nCc: accounts@client3.example, cfo@client3.example\n"
        "Subject: Invoice\n"
    )
    result = classify(mail(head, body))
    assert result.addresses == ()  # which of the three failed, the report does not say
    assert plan(result).disposition is Disposition.REVIEW


def test_an_outlook_forward_of_a_colleagues_newsletter_waits_for_review() -> None:
    head = """
From: Helpdesk Assistant <assistant@lawfirm.example>
To: news@shop.example.com
Subject: FW: Autumn sale
Message-ID: <fw@lawfirm.example>
"""
    body = (
        "Please remove this address.\n\nKind regards\nEmma\n\n"
        "From: Shop Example <news@shop.example.com>\nSent: Tuesday, October 14, 2025 9:00 AM\n"
        "To: Partner Office <partner.office@lawfirm.example>\nSubject: Autumn sale\n\n"
        "Our autumn sale is on.\n"
    )
    result = classify(mail(head, body))
    assert "partner.office@lawfirm.example" in result.other_addresses_in_body
    decided = plan(result)
    assert decided.disposition is Disposition.REVIEW
    assert all(a.review for a in decided.actions)


def test_a_french_delay_warning_is_a_soft_bounce() -> None:
    head = DAEMON + "Subject: Avertissement : remise du message retardée"
    body = (
        "Ceci est un message d'avertissement uniquement. Vous n'avez pas besoin de renvoyer "
        "votre message.\n\nVotre message n'a pas encore pu être remis au destinataire "
        "suivant :\n\n  paul.durand@orange.fr\n  Raison : 451 4.2.0 Boîte aux lettres "
        "indisponible\n\nLe serveur continuera d'essayer pendant 4 jours.\n"
    )
    result = classify(mail(head, body))
    assert result.bounce_kind == "soft"
    assert not result.suppresses


def _note(body: str, sender: str = "info@bakery-example.de") -> bytes:
    head = f"From: <{sender}>\nTo: news@shop.example.com\nSubject: Newsletter\nMessage-ID: <n@x>"
    return mail(head, body)


@pytest.mark.parametrize(
    "body",
    [
        "Bitte nehmen Sie unsere Adresse aus Ihrem Verteiler, wir bekommen zu viel Post.",
        "Merci de retirer notre adresse de votre liste de diffusion.",
        "Por favor, eliminen nuestra dirección de su lista de correo.",
        "Graag ons e-mailadres verwijderen uit uw bestand.",
        "Vi preghiamo di rimuovere il nostro indirizzo dalla vostra lista.",
    ],
)
def test_a_shared_mailbox_asking_to_remove_our_address_opts_out(body: str) -> None:
    assert classify(_note(body)).message_class is MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize(
    "body",
    [
        "Please forget me - remove every trace of me from your records.",
        "I want to know what you know about me.",
        "Teilen Sie mir bitte mit, welche Informationen Sie zu meiner Person gespeichert "
        "haben, und vergessen Sie mich danach.",
        "Merci de ne plus conserver aucune information à mon sujet.",
        "Quiero saber qué datos míos tienen y después que los borren todos.",
        "Ik wil graag weten wat jullie allemaal van mij bewaren.",
    ],
)
def test_privacy_letters_in_free_words_are_privacy_requests(body: str) -> None:
    assert classify(_note(body, "ana@example.org")).message_class is MessageClass.PRIVACY_REQUEST
