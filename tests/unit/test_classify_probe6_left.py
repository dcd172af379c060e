"""Opt-outs the sixth probe (tests/probes/replies-6) still sent to review, read now.

Texts here are written for these tests in the probe's shapes: a misspelt "unsubscribe"
in a short reply, "please actually remove me this time" under a complaint that an
earlier opt-out failed, Brazilian "me tirem dessa lista" in capitals without accents,
and European Portuguese "Solicito a remoção do meu endereço". A question about how to
unsubscribe stays review, and a negated request no request.
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
