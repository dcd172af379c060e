"""Opt-outs the ninth probe (tests/probes/replies-9) sent to review, read now.

Texts here are written for these tests in the probe's shapes: a request only in the
subject over a body that is nothing but a signature; polite first-person phrases ("I'd
rather not get these anymore", "solicitar la cancelación de mi suscripción", "agradeço
que me retirem da vossa lista", "preferisco non ricevere più", "zouden jullie mij
willen uitschrijven?"); one-word requests with a typo. And the one message of the set
that suppressed its sender: "thanks, unsubscribing worked" beside the bare word.
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        # the request in the subject, a business card below "--"
        ("\n\n--\nMarta Gil Soler\nGil Soler Asesores · Calle Real 3, 2.º · 41001 Sevilla\n"
         "Tel. 954 00 11 22 · www.gilsoler.es\n", "BAJA"),
        ("--\nJan de Vries\nDe Vries Bouw B.V. | Stationsweg 12 | 3811 AB Amersfoort\n",
         "afmelden"),
        ("Hi,\nI'd rather not get these anymore if that's ok. Thanks!\n\nSent from my iPhone",
         "Re: Weekly news"),
        ("Buenas tardes:\n\nLes escribo para solicitar la cancelación de mi suscripción a su "
         "boletín. Recibo demasiados correos.\n\nUn saludo,\nLucía", "Re: Boletín"),
        ("Bom dia,\n\nAgradeço que me retirem da vossa lista de distribuição; já não pretendo "
         "receber a newsletter.\n\nCumprimentos,\nRui", "RE: Novidades"),
        ("Buongiorno, preferisco non ricevere più queste email.\nGrazie", "Re: Le novità"),
        ("Beste redactie,\n\nMooi artikel over de tramlijn, en de foto's waren prachtig. "
         "Ik ga na de jaarwisseling met pensioen en ruim mijn mailbox op. Zouden jullie mij "
         "willen uitschrijven voor de nieuwsbrief?\n\nMet vriendelijke groet,\nPiet",
         "Re: Nieuwsbrief"),
        ("Könnten Sie mich bitte austragen? Danke.", "Re: Newsletter"),
        ("cancelar suscrpcion porfa", "Re: Boletín"),
        ("disicrivimi grazie", "Re: Le novità"),
        ("afmleden aub", "Re: Nieuwsbrief"),
    ],
)  # fmt: skip
def test_these_requests_are_opt_outs(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        # a report that it worked, beside the bare word: no request
        ("Grazie, la disiscrizione ha funzionato, non ricevo più nulla. Buona giornata!",
         "Re: Conferma di disiscrizione"),
        ("Unsubscribe: it worked, thanks!", "Re: Your confirmation"),
        ("Afmelding is gelukt, bedankt!", "Re: Bevestiging"),
        ("Die Abmeldung hat funktioniert, danke.", "Re: Bestätigung"),
        # a signature alone, under the newsletter's own subject: nothing asked
        ("--\nMarta Gil Soler\nGil Soler Asesores · Calle Real 3 · 41001 Sevilla\n",
         "Re: Boletín semanal"),
        ("I'd rather not get into that discussion, but the tram article was wrong.",
         "Re: Weekly news"),
    ],
)  # fmt: skip
def test_these_are_not(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        "La disiscrizione non ha funzionato, cancellatemi per favore.",
        "Die Abmeldung hat nicht funktioniert. Bitte tragen Sie mich aus.",
        "Unsubscribe didn't work, please remove me from this list.",
    ],
)
def test_a_failed_opt_out_asked_again_is_one(body: str) -> None:
    result = classify(mail(body, "Re: Newsletter"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
