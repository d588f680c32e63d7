"""The texts of the messages the notifiers send, in French and English (plain text: no remote
images, no tracking). Each function returns (subject, body)."""

from __future__ import annotations

from datetime import datetime, timedelta

from consentd.domain.months import LEGAL_ZONE
from consentd.domain.rights import CODE_TTL

_CONFIRMATION = {
    "fr": (
        "Confirmez votre accord – {tenant}",
        "Bonjour,\n\n"
        "Vous avez accepté de recevoir de la part de {tenant} : {purposes}.\n"
        "Pour confirmer cet accord, {action}\n\n"
        "{once} et expire le {expires}. Sans confirmation, rien "
        "ne vous sera envoyé.\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n",
        "ouvrez ce lien :\n{link}",
        "saisissez ce code dans votre espace de préférences :\n{token}",
        ("Ce lien ne sert qu'une fois", "Ce code ne sert qu'une fois"),
    ),
    "en": (
        "Please confirm your consent – {tenant}",
        "Hello,\n\n"
        "You agreed to receive from {tenant}: {purposes}.\n"
        "To confirm, {action}\n\n"
        "{once} and expires on {expires}. Until you confirm, nothing "
        "will be sent to you.\n"
        "If you did not ask for this, please ignore this message.\n",
        "open this link:\n{link}",
        "enter this code in your preference centre:\n{token}",
        ("This link works once", "This code works once"),
    ),
}

# How a purpose asked for another channel than the mail's own is named in it: an e-mail click
# on "Newsletter" lifted an SMS STOP, the mail naming no channel (probe DI).
CHANNEL_WORDS = {
    "fr": {
        "sms": "par SMS",
        "voice_call": "par téléphone",
        "chat": "par messagerie",
        "social": "sur les réseaux sociaux",
        "postal": "par courrier",
        "push": "par notification",
        "*": "par tous les canaux",
    },
    "en": {
        "sms": "by text message",
        "voice_call": "by phone",
        "chat": "by chat",
        "social": "on social networks",
        "postal": "by post",
        "push": "by push notification",
        "*": "on every channel",
    },
}


def local_time(moment: datetime, language: str) -> str:
    """A time as the person reads it: in Paris, where the deadlines are counted, saying so (in
    UTC, 28 February 23:30 was already 1 March there; probe HG)."""
    local = moment.astimezone(LEGAL_ZONE)
    if language == "en":
        return local.strftime("%Y-%m-%d %H:%M (Paris time)")
    return local.strftime("%d/%m/%Y à %H:%M (heure de Paris)")


def purpose_named(language: str, name: str, channel: str) -> str:
    """A purpose's name in a confirmation, with its channel unless e-mail (the mail's own)."""
    words = CHANNEL_WORDS.get(language, CHANNEL_WORDS["fr"]).get(channel)
    return f"{name} ({words})" if words else name


_CODE = {
    "fr": (
        "Votre code de vérification – {tenant}",
        "Bonjour,\n\n"
        "Pour vérifier votre identité dans le cadre de votre demande concernant vos données "
        "personnelles (référence {reference}), saisissez ce code : {code}\n\n"
        "Il est valable {hours} heures ; cinq essais erronés bloquent la demande.\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n",
    ),
    "en": (
        "Your verification code – {tenant}",
        "Hello,\n\n"
        "To verify your identity for your request about your personal data (reference "
        "{reference}), enter this code: {code}\n\n"
        "It is valid for {hours} hours; five wrong tries lock the request.\n\n"
        "If you did not make this request, please ignore this message.\n",
    ),
}


