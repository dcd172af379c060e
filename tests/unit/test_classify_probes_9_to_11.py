"""What the ninth to eleventh probes (tests/probes/replies-9 … replies-11) missed, read now.

Texts here are written for these tests in the probes' shapes. Ninth: a request only in
the subject over a body that is nothing but a signature; polite first-person phrases;
one-word requests with a typo; "thanks, unsubscribing worked" beside the bare word.
Tenth: a LISTSERV command above a signature, Dutch and German requests with a
politeness word inside, and an Outlook message recall, which its client sends whatever
the recalled message asked. Eleventh: angry German demands with a word inside the
phrase, and a subject naming the unsubscribe link over a body that wants to stay.
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        # ninth probe
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
        # tenth probe
        ("SIGNOFF EXAMPLE-NEWS\n\n-- \nDr. Ada Park\nDepartment of Chemistry", "signoff"),
        ("Hallo,\n\nschrijf me alsjeblieft uit, ik lees hem toch nooit.\n\nDaan", "Re: Week 48"),
        ("Meld mij alstublieft af voor deze nieuwsbrief.", "Re: Nieuwsbrief"),
        ("Sehr geehrte Damen und Herren,\ntragen Sie mich bitte aus Ihrem Verteiler aus.",
         "AW: Ausgabe 48"),
        # a person who writes beside the recall's words is read as a person
        ("I would like to recall the message I sent yesterday. Please unsubscribe me "
         "instead.\nThanks, Laura", "Re: Weekly news"),
        # eleventh probe
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
        # ninth probe
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
        # eleventh probe: a wish to stay beside the bare word
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
