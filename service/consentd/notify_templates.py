"""The texts of the messages the notifiers send, in French and English (plain text: no remote
images, no tracking). Each function returns (subject, body)."""

from __future__ import annotations

from datetime import datetime

_CONFIRMATION = {
    "fr": (
        "Confirmez votre accord – {tenant}",
        "Bonjour,\n\n"
        "Vous avez accepté de recevoir de la part de {tenant} : {purposes}.\n"
        "Pour confirmer cet accord, {action}\n\n"
        "Ce lien ne sert qu'une fois et expire le {expires} (UTC). Sans confirmation, rien "
        "ne vous sera envoyé.\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n",
        "ouvrez ce lien :\n{link}",
        "saisissez ce code dans votre espace de préférences :\n{token}",
    ),
    "en": (
        "Please confirm your consent – {tenant}",
        "Hello,\n\n"
        "You agreed to receive from {tenant}: {purposes}.\n"
        "To confirm, {action}\n\n"
        "This link works once and expires on {expires} (UTC). Until you confirm, nothing "
        "will be sent to you.\n"
        "If you did not ask for this, please ignore this message.\n",
        "open this link:\n{link}",
        "enter this code in your preference centre:\n{token}",
    ),
}

_CODE = {
    "fr": (
        "Votre code de vérification – {tenant}",
        "Bonjour,\n\n"
        "Pour vérifier votre identité dans le cadre de votre demande concernant vos données "
        "personnelles (référence {reference}), saisissez ce code : {code}\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n",
    ),
    "en": (
        "Your verification code – {tenant}",
        "Hello,\n\n"
        "To verify your identity for your request about your personal data (reference "
        "{reference}), enter this code: {code}\n\n"
        "If you did not make this request, please ignore this message.\n",
    ),
}


def confirmation_text(
    language: str,
    tenant: str,
    *,
    purposes: tuple[str, ...],
    link: str,
    token: str,
    expires_at: datetime,
) -> tuple[str, str]:
    subject, body, with_link, with_token = _CONFIRMATION.get(language, _CONFIRMATION["fr"])
    action = with_link.format(link=link) if link else with_token.format(token=token)
    return subject.format(tenant=tenant), body.format(
        tenant=tenant,
        purposes=", ".join(purposes),
        action=action,
        expires=expires_at.strftime("%Y-%m-%d %H:%M"),
    )


def code_text(language: str, tenant: str, code: str, reference: str) -> tuple[str, str]:
    """`reference`: the request's, as the preference centre and the DPO show it (the first 8
    characters of its id): six requests mailed six identical messages."""
    subject, body = _CODE.get(language, _CODE["fr"])
    return subject.format(tenant=tenant), body.format(code=code, reference=reference)
