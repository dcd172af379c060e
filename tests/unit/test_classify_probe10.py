"""What the tenth probe (tests/probes/replies-10) missed, read now.

Texts here are written for these tests in the probe's shapes: a LISTSERV command
("SIGNOFF EXAMPLE-NEWS") above a signature, Dutch and German requests with a
politeness word inside ("schrijf me alsjeblieft uit", "tragen Sie mich bitte aus"),
and an Outlook message recall, which its client sends whatever the recalled message
asked ("Laura would like to recall the message, "Unsubscribe".").
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ("SIGNOFF EXAMPLE-NEWS\n\n-- \nDr. Ada Park\nDepartment of Chemistry", "signoff"),
        ("Hallo,\n\nschrijf me alsjeblieft uit, ik lees hem toch nooit.\n\nDaan", "Re: Week 48"),
        ("Meld mij alstublieft af voor deze nieuwsbrief.", "Re: Nieuwsbrief"),
        ("Sehr geehrte Damen und Herren,\ntragen Sie mich bitte aus Ihrem Verteiler aus.",
         "AW: Ausgabe 48"),
        # a person who writes beside the recall's words is read as a person
        ("I would like to recall the message I sent yesterday. Please unsubscribe me "
         "instead.\nThanks, Laura", "Re: Weekly news"),
    ],
)  # fmt: skip
def test_these_requests_are_opt_outs(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ('Laura Bennett would like to recall the message, "Unsubscribe".', "Recall: Unsubscribe"),
        ('Laura Bennett would like to recall the message, "Please unsubscribe me".',
         "Recall: Please unsubscribe me"),
        ('Jonas Weber möchte die Nachricht "Bitte austragen" zurückrufen.',
         "Rückruf: Bitte austragen"),
        ('Claire Martin souhaite rappeler le message « Désabonnez-moi ».',
         "Rappel : Désabonnez-moi"),
        ('Piet Jansen wil het bericht "Schrijf me uit" intrekken.', "Intrekken: Schrijf me uit"),
    ],
)  # fmt: skip
def test_a_message_recall_is_machine_mail(body: str, subject: str) -> None:
    result = classify(mail(body, subject))
    assert result.message_class is MessageClass.AUTO_REPLY, result.evidence
    assert result.machine
    assert any("recall" in e for e in result.evidence)


def test_wanting_the_message_is_not_a_recall() -> None:
    # "ich möchte die Nachricht nicht mehr erhalten": an opt-out, no recall
    result = classify(mail("Ich möchte die Nachricht nicht mehr erhalten.", "AW: Newsletter"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
