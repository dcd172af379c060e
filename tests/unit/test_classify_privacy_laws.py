"""Privacy letters that cite a law by number or by its national name, and withdrawals of
consent, in the seven languages. Written for these tests."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify


def letter(subject: str, body: str) -> bytes:
    return (
        f"From: Person <person@example.org>\r\nTo: news@shop.example.com\r\n"
        f"Subject: {subject}\r\nMessage-ID: <letter@example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("subject", "body", "kinds"),
    [
        ("Request regarding my data",
         "Pursuant to Regulation (EU) 2016/679 I hereby ask you to confirm whether you process "
         "information relating to me and, if so, to provide a copy of it.", ("access",)),
        ("Auskunftsbegehren",
         "Gestützt auf Art. 25 des Bundesgesetzes über den Datenschutz (revDSG) ersuche ich "
         "Sie um Mitteilung, ob Sie Daten über mich bearbeiten.", ("access",)),
        ("Consumer rights request",
         "Under the Virginia Consumer Data Protection Act, I am exercising my right to delete "
         "the data you have collected about me.", ("erasure",)),
        ("Privacy rights",
         "As a Texas resident I am invoking my rights under the Texas Data Privacy and "
         "Security Act to opt out of targeted advertising.", ("do_not_sell",)),
        ("Derecho de acceso", "Al amparo de la LOPDGDD solicito el acceso a mis datos.",
         ("access",)),
        ("Request", "In terms of POPIA please confirm what personal information you hold "
                    "about me.", ("access",)),
    ],
)  # fmt: skip
def test_a_law_named_by_number_or_national_name_is_a_privacy_request(
    subject: str, body: str, kinds: tuple[str, ...]
) -> None:
    result = classify(letter(subject, body))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert result.privacy_kinds == kinds


@pytest.mark.parametrize(
    "body",
    [
        "I hereby revoke my consent to the processing of my personal data for marketing.",
        "Por medio de la presente revoco mi consentimiento para el tratamiento de mis datos.",
        "Je révoque mon consentement au traitement de mes données à des fins de prospection.",
        "Hiermit widerrufe ich meine Einwilligung zur Nutzung meiner Daten für Werbezwecke.",
        "Venho por este meio revogar o meu consentimento para o tratamento dos meus dados.",
        "Con la presente revoco il consenso al trattamento dei miei dati per il marketing.",
        "Hierbij trek ik mijn toestemming in voor het gebruik van mijn gegevens.",
    ],
)
def test_a_withdrawal_of_consent_is_an_objection_and_an_opt_out(body: str) -> None:
    result = classify(letter("Consent", body))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert result.privacy_kinds == ("objection",)
    assert result.privacy_optout


@pytest.mark.parametrize(
    "body",
    [
        "Hello, my order from DSG Retail arrived broken, what now?",
        "Do you ship to Canada? And is the privacy of my card number protected at checkout?",
    ],
)
def test_a_name_that_only_looks_like_a_law_is_no_privacy_request(body: str) -> None:
    assert classify(letter("Re: order", body)).message_class is not MessageClass.PRIVACY_REQUEST
