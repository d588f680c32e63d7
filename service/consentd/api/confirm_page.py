"""`/confirm/<tenant id>/<token>` on the browser port: the page a double opt-in message links to
when CONSENTD_CONFIRM_URL points here (`https://consent.example.fr/confirm/{tenant}/{token}`),
for people with no portal token (a newsletter sign-up). GET shows what the link confirms and a
button, and changes nothing (mail scanners follow links); POST confirms, as ConfirmConsent with
the token does (app/confirmation_links.py). No key: the token is the credential."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from uuid import UUID

import structlog

from consentd.api.asgi import Receive, Scope, Send
from consentd.api.link_pages import (
    BY,
    INVALID,
    LATER,
    NOT_VALID,
    UNAVAILABLE,
    admitted,
    answer,
    both,
    evidence,
    page,
    said,
    tenant_named,
)
from consentd.app.confirmation_links import ConfirmationLinks, Opening, Standing
from consentd.domain.model import Channel

log = structlog.get_logger("consentd.confirm_page")
PREFIX = "/confirm/"
_LABEL = "confirmation link"
_TITLE = ("Confirmation", "Confirmation")
_DOWN = page(_TITLE, LATER, state=UNAVAILABLE)
_ENDED = {
    Standing.CONFIRMED: said(
        "C'est confirmé, merci. Vous pouvez retirer ce consentement à tout moment.",
        "Confirmed, thank you. You can withdraw this consent at any time.",
    ),
    Standing.USED: said("Ce lien a déjà été utilisé.", "This link was used already."),
    Standing.SUPERSEDED: said(
        "Un lien plus récent vous a été envoyé : suivez le dernier reçu.",
        "A newer link was sent to you: follow the latest one.",
    ),
    Standing.EXPIRED: said(
        "Ce lien a expiré : rien n'a été confirmé. Inscrivez-vous à nouveau pour en recevoir un.",
        "This link has expired: nothing was confirmed. Sign up again to get a new one.",
    ),
    Standing.ENDED: said(
        "Ce lien ne peut plus rien confirmer : un refus ou un changement enregistré l'emporte.",
        "This link can no longer confirm anything: a refusal or a change on record prevails.",
    ),
}


def _named(name: str, channel: Channel) -> tuple[str, str]:
    what = html.escape(name)
    fr, en = BY.get(channel, ("", ""))
    return f"« {what} » {fr}".rstrip(), f"“{what}” {en}".rstrip()


def _ask(opening: Opening) -> str:
    named = [_named(name, channel) for name, channel in opening.asks]
    items = "".join(f"<li>{both(fr, en)}</li>" for fr, en in named)
    confirm = both("Je confirme", "I confirm")
    return (
        said("Confirmez-vous vouloir recevoir :", "Do you confirm you wish to receive:")
        + f"<ul>{items}</ul>"
        + f'<form method="post"><button type="submit">{confirm}</button></form>'
        + said(
            "Sinon, ignorez ce message : rien ne sera envoyé.",
            "If not, ignore this message: nothing will be sent.",
        )
    )


class ConfirmPage:
    prefix = PREFIX

    def __init__(
        self, links: ConfirmationLinks, tenant_exists: Callable[[UUID], Awaitable[bool]]
    ) -> None:
        """`tenant_exists`: the gate's cached look-up (a made-up tenant id cost database
        transactions at every request, with no key; probe IE)."""
        self._links = links
        self._exists = tenant_exists

    async def serve(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        method = scope["method"]
        # The button's form says nothing: it is not read (nor waited for).
        if (admitted_send := await admitted(method, send)) is None:
            return
        send = admitted_send
        tenant, _, token = rest.partition("/")
        try:
            tenant_id = await tenant_named(tenant, self._exists)
            opening = await self._links.opened(tenant_id, token) if tenant_id else None
            standing = opening.standing if opening is not None else None
            if opening is not None and standing is not None and method == "POST":
                if standing is Standing.USABLE:
                    standing = await self._links.follow(opening, evidence(scope, _LABEL))
                # What an operator counts, every click (never the token nor the person).
                whose = opening.principal.tenant.slug
                log.info("confirmation_link_followed", outcome=standing.value, tenant=whose)
        except Exception as error:  # noqa: BLE001 - the database down: say so, the link stays good
            log.warning("confirmation_page_failed", error=type(error).__name__)
            await answer(send, method, 503, _DOWN, [(b"retry-after", b"5")])
            return
        if opening is None or standing is None:
            await answer(send, method, 404, page(_TITLE, INVALID, state=NOT_VALID))
            return
        body = _ask(opening) if standing is Standing.USABLE else _ENDED[standing]
        await answer(send, method, 200, page(_TITLE, body, opening.principal.tenant.name))
