"""Requests written about somebody else than the sender, and privacy requests named
only in the subject: what the first probe found read as the sender's own opt-out."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify
from worker.core.plan import Disposition, plan


def mail(body: str, subject: str = "Re: Our spring newsletter") -> bytes:
    head = (
        "From: Ana Reader <ana@example.org>\n"
        "To: news@shop.example.com\n"
        f"Subject: {subject}\n"
        "Message-ID: <reply-7@example.org>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return (head + body).encode("utf-8")


@pytest.mark.parametrize(
    ("body", "relation"),
    [
        ("Please unsubscribe my wife, she no longer reads these.", "my wife"),
        ("Please remove my mother from your mailing list.", "my mother"),
        ("Bitte melden Sie meinen Mann von diesem Newsletter ab.", "meinen mann"),
        ("Merci de désabonner ma mère de votre lettre.", "ma mere"),
        ("Por favor, den de baja a mi esposa de esta lista.", "mi esposa"),
        ("Por favor, removam minha mãe da lista.", "minha mae"),
        ("Per favore, rimuovete mia moglie dalla lista.", "mia moglie"),
        ("Wilt u mijn vader afmelden voor de nieuwsbrief?", "mijn vader"),
    ],
)
def test_an_opt_out_for_a_family_member_waits_for_review(body: str, relation: str) -> None:
    # it was applied to the sender: the wrong person stopped getting mail, the right
    # one did not (the ones our first-person phrase lists miss are review items either
    # way; the reviewer is now told whom they are about)
    result = classify(mail(body))
    assert result.on_behalf == relation
    assert any("about another person" in e for e in result.evidence)
    decided = plan(result)
    assert decided.disposition is Disposition.REVIEW
    assert all(a.review for a in decided.actions)
    assert any("another person" in r for r in decided.review_reasons)


@pytest.mark.parametrize(
    "body",
    [
        "My late father Robert passed away last month. Please delete my late father's "
        "account and all the data you hold on him.",
        "Please delete all data you hold on my wife. She asked me to write to you.",
        "Bitte löschen Sie das Konto meiner verstorbenen Mutter.",
    ],
)
def test_an_erasure_for_a_family_member_is_a_privacy_request_held_for_review(
    body: str,
) -> None:
    result = classify(mail(body, subject="Account of my father"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert "erasure" in result.privacy_kinds
    assert result.on_behalf
    decided = plan(result)
    assert decided.disposition is Disposition.REVIEW
    assert all(a.review for a in decided.actions)  # the sender's own opt-out is held too


@pytest.mark.parametrize(
    "body",
    [
        "My wife and I loved the recipes. Please unsubscribe me, I have too much mail.",
        "Please unsubscribe me. My husband will keep reading your newsletter.",
    ],
)
def test_the_senders_own_opt_out_beside_a_family_word_is_applied(body: str) -> None:
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert result.on_behalf is None
    assert plan(result).disposition is Disposition.PROCESSED


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("GDPR request", "Hello,\n\nplease see attached.\n\nRegards, Ana"),
        ("Antrag nach DSGVO", "Guten Tag, anbei mein Schreiben.\nAna"),
        ("Data protection request", "Please find my letter attached.\nAna"),
        ("Datenschutzanfrage", "Siehe Anhang.\nAna"),
        ("Demande RGPD", "Veuillez trouver ma lettre en pièce jointe."),
    ],
)
def test_a_privacy_request_named_in_the_subject_alone_is_one(subject: str, body: str) -> None:
    # the letter is an attachment or elsewhere: it was a review item without a privacy
    # deadline ("no request recognised")
    result = classify(mail(body, subject=subject))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert result.privacy_kinds == ("other",)
    assert not result.privacy_optout


def test_a_subject_naming_a_law_without_a_request_is_no_request() -> None:
    result = classify(mail("Thanks for the update.", subject="Re: Our GDPR update"))
    assert result.message_class is not MessageClass.PRIVACY_REQUEST


def test_avg_the_antivirus_is_not_the_dutch_gdpr() -> None:
    body = (
        "Hello, my AVG antivirus keeps flagging your newsletter as dangerous and moving it "
        "to quarantine, which is annoying every single week and I do not have the time to "
        "deal with it any longer. Please remove me from your list."
    )
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert not result.privacy_kinds
    dutch = classify(mail("Op grond van de AVG verzoek ik u om inzage in mijn gegevens."))
    assert dutch.message_class is MessageClass.PRIVACY_REQUEST


def test_ccpa_right_to_know_and_delete_records_both_kinds() -> None:
    body = (
        "Under the CCPA I am exercising my right to know what personal information you "
        "have collected about me. After that, please delete my personal information."
    )
    result = classify(mail(body, subject="CCPA request"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert set(result.privacy_kinds) == {"access", "erasure"}
