"""What the thirteenth to sixteenth probes (tests/probes/replies-13 … replies-16) missed,
read now. The texts are written for these tests in the probes' shapes. Thirteenth: near
misses and padded requests in the seven languages, and a threat ("one more mail like
this and I unsubscribe") that asks for nothing yet. Fourteenth: machine mail to the
mailbox, and a person whose words look like an out-of-office. Fifteenth: English idioms
of eight countries, an order's delivery, another sender's list. Sixteenth: padded
French, Spanish, Portuguese and Italian, and a how-to question asked "just in case".
"""

from __future__ import annotations

import pytest

from tests.unit.test_classify_more_languages import mail
from worker.core.classify import MessageClass, classify


@pytest.mark.parametrize(
    "body",
    [
        "Dear Sir or Madam,\n\nplease could you very kindly take my e-mail address off your "
        "weekly mailing list. I get far more post than I can read.\n\nMargaret",
        "After the way my last order was handled I no longer wish to hear from Example News "
        "in any form.\n\nP. Lindqvist",
        "Hi there, I'm cleaning up my inbox before the new year. Could you drop me from your "
        "list? No hard feelings, I just get too much email. Owen",
        "Os escribo por dos cosas. La primera, un pedido pendiente. La segunda: ya no voy a "
        "comprar más, así que por favor, borradme de vuestra lista de correo.",
        "Guten Tag,\n\nbitte ab sofort keine weiteren Newsletter oder Werbemails mehr an "
        "diese Adresse senden.\n\nDanke\nW. Richter",
        "Hallo, ich habe leider kein Interesse mehr an Ihren Angeboten. Nehmen Sie mich "
        "daher bitte aus Ihrem E-Mail-Verteiler. Vielen Dank, Sabine Lorenz",
        "Ciao, sinceramente preferirei non ricevere più le vostre email: potete togliermi "
        "dalla lista? Grazie, Chiara",
        "Gentile redazione, ho chiuso la mia attività e vi chiedo gentilmente di cancellare "
        "il mio indirizzo dalla vostra mailing list. Sergio",
        "Hoi, kunnen jullie mij even van de verzendlijst halen? Groetjes, Sanne",
        # sixteenth probe: padded French, Spanish, Portuguese and Italian
        "Bonjour, pourriez-vous, s'il vous plaît, et ce dès aujourd'hui, supprimer mon "
        "adresse e-mail de toutes vos listes d'envoi ? Merci d'avance. Christophe",
        "Arretez de m'ecrire svp\n\nEnvoyé de mon iPhone",
        "Les agradecería que, a la mayor brevedad posible, me dieran de baja de su lista de "
        "distribución. Atentamente, Laura",
        "Sacame ya mismo de esta lista, che, que me llegan tres mails por semana.",
        "Chega de e-mails, pelo amor de Deus!",
        "Buongiorno, potreste, per cortesia e con effetto immediato, togliere il mio "
        "indirizzo e-mail dalla vostra lista di invio? Grazie mille, Chiara",
        # fifteenth probe: English idioms
        "Do not contact me again.\n\nR. Delgado",
        "I want out. Three emails in one week is too many. Cheers, Mick",
        "Respected Sir/Madam, I request you to kindly unsubscribe my email id from your "
        "newsletter. I am getting mails every week. Please do the needful. Thanks & Regards, "
        "Anjali",
        "Please I am not interested in this newsletter again, remove my mail from your list. "
        "Thank you.",
    ],
)
def test_these_requests_are_opt_outs(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        'Nog een zo\'n mail met "OP=OP!!!" in de onderwerpregel en ik schrijf me uit. Ik wil '
        "nieuws, geen schreeuwerige reclame.",
        "Noch so eine Mail und ich melde mich ab. Ich will Nachrichten, keine Werbung.",
        "Kunnen jullie mij van het station halen? De trein is vertraagd.",
        "Ich bekomme keine weiteren Newsletter mehr, danke, das hat geklappt.",
        # sixteenth probe: a how-to question, just in case
        "Bonjour, comment faire pour me désabonner, au cas où ? Je ne vois pas de lien sur "
        "la version mobile. Pour l'instant je la garde, elle m'intéresse. Martine",
        # fifteenth probe: an order's delivery; another sender's list
        "Hi, please stop the delivery for tomorrow, I'm not home until Friday. Order number "
        "EX-48812. Can it go to the post office instead? Thanks, Leanne",
        'Hi - I keep getting emails from something called "Example Deals" that claim to be a '
        "partner of yours. I've unsubscribed from them twice and they keep coming. Are they "
        "anything to do with you? Your own newsletter I'm happy with. Rachel",
    ],
)
def test_these_are_not(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is not MessageClass.UNSUBSCRIBE, result.evidence


def test_a_request_after_a_sentence_that_opens_like_a_threat_is_one() -> None:
    # "Noch eine Frage" opens the next sentence: the request before it stands
    result = classify(mail("Bitte tragen Sie mich aus. Noch eine Frage: wann kommt die "
                           "Rechnung?", "Re: Example News"))  # fmt: skip
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


# -- the fourteenth probe (tests/probes/replies-14: machine mail to the mailbox) -------


def test_a_person_away_who_asks_to_leave_is_read() -> None:
    body = (
        "Estoy fuera de la oficina hasta el lunes y lo miro desde el móvil, pero aprovecho: "
        "dadme de baja de Example News, por favor. Gracias.\n\nAndrés"
    )
    result = classify(mail(body, "RE: Example News"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


@pytest.mark.parametrize(
    "body",
    [
        # out-of-office words only, and the writer's own text names unsubscribing in no
        # phrase read as a request: a person looks, it is not filed away unseen
        "Je suis absent jusqu'au 3 décembre. Pour la désinscription, voir avec Paul.",
        "Sono fuori ufficio fino a lunedì. Per la disiscrizione scrivete a Paolo.",
    ],
)
def test_away_words_that_name_unsubscribing_go_to_a_person(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.OTHER, result.evidence
    assert "a person reads it" in result.evidence[0]


@pytest.mark.parametrize(
    "body",
    [
        "I am out of the office until Monday with limited access to email.",
        # a generic verb is no word of unsubscribing: "stop" the shipments
        "Sono fuori ufficio fino a lunedì. Stop alle spedizioni fino al mio rientro.",
        "Thanks for your message. I'm on annual leave until Monday 17th June.",
    ],
)
def test_away_words_alone_stay_an_auto_reply(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.AUTO_REPLY, result.evidence


def test_opted_out_of_ours_and_still_getting_it_asks_again() -> None:
    body = "I've unsubscribed twice already and I still get these every week. Why?"
    result = classify(mail(body, "Re: Example News"))
    assert result.message_class is MessageClass.UNSUBSCRIBE, result.evidence


# -- the seventeenth probe (tests/probes/replies-17: privacy letters and near misses) ---


@pytest.mark.parametrize(
    "body",
    [
        # a question about a rule, nobody's own data named
        "I'm writing an article on small publishers. Does the California 'do not sell or "
        "share' rule apply to you, and how many erasure requests do you get?",
        # the writer says it is no request of theirs
        "Your privacy policy's heading says 'Do not sell or share my personal information' "
        "but the text never says whether you sell anything. This isn't a request about my "
        "own data, just a note that the wording is muddled.",
        "Votre dossier explique que le droit à l'oubli permet de demander l'effacement de "
        "ses données. Cela vaut-il aussi pour les archives ? C'est surtout par curiosité.",
    ],
)
def test_privacy_words_discussed_stop_nothing(body: str) -> None:
    result = classify(mail(body, "Re: Example News"))
    assert not result.suppresses, result.evidence


def test_rights_a_template_reserves_are_not_exercised() -> None:
    body = (
        "I hereby request a copy of the personal data you hold about me under Article 15 "
        "GDPR. This request is without prejudice to my right to rectification, my right to "
        "erasure and my right to object, which I reserve."
    )
    result = classify(mail(body, "Subject access request"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST, result.evidence
    assert not result.suppresses, result.evidence
    assert result.privacy_kinds[0] == "access"


def test_a_plain_erasure_request_still_stops_the_marketing() -> None:
    body = "Please delete all the personal data you hold about me and stop emailing me."
    result = classify(mail(body, "Delete my data"))
    assert result.message_class is MessageClass.PRIVACY_REQUEST, result.evidence
    assert result.suppresses