def confirmation_text(
    language: str,
    tenant: str,
    *,
    purposes: tuple[tuple[str, str], ...],
    link: str,
    token: str,
    expires_at: datetime,
) -> tuple[str, str]:
    """A link when CONSENTD_CONFIRM_URL is set, else the token as a code (and the message says
    which one works once: it said "this link" with no link)."""
    subject, body, with_link, with_token, once = _CONFIRMATION.get(language, _CONFIRMATION["fr"])
    action = with_link.format(link=link) if link else with_token.format(token=token)
    return subject.format(tenant=tenant), body.format(
        tenant=tenant,
        purposes=", ".join(purpose_named(language, name, channel) for name, channel in purposes),
        action=action,
        once=once[0] if link else once[1],
        expires=local_time(expires_at, language),
    )


def code_text(language: str, tenant: str, code: str, reference: str) -> tuple[str, str]:
    """`reference`: the request's, as the preference centre and the DPO show it (the first 8
    characters of its id): six requests mailed six identical messages."""
    subject, body = _CODE.get(language, _CODE["fr"])
    hours = CODE_TTL // timedelta(hours=1)  # how long it serves (probe HD: the mail said not)
    return subject.format(tenant=tenant), body.format(code=code, reference=reference, hours=hours)


_DECISION = {
    "fr": {
        "extended": (
            "Votre demande (référence {reference}) – délai prolongé – {tenant}",
            "Bonjour,\n\n"
            "Le délai de réponse à votre demande concernant vos données personnelles (référence "
            "{reference}) est prolongé jusqu'au {due}, pour la raison suivante : "
            "{reason}\n",
        ),
        "refused": (
            "Votre demande (référence {reference}) – {tenant}",
            "Bonjour,\n\n"
            "Votre demande concernant vos données personnelles (référence {reference}) ne peut "
            "pas être satisfaite, pour la raison suivante : {reason}\n\n"
            "Vous pouvez introduire une réclamation auprès de la CNIL (autorité de contrôle) "
            "et former un recours juridictionnel.\n",
        ),
    },
    "en": {
        "extended": (
            "Your request (reference {reference}) – deadline extended – {tenant}",
            "Hello,\n\n"
            "The deadline to answer your request about your personal data (reference "
            "{reference}) is extended to {due}, for this reason: {reason}\n",
        ),
        "refused": (
            "Your request (reference {reference}) – {tenant}",
            "Hello,\n\n"
            "Your request about your personal data (reference {reference}) cannot be granted, "
            "for this reason: {reason}\n\n"
            "You may lodge a complaint with a supervisory authority (in France, the CNIL) and "
            "seek a judicial remedy.\n",
        ),
    },
}


def decision_text(
    language: str, tenant: str, what: str, *, reference: str, reason: str, due: datetime | None
) -> tuple[str, str]:
    """What a rights request's extension or refusal tells the person (GDPR art. 12(3) and
    12(4): the reasons, and for a refusal the right to complain); `what`: extended, refused."""
    subject, body = _DECISION.get(language, _DECISION["fr"])[what]
    when = local_time(due, language) if due else ""
    return subject.format(tenant=tenant, reference=reference), body.format(
        reference=reference, reason=reason, due=when
    )


_LINK = {
    "fr": (
        "Vos préférences de contact – {tenant}",
        "Bonjour,\n\n"
        "Vous avez demandé à gérer vos préférences de contact auprès de {tenant}. Ouvrez ce lien "
        ":\n{link}\n\n"
        "Il vous est personnel (ne le transférez pas) et reste valable jusqu'au {expires}.\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne change.\n",
    ),
    "en": (
        "Your contact preferences – {tenant}",
        "Hello,\n\n"
        "You asked to manage your contact preferences with {tenant}. Open this link:\n{link}\n\n"
        "It is yours alone (do not forward it) and works until {expires}.\n"
        "If you did not ask for this, please ignore this message: nothing changes.\n",
    ),
}


def link_text(language: str, tenant: str, link: str, expires: datetime) -> tuple[str, str]:
    """The message carrying a person's preference link, which they asked for on the page."""
    subject, body = _LINK.get(language, _LINK["fr"])
    when = local_time(expires, language)
    return subject.format(tenant=tenant), body.format(tenant=tenant, link=link, expires=when)
