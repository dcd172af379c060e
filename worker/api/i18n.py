"""The link pages' words in English, Spanish, French and German.

The language comes from the mail client's ``Accept-Language``; the page is what a person
sees after clicking "unsubscribe", so it should read in their language where we have it,
and fall back to English otherwise.
"""

from __future__ import annotations

EN = {
    "title": "Unsubscribe",
    "intro": "Choose which email {address} should stop receiving.",
    "this": "Unsubscribe from {category}",
    "all": "Unsubscribe from all promotional email",
    "also": "Also unsubscribe from:",
    "confirm": "Confirm",
    "account": (
        "Account email continues: you will still receive password resets, receipts and "
        "security notices."
    ),
    "already": "Already unsubscribed from: {names}.",
    "done_title": "You are unsubscribed",
    "done": "{address} will no longer receive {what}. This has taken effect now.",
    "what_all": "promotional email from us",
    "invalid_title": "This link is not valid",
    "invalid": (
        "The unsubscribe link is incomplete or was changed. Please use the link from the "
        "email exactly as it is, or reply to the email with the word unsubscribe."
    ),
    "expired": (
        "This unsubscribe link has expired. Please use the link in a more recent email, or "
        "reply to the email with the word unsubscribe."
    ),
    "bad_form": "The form was not understood. Please go back and choose again.",
    "unavailable_title": "Please try again",
    "unavailable": "We could not record your request just now. Please try again in a minute.",
}

ES = {
    "title": "Cancelar suscripción",
    "intro": "Elija qué correos debe dejar de recibir {address}.",
    "this": "Cancelar la suscripción a {category}",
    "all": "Cancelar todos los correos promocionales",
    "also": "Cancelar también:",
    "confirm": "Confirmar",
    "account": (
        "Los correos de su cuenta continúan: seguirá recibiendo restablecimientos de "
        "contraseña, recibos y avisos de seguridad."
    ),
    "already": "Ya cancelado: {names}.",
    "done_title": "Su suscripción está cancelada",
    "done": "{address} ya no recibirá {what}. El cambio ya es efectivo.",
    "what_all": "correos promocionales nuestros",
    "invalid_title": "Este enlace no es válido",
    "invalid": (
        "El enlace está incompleto o fue modificado. Use el enlace del correo tal como está, "
        "o responda al correo con la palabra unsubscribe."
    ),
    "expired": (
        "Este enlace ha caducado. Use el enlace de un correo más reciente, o responda al "
        "correo con la palabra unsubscribe."
    ),
    "bad_form": "No se entendió el formulario. Vuelva atrás y elija de nuevo.",
    "unavailable_title": "Inténtelo de nuevo",
    "unavailable": "No pudimos registrar su solicitud ahora. Inténtelo de nuevo en un minuto.",
}

FR = {
    "title": "Se désabonner",
    "intro": "Choisissez les e-mails que {address} ne doit plus recevoir.",
    "this": "Se désabonner de {category}",
    "all": "Se désabonner de tous les e-mails promotionnels",
    "also": "Se désabonner aussi de :",
    "confirm": "Confirmer",
    "account": (
        "Les e-mails liés à votre compte continuent : vous recevrez toujours les "
        "réinitialisations de mot de passe, les reçus et les alertes de sécurité."
    ),
    "already": "Déjà désabonné de : {names}.",
    "done_title": "Vous êtes désabonné",
    "done": "{address} ne recevra plus {what}. C'est effectif dès maintenant.",
    "what_all": "nos e-mails promotionnels",
    "invalid_title": "Ce lien n'est pas valide",
    "invalid": (
        "Le lien de désabonnement est incomplet ou a été modifié. Utilisez le lien de "
        "l'e-mail tel quel, ou répondez à l'e-mail avec le mot unsubscribe."
    ),
    "expired": (
        "Ce lien de désabonnement a expiré. Utilisez le lien d'un e-mail plus récent, ou "
        "répondez à l'e-mail avec le mot unsubscribe."
    ),
    "bad_form": "Le formulaire n'a pas été compris. Revenez en arrière et choisissez à nouveau.",
    "unavailable_title": "Veuillez réessayer",
    "unavailable": "Nous n'avons pas pu enregistrer votre demande. Réessayez dans une minute.",
}

DE = {
    "title": "Abmelden",
    "intro": "Wählen Sie, welche E-Mails {address} nicht mehr erhalten soll.",
    "this": "Von {category} abmelden",
    "all": "Von allen Werbe-E-Mails abmelden",
    "also": "Außerdem abmelden von:",
    "confirm": "Bestätigen",
    "account": (
        "E-Mails zu Ihrem Konto gehen weiter: Sie erhalten weiterhin Passwort-Zurücksetzungen, "
        "Belege und Sicherheitshinweise."
    ),
    "already": "Bereits abgemeldet von: {names}.",
    "done_title": "Sie sind abgemeldet",
    "done": "{address} erhält keine {what} mehr. Das gilt ab sofort.",
    "what_all": "Werbe-E-Mails von uns",
    "invalid_title": "Dieser Link ist ungültig",
    "invalid": (
        "Der Abmeldelink ist unvollständig oder wurde verändert. Bitte verwenden Sie den Link "
        "aus der E-Mail unverändert, oder antworten Sie auf die E-Mail mit dem Wort unsubscribe."
    ),
    "expired": (
        "Dieser Abmeldelink ist abgelaufen. Bitte verwenden Sie den Link aus einer neueren "
        "E-Mail, oder antworten Sie auf die E-Mail mit dem Wort unsubscribe."
    ),
    "bad_form": "Das Formular wurde nicht verstanden. Bitte gehen Sie zurück und wählen Sie neu.",
    "unavailable_title": "Bitte versuchen Sie es erneut",
    "unavailable": "Ihre Anfrage konnte gerade nicht gespeichert werden. Bitte gleich erneut.",
}

LANGUAGES: dict[str, dict[str, str]] = {"en": EN, "es": ES, "fr": FR, "de": DE}
DEFAULT = "en"


def pick_language(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (RFC 9110 q-values)."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, index, primary))
    return min(ranked)[2] if ranked else DEFAULT


def words(lang: str) -> dict[str, str]:
    return LANGUAGES.get(lang, EN)
