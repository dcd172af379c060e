"""What the eleventh probe (tests/probes/replies-11) missed, read now.

Texts here are written for these tests in the probe's shapes: angry German demands
with a word inside the phrase ("Tragen Sie mich sofort aus"), "Löschen Sie mich aus
Ihrer Liste", "Hören Sie auf, mir … zu schicken"; and a subject that names the
unsubscribe link over a body that says the writer wants to stay.
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ("Ich habe mich nie angemeldet. Woher haben Sie meine Adresse?\nTragen Sie mich "
         "sofort aus Ihrem Verteiler aus.\n\nSonst gehe ich zum Landesdatenschutzbeauftragten.",
         "Nie angemeldet!"),
        ("Hören Sie auf, mir diesen Mist zu schicken. Löschen Sie mich aus Ihrer Liste, und "
         "zwar JETZT.", "Spam"),
        # a wish to stay beside a request that is one all the same
        ("I don't want to unsubscribe from everything, but please unsubscribe me from the "
         "daily deals.", "Re: Daily deals"),
    ],
)  # fmt: skip
def test_these_requests_are_opt_outs(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ("FYI your unsubscribe link in the footer gives a 404. To be clear, I don't want to "
         "unsubscribe, I want to STAY subscribed, just fix it, or you will end up in "
         "everyone's spam folder.\n\nOwen", "Your unsubscribe link is broken"),
        ("Der Abmeldelink in Ihrer Fußzeile funktioniert nicht. Ich will mich nicht abmelden, "
         "ich möchte angemeldet bleiben, aber andere Leser kommen nicht raus.",
         "Abmelden geht nicht"),
        ("El enlace para darse de baja da error. No quiero darme de baja, quiero seguir "
         "suscrita, pero arréglenlo, por favor, otros lectores no pueden salir.",
         "Baja no funciona"),
    ],
)  # fmt: skip
def test_these_are_not(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence
