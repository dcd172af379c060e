"""What a fifth probe (165 people's replies to a newsletter in fifteen languages,
2026-12-05) found. Texts here are written for these tests in the probe's shapes.

- Gmail writes the verb before the name in German, Dutch and the Nordic languages
  ("Am Mo., … schrieb Example News <news@…>:"), and Czech, Polish, Finnish, Turkish and
  Japanese attributions were not known: the line stayed in the writer's text, so a
  one-word "Abmelden" above it was a 15-word message and went to review.
- A keyword of a short subject decided over any body: "STOP the price increase!" over a
  paragraph on shipping, "Cancel" over an order number, "Abmeldung" over "it worked;
  will my husband still get it?" suppressed people who had asked for nothing.
- "Avregistrera mig inte!" (Swedish: do not unsubscribe me) puts its "not" after.

The guard cases (a subject over a signature, the Nordic negations, the Japanese
attribution, "moechte") pass before the changes too.
"""

from __future__ import annotations

from email.header import Header

import pytest

from worker.core.classify import MessageClass, classify
from worker.core.plan import Disposition, plan


def mail(body: str, subject: str = "Re: Newsletter", charset: str = "utf-8") -> bytes:
    if not subject.isascii():
        subject = Header(subject, "utf-8").encode()
    head = (
        "From: Reader <reader@example.eu>\n"
        "To: news@example.com\n"
        f"Subject: {subject}\n"
        "Message-ID: <probe5@example.eu>\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={charset}\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return head.encode("ascii") + body.encode(charset)


QUOTED = "> This week: autumn soups and a Black Friday preview\n> Unsubscribe: https://example.com/u/abc\n"


@pytest.mark.parametrize(
    ("reply", "attribution"),
    [
        ("Abmelden", "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Example News <news@example.com>:"),
        ("Abmelden", "Am Mo., 23. Nov. 2026 um 09:00 Uhr schrieb Example News <\n"
                     "news@example.com>:"),
        ("Afmelden", "Op ma 23 nov 2026 om 09:00 schreef Example News <news@example.com>:"),
        ("Avregistrera", "Den mån 23 nov. 2026 kl 09:00 skrev Example News <news@example.com>:"),
        ("Avmeld", "man. 23. nov. 2026 kl. 09:00 skrev Example News <news@example.com>:"),
        ("Odhlásit", "po 23. 11. 2026 v 9:00 odesílatel Example News <news@example.com> napsal:"),
        ("Wypisz mnie", "pon., 23 lis 2026 o 09:00 Example News <news@example.com> napisał(a):"),
        ("Poista minut", "ma 23.11.2026 klo 9.00 Example News (<news@example.com>) kirjoitti:"),
        ("Unsubscribe", "23 Kas 2026 Pzt, 09:00 tarihinde Example News <news@example.com> "
                        "şunu yazdı:"),
        ("Unsubscribe", "2026年11月23日(月) 9:00 Example News <news@example.com>:"),
    ],
)  # fmt: skip
def test_a_one_word_reply_above_a_gmail_attribution_in_its_language_is_a_request(
    reply: str, attribution: str
) -> None:
    result = classify(mail(f"{reply}\n\n{attribution}\n{QUOTED}"))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert plan(result).disposition is Disposition.PROCESSED


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("STOP the price increase!",
         "£4.99 shipping on a £12 order? It was free over £10 until last month. Stop the\n"
         "price increase or I'll shop elsewhere.\n\nGraham"),
        ("Cancel", "I want to cancel my order #48213, it was placed twice by mistake. Please\n"
                   "refund the second one to the same card.\n\nDaniel"),
        ("Abmeldung", "Hallo, die Abmeldung hat geklappt, danke. Bekommt mein Mann den\n"
                      "Newsletter weiterhin an seine eigene Adresse?\n\nSabine"),
        ("Papierkatalog abbestellen", "Guten Tag, bitte schicken Sie mir keinen gedruckten\n"
                                     "Katalog mehr, den Newsletter per E-Mail lese ich gern.\n"),
    ],
)  # fmt: skip
def test_a_subject_keyword_over_a_text_about_something_else_applies_nothing(
    subject: str, body: str
) -> None:
    result = classify(mail(body, subject=subject))
    assert plan(result).disposition is not Disposition.PROCESSED or not result.suppresses


def test_a_subject_naming_unsubscribing_over_a_longer_text_without_a_question_still_decides() -> (
    None
):
    body = (
        "I've basically had enough of your mailing list and would very much like it if you "
        "went away."
    )
    result = classify(mail(body, subject="UnSuBScRiBe"))
    assert result.message_class is MessageClass.UNSUBSCRIBE


def test_a_subject_keyword_over_a_signature_only_decides() -> None:
    body = (
        "Mit freundlichen Grüßen\n\nKlaus Becker\nGeschäftsführer\nBecker Haustechnik GmbH\n"
        "Hauptstraße 12, 34117 Kassel\nTel. 0561 123456\n"
    )
    assert classify(mail(body, subject="Abmelden")).message_class is MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize("body", ["Avregistrera mig inte! Jag har bara bytt adress.",
                                  "Afmeld mig ikke, jeg læser dem gerne."])  # fmt: skip
def test_a_nordic_not_after_the_request_negates_it(body: str) -> None:
    assert classify(mail(body)).message_class is not MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize(
    ("body", "charset"),
    [
        ("hallo, ich moechte mich abmelden. danke, juergen", "utf-8"),  # umlauts typed
        ("porfavor eliminen mi correo de su lista ya pedi la baja 3 veces!!!", "utf-8"),
        ("Bonjour, je souhaite être retiré de votre liste : merci.", "iso-8859-1"),
        ("Bom dia, agradeço que removam o meu endereço da vossa lista.", "iso-8859-1"),
        ("Hoe vaak nog? Haal mijn adres er nu af.", "utf-8"),
        ("Dobrý den, nechci od vás dostávat další e-maily. Děkuji.", "windows-1250"),
        ("prosze o usuniecie mojego maila z listy mailingowej, dziekuje", "utf-8"),
        # a line holding the request and, wrapped onto it, "Link" of another sentence
        ("PO RAZ CZWARTY PROSZĘ O WYPISANIE Z LISTY!!! Co jest z Wami nie tak? Link do\n"
         "rezygnacji nic nie daje.", "iso-8859-2"),
    ],
)  # fmt: skip
def test_requests_worded_as_the_probe_found_them(body: str, charset: str) -> None:
    result = classify(mail(body, charset=charset))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert result.addresses == ("reader@example.eu",)


# A sixth probe, written blind to the fifth and to the code (130 replies, 2026-12-05):
# 53 of 58 opt-outs applied and 5 of 52 other messages suppressing their sender; of the
# 5, three asked to stop SMS or a paper catalogue in another language than English and
# one reported that an earlier opt-out worked. Texts here are written for these tests.


@pytest.mark.parametrize(
    ("subject", "body", "charset"),
    [
        ("Re: Newsletter", "Dzień dobry, proszę nie wysyłać mi SMS-ów z promocjami. "
                           "E-maile mogą zostać.", "windows-1250"),
        ("STOPP SMS", "Hei, slutt å sende SMS til meg. Nyhetsbrevet på e-post er greit.",
         "utf-8"),
        ("Re: Newsletter", "Buongiorno, non mandatemi più il catalogo cartaceo, grazie.",
         "iso-8859-1"),
        ("Katalog", "Bitte schicken Sie mir keinen gedruckten Katalog mehr.", "utf-8"),
    ],
)  # fmt: skip
def test_a_request_to_stop_another_channel_is_no_opt_out_in_any_language(
    subject: str, body: str, charset: str
) -> None:
    result = classify(mail(body, subject=subject, charset=charset))
    assert result.message_class is not MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize(
    "body",
    [
        "Bitte keine SMS mehr, und auch keine Mails mehr.",  # both: the mail too
        "Proszę nie wysyłać mi SMS-ów ani e-maili.",
    ],
)
def test_a_request_naming_mail_beside_another_channel_is_still_an_opt_out(body: str) -> None:
    assert classify(mail(body)).message_class is MessageClass.UNSUBSCRIBE


def test_a_report_that_no_more_mail_arrives_is_no_request() -> None:
    body = (
        "Hallo, vielen Dank, die Abmeldung über den Link hat geklappt und ich bekomme seit "
        "Montag keine Mails mehr. Schöne Grüße"
    )
    assert classify(mail(body, subject="Re: Ihre Abmeldung")).message_class is not (
        MessageClass.UNSUBSCRIBE
    )
    assert classify(mail("Keine Mails mehr, bitte!")).message_class is MessageClass.UNSUBSCRIBE


def test_an_order_cancelled_by_mail_to_the_unsubscribe_address_is_no_opt_out() -> None:
    raw = mail("Ik wil mijn bestelling 50213 annuleren. Graag een bevestiging.", "Annuleren")
    raw = raw.replace(b"To: news@example.com", b"To: unsubscribe@example.com")
    assert classify(raw).message_class is not MessageClass.UNSUBSCRIBE
    # guard: the short statement that is the mailto request itself still is one
    raw = mail("Dit is mijn adres.", "Annuleren").replace(
        b"To: news@example.com", b"To: unsubscribe@example.com"
    )
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE
