"""Opt-outs the sixth probe (tests/probes/replies-6) still sent to review, read now.

Texts here are written for these tests in the probe's shapes: a misspelt "unsubscribe"
in a short reply, "please actually remove me this time" under a complaint that an
earlier opt-out failed, Brazilian "me tirem dessa lista" in capitals without accents,
and European Portuguese "Solicito a remoção do meu endereço". A question about how to
unsubscribe stays review, and a negated request no request. And from the second probe's
list of misses: "I already unsubscribed. Why am I still getting these?"
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ("plz unsubscrbe me from ths list", "Re: New arrivals"),
        ("pls unsubsribe", "Re: New arrivals"),
        ("I used your unsubscribe link last week and I keep getting these every single "
         "day. Please actually remove me this time.", "Still getting emails"),
        ("Your emails are far too frequent and I have not bought anything in a year, just "
         "remove me now.", "Re: Weekly deals"),
        ("ESTOU CANSADO DE RECEBER ESSES EMAILS TODO DIA, ME TIREM DESSA LISTA", "CHEGA"),
        ("Boa tarde,\n\nSolicito a remoção do meu endereço de e-mail da vossa lista de "
         "envio.\n\nCumprimentos,\nAna", "RE: Black Friday"),
    ],
)  # fmt: skip
def test_these_requests_are_opt_outs(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ("Please don't actually remove me, I clicked the link by mistake.", "Oops"),
        ("Não me tirem da lista, por favor, adoro as vossas receitas. Obrigada!", "Receitas"),
        ("Hi, how do I unsubscribe? I can't find the link anywhere in your emails.",
         "Question"),
    ],
)  # fmt: skip
def test_these_are_not(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        "I already unsubscribed. Why am I still getting these?",
        "I unsubscribed three weeks ago and I keep getting your newsletter every Monday.",
        "Ya me di de baja hace un mes y sigo recibiendo sus correos.",
        "Je me suis déjà désinscrit et je reçois toujours vos mails !",
        "Ich habe mich schon vor Wochen abgemeldet und bekomme immer noch Ihre Werbung.",
        "Ik heb me al afgemeld maar ik krijg nog steeds jullie nieuwsbrief.",
    ],
)
def test_an_opt_out_that_did_not_work_is_asked_for_again(body: str) -> None:
    result = classify(mail(body, "Still getting emails"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        # regretted: wants back in
        "I unsubscribed by mistake and still get nothing. How do I subscribe again?",
        # worked: nothing still comes
        "I unsubscribed last week and the emails have stopped. Thank you!",
        # somebody else's
        "My husband unsubscribed but he still gets your emails. Can you check?",
    ],
)
def test_an_opt_out_that_worked_or_is_regretted_is_no_request(body: str) -> None:
    result = classify(mail(body, "About my subscription"))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


_NOTICE = (
    "Aviso legal: este mensaje y sus archivos adjuntos van dirigidos exclusivamente a su\n"
    "destinatario. En cumplimiento del Reglamento (UE) 2016/679 le informamos de que puede\n"
    "ejercer sus derechos de acceso, rectificación, supresión y oposición en lopd@gil.es.\n"
)


def test_a_signatures_legal_notice_is_not_the_writers_request() -> None:
    # "you may exercise your rights of access, rectification…" informs; the letter above
    # asks to be taken off the mailing database: an opt-out, not a privacy request
    body = (
        "Buenos días:\n\nSolicito que eliminen mi dirección de correo electrónico de su "
        "base de datos de envíos comerciales.\n\nUn saludo,\nMarta Gil\nAsesoría Gil, S.L.\n"
        + _NOTICE
    )
    result = classify(mail(body, "RE: Black Friday"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


def test_a_privacy_letter_above_a_legal_notice_is_still_one() -> None:
    body = (
        "De conformidad con el artículo 15 del RGPD, solicito el acceso a todos los datos "
        "personales que tratan sobre mí.\n\nAtentamente,\nMarta Gil\n" + _NOTICE
    )
    result = classify(mail(body, "Solicitud de acceso"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST, result.evidence
    assert "access" in result.privacy_kinds


def test_the_address_of_a_legal_notice_is_no_other_person() -> None:
    body = "Solicito que eliminen mi dirección de su lista.\n\nUn saludo,\nMarta\n" + _NOTICE
    result = classify(mail(body, "Baja"))
    assert result.other_addresses_in_body == ()
    # above the notice, another address still holds the request for review
    body = "Den de baja a pedro@gil.es, por favor.\n\nMarta\n" + _NOTICE
    assert classify(mail(body, "Baja")).other_addresses_in_body == ("pedro@gil.es",)


@pytest.mark.parametrize(
    "line",
    [
        "aviso legal: este mensaje es confidencial",
        "legal notice: this message is confidential",
        "disclaimer: the information in this e-mail",
        "confidentiality notice: this e-mail",
        "avis de confidentialite : ce message",
        "avis juridique",
        "rechtlicher hinweis: diese e-mail",
        "haftungsausschluss: diese nachricht",
        "vertraulichkeitshinweis: diese e-mail",
        "avviso legale: questo messaggio",
        "aviso de confidencialidade: esta mensagem",
        "this e-mail and any attachments are confidential",
        "this message and any files transmitted with it",
        "este mensaje y sus archivos adjuntos van dirigidos",
        "ce message et toutes les pieces jointes sont confidentiels",
        "diese e-mail enthalt vertrauliche informationen",
        "questo messaggio e gli allegati sono riservati",
        "deze e-mail is uitsluitend bestemd voor de geadresseerde",
        "esta mensagem e os seus anexos sao confidenciais",
    ],
)
def test_every_legal_notice_opening_is_found(line: str) -> None:
    from worker.core.intent import _LEGAL_NOTICE, _NOTICE_STARTS

    assert line.startswith(_NOTICE_STARTS)
    assert _LEGAL_NOTICE.match(line)


def test_a_one_word_request_above_a_long_disclaimer_is_short() -> None:
    # the second probe's "Remove" over an English confidentiality notice: the notice is
    # not the writer's text, so the reply is one word and the keyword decides
    body = (
        "Remove\n\nJohn Smith\nSenior Buyer, ACME Corp\n\nThis e-mail and any attachments "
        "are confidential and intended solely for the addressee. If you have received it in "
        "error, please notify the sender and delete it. Any views expressed are those of the "
        "author. We process personal data in accordance with the GDPR; see our privacy notice."
    )
    result = classify(mail(body, "Re: Newsletter"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
