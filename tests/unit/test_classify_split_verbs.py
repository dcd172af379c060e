"""German and Dutch requests with words inside the verb phrase (worker.core.intent).

Both languages end the clause with the infinitive or the separable verb's particle, and
writers put what they like in between: "Ich möchte mich hiermit von Ihrem Newsletter
abmelden", "Zouden jullie mij per januari willen uitschrijven?". The phrase lists held
"mich abmelden" and "mij willen uitschrijven" as written, so these went to review. The
texts are written for these tests.
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify
from worker.core.intent import fold, unsubscribe_hits


@pytest.mark.parametrize(
    "body",
    [
        "Guten Tag,\n\nich möchte mich hiermit von Ihrem Newsletter abmelden.\n\nGruß\nKarin",
        "Könnten Sie mich nächste Woche bitte austragen? Vielen Dank.",
        "Hallo, koennten Sie mich bitte ab sofort aus dem Verteiler austragen?",
        "Sehr geehrte Damen und Herren,\nbitte tragen Sie mich ab sofort aus Ihrem "
        "Verteiler aus.\nMit freundlichen Grüßen\nH. Meier",
        "Ich würde mich gern aus Ihrer Mailingliste streichen lassen. Bitte streichen "
        "Sie mich also ab Januar heraus.",
        "Bitte nehmen Sie mich mit sofortiger Wirkung aus Ihrem Verteiler heraus.",
        "Zouden jullie mij per januari willen uitschrijven? Alvast bedankt.",
        "Schrijf mij alstublieft per direct uit.",
        "Wilt u mij alstublieft van uw lijst verwijderen.\n\nMet vriendelijke groet,\nAnke",
        "Beste, graag mij uitschrijven van de nieuwsbrief, dank u.",
        "Meld mij vanaf volgende maand maar af, ik lees hem niet meer.",
        "Hoi! Kunnen jullie mij even van de mailinglijst afhalen? Groetjes, Sanne",
        # "zu …" / "te …" infinitives, the address or the newsletter as the object
        "Ich bitte Sie, mich und meine Adresse umgehend und vollständig aus Ihrem "
        "E-Mail-Verteiler zu löschen.",
        "Wäre es möglich, mich zum Jahresende aus Ihrer Empfängerliste zu streichen?",
        "Hiermit würde ich Sie bitten, meine E-Mail-Adresse zum Monatsende aus Ihrem "
        "Verteiler zu entfernen.",
        "Ich würde Ihren Newsletter gerne mit sofortiger Wirkung abbestellen.",
        "Graag verzoek ik u om mij met ingang van 1 januari uit uw bestand te verwijderen.",
        "Ik wil de nieuwsbrief bij deze met onmiddellijke ingang opzeggen.",
        # dots inside the frame, a dash after it, informal imperatives
        "Melden Sie mich bitte zum 1. Januar von Example News ab.",
        "Meld mij a.u.b. per 1 december af voor de nieuwsbrief.",
        "Wilt u mij s.v.p. zo spoedig mogelijk uit uw bestand schrappen?",
        "Hey ihr Lieben, tragt mich doch bitte mal aus eurem Newsletter aus – nicht böse "
        "gemeint, aber ich komme nicht mehr zum Lesen.",
    ],
)
def test_a_request_with_words_inside_is_an_opt_out(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        # how-to questions: a person reads them (by design)
        "Wie kann ich mich eigentlich von diesem Newsletter abmelden?",
        "Ich lese den Newsletter seit Jahren. Kann ich mich auch telefonisch bei Ihnen "
        "abmelden, oder geht das nur über den Link?",
        "Hoe kan ik me eigenlijk voor de nieuwsbrief afmelden?",
        "Ik heb een vraag over mijn account en de nieuwsbrief. Kan ik mij hier ook afmelden?",
        # done already: a participle, no infinitive
        "Ich habe mich letzte Woche schon abgemeldet, aber danke für die Bestätigung.",
        "Ik heb me gisteren uitgeschreven en dat is gelukt, bedankt.",
        # negated
        "Bitte tragen Sie mich NICHT aus, ich lese ihn wirklich gern.",
        "Schrijf me vooral niet uit, ik lees hem graag.",
        # hypothetical
        "Wenn Sie mich austragen, verliere ich dann meinen Gutschein?",
        "Als jullie mij uitschrijven, krijg ik dan nog mijn facturen?",
        # another thing
        "Bitte melden Sie mich für den zweiten Newsletter an.",
        "Bitte entfernen Sie den Artikel aus meiner Bestellung.",
    ],
)
def test_these_are_not(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


def test_the_writers_own_subject_may_be_the_request() -> None:
    result = classify(
        mail(
            "Guten Tag,\n\nviele Grüße\nJonas",
            "Bitte tragen Sie mich ab sofort aus Ihrem Verteiler aus",
        )
    )
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence
    # ours, echoed in a reply, is not
    result = classify(mail("Guten Tag,\n\nviele Grüße\nJonas", "AW: Tragen Sie sich ab "
                           "sofort für unseren Verteiler ein"))  # fmt: skip
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


def test_another_channel_named_in_a_compound_is_not_the_mail() -> None:
    # "sms-lijst" names the SMS list: the e-mails stay
    body = (
        "Hoi, haal mij a.u.b. van de sms-lijst af, ik krijg bijna elke dag een berichtje. "
        "De e-mails wil ik wel blijven ontvangen. Groet, Bram"
    )
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


def test_the_evidence_quotes_the_whole_frame() -> None:
    text = fold("Mooi nummer weer. Zouden jullie mij per januari willen uitschrijven? Dank!")
    (hit,) = [h for h in unsubscribe_hits("Re: Example News", text) if h.strong]
    assert hit.phrase == "mij per januari willen uitschrijven"
    assert (hit.lang, hit.where, hit.strong) == ("nl", "body", True)


@pytest.mark.parametrize(
    "body",
    [
        "How can I unsubscribe from this newsletter?",
        "¿Cómo me doy de baja?",
        "Wie kann ich mich abmelden?",
        "Hoe kan ik me afmelden?",
        "If I unsubscribe, do I lose my coupon?",
        "Se mi cancello, perdo il buono?",
    ],
)
def test_a_short_how_or_if_question_goes_to_a_person(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.OTHER, result.evidence


@pytest.mark.parametrize(
    "body",
    ["Bitte austragen. Wie lange dauert das?", "Unsubscribe me. How long does it take?"],
)
def test_a_request_beside_such_a_question_is_read(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    ("body", "relation"),
    [
        ("Könnten Sie bitte meine Mutter ab sofort austragen?", "meine mutter"),
        ("Schrijf mijn vader alstublieft uit.", "mijn vader"),
        ("Bitte tragen Sie meinen Mann aus Ihrem Verteiler aus.", "meinen mann"),
    ],
)
def test_a_split_request_about_family_is_theirs(body: str, relation: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.on_behalf == relation, result


def test_a_quoted_footer_is_still_no_request() -> None:
    # the newsletter's own footer in the quote ("… können Sie sich hier abmelden") is
    # not the writer's text, and the writer asks about something else
    body = (
        "Wann kommt die nächste Ausgabe?\n\n"
        "Am 1. Dezember 2026 schrieb Example News <news@example.com>:\n"
        "> Wenn Sie den Newsletter nicht mehr möchten, können Sie sich hier abmelden.\n"
        "> Bitte tragen Sie mich aus? Nein: so schreibt niemand einen Fußtext.\n"
    )
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence
