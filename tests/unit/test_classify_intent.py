"""Opt-out and privacy intent in people's replies, in the languages we serve."""

from __future__ import annotations

import pytest

from worker.core.classify import MessageClass, classify


def mail(body: str, subject: str = "Re: Our spring newsletter", extra: str = "") -> bytes:
    head = (
        "From: Ana Reader <Ana.Reader@Example.org>\n"
        "To: news@shop.example.com\n"
        f"Subject: {subject}\n"
        "Message-ID: <reply-1@example.org>\n"
        f"{extra}"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    )
    return (head + body).encode("utf-8")


@pytest.mark.parametrize(
    ("body", "lang"),
    [
        ("Please unsubscribe me.", "en"),
        ("Por favor, quiero darme de baja de esta lista.", "es"),
        ("Merci de me désabonner de votre lettre.", "fr"),
        ("Bitte melden Sie mich ab.", "de"),
        ("Não quero receber mais estes emails, por favor.", "pt"),
        ("Vorrei disiscrivermi da questa newsletter.", "it"),
        ("Graag wil ik me afmelden voor de nieuwsbrief.", "nl"),
    ],
)
def test_short_reply_asking_to_opt_out_is_unsubscribe_in_each_language(
    body: str, lang: str
) -> None:
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert any(f"({lang})" in e for e in result.evidence)
    assert result.addresses == ("ana.reader@example.org",)
    assert result.suppresses


@pytest.mark.parametrize("word", ["unsubscribe", "STOP", "Remove me", "Abmelden", "baja"])
def test_a_one_word_reply_is_a_request(word: str) -> None:
    assert classify(mail(word)).message_class is MessageClass.UNSUBSCRIBE


def test_subject_darse_de_baja_is_unsubscribe_with_evidence_naming_the_subject() -> None:
    result = classify(mail("", subject="Darse de baja"))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert any("in subject" in e and "(es)" in e for e in result.evidence)


def test_accents_and_case_do_not_matter() -> None:
    assert classify(mail("DESABONNER")).message_class is MessageClass.UNSUBSCRIBE


def test_reply_quoting_an_unsubscribe_footer_and_asking_a_question_is_other() -> None:
    body = (
        "Hi, does the spring offer also apply to orders shipped to Canada?\n"
        "Thanks, Ana\n\n"
        "On Mon, 3 Mar 2025 at 10:00, Shop News <news@shop.example.com> wrote:\n"
        "> Our spring sale starts today!\n"
        "> To unsubscribe from these emails, click here: https://shop.example.com/u/x\n"
    )
    result = classify(mail(body))
    assert result.message_class is MessageClass.OTHER


def test_an_unquoted_how_to_unsubscribe_question_goes_to_review() -> None:
    body = "Hello, I keep getting your mails. How do I unsubscribe from the weekly list?"
    assert classify(mail(body)).message_class is MessageClass.OTHER


def test_a_negated_phrase_is_not_a_request() -> None:
    body = "I did not unsubscribe, but I stopped getting the weekly offers. Why is that so?"
    assert classify(mail(body)).message_class is MessageClass.OTHER


def test_a_long_message_with_a_first_person_request_is_unsubscribe() -> None:
    body = (
        "Hello team, I have been a customer for years and liked the shop a lot, but I get "
        "far too many mails these days. Please remove me from your mailing list. Thanks!"
    )
    assert classify(mail(body)).message_class is MessageClass.UNSUBSCRIBE


def test_outlook_style_quote_block_is_not_read_for_intent() -> None:
    body = (
        "Can you tell me when my parcel ships?\n\n"
        "From: Shop News <news@shop.example.com>\n"
        "Sent: Monday, March 3, 2025 10:00\n"
        "To: Ana Reader\n"
        "Subject: Spring sale\n\n"
        "Unsubscribe\n"
    )
    assert classify(mail(body)).message_class is MessageClass.OTHER


def test_signature_below_the_dash_separator_is_ignored() -> None:
    body = "Thanks for the quick help with my order.\n-- \nAna\nunsubscribe: see footer\n"
    assert classify(mail(body)).message_class is MessageClass.OTHER


def test_erasure_request_is_a_privacy_request_that_also_opts_out() -> None:
    body = "Please delete my personal data and my account under Article 17 GDPR."
    result = classify(mail(body, subject="Data request"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert "erasure" in result.privacy_kinds
    assert result.privacy_optout


def test_access_request_in_german_is_a_privacy_request_without_opt_out() -> None:
    body = "Ich bitte um Auskunft über meine personenbezogenen Daten gemäß Art. 15 DSGVO."
    result = classify(mail(body))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert result.privacy_kinds == ("access",)
    assert not result.privacy_optout


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("Do not sell my personal information.", "do_not_sell"),
        ("Me opongo al tratamiento de mis datos personales.", "objection"),
        ("Je demande la rectification de mes données personnelles.", "rectification"),
        ("Verwijder mijn gegevens uit uw systemen.", "erasure"),
        ("Chiedo la cancellazione dei miei dati personali.", "erasure"),
        ("Quero apagar os meus dados pessoais.", "erasure"),
    ],
)
def test_privacy_kinds_are_recognised(body: str, kind: str) -> None:
    result = classify(mail(body))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert kind in result.privacy_kinds


def test_a_request_about_another_address_is_reported() -> None:
    result = classify(mail("Please unsubscribe my old address bob@example.net"))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert result.other_addresses_in_body == ("bob@example.net",)


def test_token_in_the_unsubscribe_plus_address_is_returned_raw() -> None:
    raw = mail("", subject="unsubscribe").replace(
        b"To: news@shop.example.com", b"To: <unsubscribe+AbC123-xyz_987@shop.example.com>"
    )
    result = classify(raw)
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert result.tokens == ("AbC123-xyz_987",)


def test_empty_mail_to_the_unsubscribe_address_is_a_request() -> None:
    raw = mail("").replace(b"To: news@shop.example.com", b"To: unsubscribe@shop.example.com")
    raw = raw.replace(b"Subject: Re: Our spring newsletter", b"Subject: ")
    assert classify(raw).message_class is MessageClass.UNSUBSCRIBE


def test_token_in_the_subject_is_returned() -> None:
    result = classify(mail("", subject="unsubscribe Zq8mK2pLx9Yt4Rw7Vn3B"))
    assert result.tokens == ("Zq8mK2pLx9Yt4Rw7Vn3B",)


def test_failed_authentication_results_are_flagged() -> None:
    extra = (
        "Authentication-Results: mx.shop.example.com; spf=fail smtp.mailfrom=example.org;"
        " dkim=none; dmarc=fail header.from=example.org\n"
    )
    result = classify(mail("unsubscribe", extra=extra))
    assert result.authentication_failed
    assert any("dmarc=fail" in e for e in result.evidence)


def test_passing_authentication_results_are_not_flagged() -> None:
    extra = "Authentication-Results: mx.shop.example.com; spf=pass; dkim=pass; dmarc=pass\n"
    assert not classify(mail("unsubscribe", extra=extra)).authentication_failed


@pytest.mark.parametrize(
    ("body", "lang"),
    [
        (
            "Hi there, kindly take my email address off your mailing list, I get far too "
            "many emails from you these days.\n\nThanks, Linda",
            "en",
        ),
        (
            "Hola, por favor no me manden más correos, no recuerdo haberme suscrito y no me "
            "interesan sus ofertas.\n\nSaludos,\nLucía",
            "es",
        ),
        (
            "Bonjour, merci de ne plus m'envoyer vos lettres d'information, je ne suis pas "
            "intéressé par vos offres.\n\nCordialement,\nPierre",
            "fr",
        ),
        (
            "Guten Tag, bitte schicken Sie mir keine Werbung mehr zu. Ich habe mich nie für "
            "Ihren Newsletter angemeldet.\n\nMit freundlichen Grüßen\nJürgen",
            "de",
        ),
        (
            "Olá, por favor parem de me enviar emails, não me inscrevi nesta lista e não "
            "tenho interesse.\n\nObrigado,\nJoão",
            "pt",
        ),
        (
            "Buongiorno, vi prego di non inviarmi più email promozionali, non sono "
            "interessata ai vostri prodotti.\n\nCordiali saluti,\nGiulia",
            "it",
        ),
        (
            "Hallo, ik wil graag geen nieuwsbrieven meer van jullie ontvangen. Ik heb me "
            "nooit aangemeld voor deze lijst.\n\nMet vriendelijke groet,\nSanne",
            "nl",
        ),
    ],
)
def test_a_longer_request_in_other_words_is_caught_in_each_language(body: str, lang: str) -> None:
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE
    assert result.suppresses
    assert any(f"({lang})" in e for e in result.evidence)


@pytest.mark.parametrize(
    "quote_head",
    [
        "On 3 Jun 2024, at 08:00, Shop News <news@shop.example.com> wrote:",
        "Shop News <news@shop.example.com> wrote:",
    ],
)
def test_a_question_right_above_the_attribution_is_the_writers_own(quote_head: str) -> None:
    """Joined with the attribution line below it, the question read as part of the
    attribution and was cut away with the quote: the empty rest then counted as a bare
    opt-out sent to the unsubscribe address."""
    body = (
        "Which plan includes the API? I cannot tell from the pricing page.\n"
        f"{quote_head}\n> This week at Shop...\n> Unsubscribe: https://shop.example.com/u/x\n"
    )
    extra = "Delivered-To: unsubscribe@shop.example.com\n"
    result = classify(mail(body, extra=extra))
    assert result.message_class is MessageClass.OTHER
    assert not result.suppresses


@pytest.mark.parametrize(
    "body",
    [
        "Thanks for your message. I'm on annual leave until Monday 17th June.",
        "Away until Monday 10 June, limited email access.",
        "Sono fuori sede fino al 28 giugno. Risponderò al mio rientro.",
    ],
)
def test_a_short_headerless_out_of_office_is_an_auto_reply(body: str) -> None:
    extra = "Delivered-To: unsubscribe@shop.example.com\n"
    result = classify(mail(body, subject="Weekly digest", extra=extra))
    assert result.message_class is MessageClass.AUTO_REPLY
    assert not result.suppresses


def test_a_negation_further_back_in_the_clause_still_negates() -> None:
    body = (
        "I never asked you to remove me from the list! Please add me back, I miss the "
        "recipes.\n\nNora"
    )
    result = classify(mail(body))
    assert result.message_class is not MessageClass.UNSUBSCRIBE
    assert not result.suppresses


def test_a_negation_in_an_earlier_clause_does_not_cancel_the_request() -> None:
    body = "I don't read these any more, please remove me from your list.\n\nThanks, Ed"
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE


@pytest.mark.parametrize(
    "body",
    [
        "Hi,\nWhere do I change my email preferences? I want the monthly summary only, "
        "I do not want to unsubscribe.\nThanks, Jane",
        "Hi,\nthe link to the webinar recording in your mail goes to an unsubscribe page "
        "instead. Could you send me the right link?\nJane",
    ],
)
def test_a_writers_question_that_reads_like_a_footer_is_no_bare_opt_out(body: str) -> None:
    """Lines holding "preferences" or "link" with an opt-out word are dropped as a
    footer; the short rest no longer counts as a bare opt-out sent to the address."""
    extra = "Delivered-To: unsubscribe@shop.example.com\n"
    result = classify(mail(body, extra=extra))
    assert result.message_class is MessageClass.OTHER
    assert not result.suppresses


def test_a_table_rule_in_the_writers_text_is_no_quote() -> None:
    body = (
        "Our order details:\n______________________________\nOrder 4411   2 x Tea   EUR 18\n"
        "______________________________\nYou charged my card twice, can you refund one of "
        "the payments?\nBob\n"
    )
    extra = "Delivered-To: unsubscribe@shop.example.com\n"
    result = classify(mail(body, extra=extra))
    assert result.message_class is MessageClass.OTHER


def test_a_newsletter_sent_to_the_inbox_is_machine_mail_not_an_opt_out() -> None:
    """It carries its own List-Unsubscribe: a mailing, whatever its subject says."""
    extra = (
        "List-Unsubscribe: <https://esp.example/unsubscribe?u=abc>\n"
        "List-Id: <offers.greenleaf.example>\n"
    )
    raw = mail(
        "Early bird tickets end tonight. Don't miss out!",
        subject="Stop scrolling: 50% off ends tonight",
        extra=extra,
    )
    result = classify(raw)
    assert result.message_class is not MessageClass.UNSUBSCRIBE
    assert result.machine
    assert not result.suppresses


@pytest.mark.parametrize(
    "head",
    [
        "差出人: Shop News <news@shop.example.com>\n送信日時: 2024年6月3日 8:00\n"
        "宛先: taro@example.jp\n件名: Weekly digest",
        "От: Shop News <news@shop.example.com>\nОтправлено: 3 июня 2024 г. 8:00\n"
        "Кому: ivan@example.ru\nТема: Weekly digest",
    ],
)
def test_outlook_reply_headers_in_japanese_and_russian_start_the_quote(head: str) -> None:
    body = (
        "Is there a version in my language?\n\n"
        f"{head}\n\nThis week at Shop...\n"
        "Do Not Sell or Share My Personal Information | Unsubscribe\n"
    )
    result = classify(mail(body))
    assert result.message_class is MessageClass.OTHER
    assert not result.privacy_kinds


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("Merci de supprimer mon compte et toutes mes données.", "erasure"),
        ("Bitte löschen Sie mein Konto und alle meine Daten.", "erasure"),
        ("Borren mi cuenta y todos mis datos, por favor.", "erasure"),
        ("Por favor, excluam minha conta e todos os meus dados.", "erasure"),
        ("Cancellate il mio account e tutti i miei dati", "erasure"),
        ("Verwijder alsjeblieft mijn account en al mijn gegevens.", "erasure"),
        ("Erase everything you have on me. GDPR.", "erasure"),
        ("Opt me out of the sale and sharing of my data.", "do_not_sell"),
        ("No vendan ni compartan mi información personal.", "do_not_sell"),
    ],
)
def test_a_short_privacy_request_is_one_not_a_plain_opt_out(body: str, kind: str) -> None:
    """An erasure or do-not-sell request has its own deadline and ops task; read as a
    plain opt-out it lost both."""
    result = classify(mail(body, subject="Re: Ihr Newsletter"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert kind in result.privacy_kinds
    assert result.privacy_optout


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("GDPR data deletion request", "erasure"),
        ("CCPA Request to Delete", "erasure"),
        ("DSAR - Bob Smith", "access"),
    ],
)
def test_a_privacy_request_named_in_the_subject_alone_is_one(subject: str, kind: str) -> None:
    result = classify(mail("Please process, see attached.", subject=subject))
    assert result.message_class is MessageClass.PRIVACY_REQUEST
    assert kind in result.privacy_kinds


def test_a_long_letter_ending_with_its_request_is_read() -> None:
    # intent was read on the first 20,000 characters only: this was a review item
    story = "We have been customers for many years and enjoyed the shop a lot.\n" * 350
    result = classify(mail(story + "\nThat is why I am writing: please remove me.\n"))
    assert len(story) > 22_000
    assert result.message_class is MessageClass.UNSUBSCRIBE
    one_line = "word " * 6_000  # no line break to cut at
    assert classify(mail(one_line + "please remove me")).message_class is MessageClass.UNSUBSCRIBE


def test_the_middle_of_a_long_paste_is_not_read() -> None:
    # the cost of a body stays bounded: a request lost in the middle of 60,000
    # characters is left to review
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 500
    result = classify(mail(filler + "please remove me\n" + filler))
    assert result.message_class is MessageClass.OTHER


@pytest.mark.parametrize(
    "body",
    [
        "Please stop sending the paper invoice to our old office, we moved.",
        "Could you stop mailing us printed catalogues? We read everything online.",
        "Please stop sending me text messages about deliveries.",
    ],
)
def test_a_request_to_stop_something_else_than_mail_is_read_by_a_person(body: str) -> None:
    # it was an opt-out of all promotional mail, which the writer never asked for
    result = classify(mail(body))
    assert result.message_class is MessageClass.OTHER
    assert any("something else than e-mail" in e for e in result.evidence)


@pytest.mark.parametrize(
    "body",
    [
        "Please stop sending me these newsletters and the paper catalogue.",
        "Please stop sending emails. Also stop sending the paper invoice to our old office.",
        "Stop sending me your spam.",
    ],
)
def test_a_request_naming_mail_stays_an_opt_out(body: str) -> None:
    result = classify(mail(body))
    assert result.message_class is MessageClass.UNSUBSCRIBE
