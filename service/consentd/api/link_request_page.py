"""`/preferences/link/<tenant id>` on the browser port: where a person with no link at hand asks
for their preference link by e-mail (app/link_requests.py). GET shows a form for an address;
POST answers the same words whether the address is a person of the tenant or not, before
anything is looked up, and the link is mailed afterwards to a known person only. Served with
the preference centre (CONSENTD_PREFERENCES), its address set (CONSENTD_PREFERENCES_URL) and an
SMTP relay. No key: the mailbox is the proof, as a double opt-in's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import structlog

from consentd.api.asgi import Receive, Scope, Send
from consentd.api.link_pages import (
    INVALID,
    LATER,
    admitted,
    answer,
    both,
    form_fields,
    page,
    said,
    tenant_named,
)
from consentd.app.link_requests import LinkRequests
from consentd.domain.errors import InvalidInput, ResourceExhausted
from consentd.domain.identifiers import normalise_email
from consentd.domain.tenancy import Tenant

log = structlog.get_logger("consentd.link_request_page")
PREFIX = "/preferences/link/"
_TITLE = ("Mes préférences de contact", "My contact preferences")
_ASK = said(
    "Indiquez votre adresse e-mail : si elle est connue, nous vous y envoyons un lien personnel "
    "vers vos préférences de contact.",
    "Give your e-mail address: if it is known, we send you a personal link to your contact "
    "preferences there.",
)
_FORM = (
    '<form method="post"><p><label for="email">'
    + both("Adresse e-mail", "E-mail address")
    + '</label><br><input id="email" name="email" type="email" required autocomplete="email" '
    'maxlength="320" style="font:inherit;padding:.3em;width:100%;max-width:22em;'
    'box-sizing:border-box"></p>'  # its padding inside: 334 px wide at 320 (probe ZD)
    '<p><button type="submit" style="font:inherit;padding:.4em .9em">'
    + both("Recevoir mon lien", "Send me my link")
    + "</button></p></form>"
)
_BAD = said(
    "Cette adresse e-mail n'est pas valable : vérifiez-la.",
    "This e-mail address is not valid: check it.",
)
_BUSY = said(
    "Trop de demandes en peu de temps : réessayez dans une minute.",
    "Too many requests in a short time: try again in a minute.",
)


def _sent(days: int) -> str:
    return said(
        "Si cette adresse est connue, un lien personnel vient d'y être envoyé (valable "
        f"{days} jours ; un seul envoi toutes les dix minutes). Rien n'arrive ? Vérifiez "
        "l'adresse et vos courriers indésirables.",
        "If this address is known, a personal link was just sent to it (it works for "
        f"{days} days; one message every ten minutes at most). Nothing came? Check the address "
        "and your spam folder.",
    )


class LinkRequestPage:
    prefix = PREFIX

    def __init__(
        self, requests: LinkRequests, tenant_exists: Callable[[UUID], Awaitable[bool]]
    ) -> None:
        self._requests = requests
        self._exists = tenant_exists  # the gate's cached look-up: a made-up id costs none

    async def serve(self, scope: Scope, receive: Receive, send: Send, rest: str) -> None:
        method = scope["method"]
        if (admitted_send := await admitted(method, send)) is None:
            return
        send = admitted_send
        try:
            tenant = await self._tenant(rest)
        except Exception as error:  # noqa: BLE001 - the database down: say so
            log.warning("link_request_failed", error=type(error).__name__)
            await answer(send, method, 503, page(_TITLE, LATER), [(b"retry-after", b"5")])
            return
        if tenant is None:
            await answer(send, method, 404, page(_TITLE, INVALID))
            return
        if method != "POST":
            await answer(send, method, 200, page(_TITLE, _ASK + _FORM, tenant.name))
            return
        status, body = await self._asked(scope, receive, tenant)
        later = [(b"retry-after", b"60")] if status == 429 else []  # the limits are a minute's
        await answer(send, method, status, page(_TITLE, body, tenant.name), later)

    async def _asked(self, scope: Scope, receive: Receive, tenant: Tenant) -> tuple[int, str]:
        """The answer to a POST of the form: the same for a known address or not."""
        fields = dict(await form_fields(scope, receive) or ())  # cut off or too large: none
        client = scope.get("client")
        try:
            self._requests.admit_client(client[0] if client else "")
            address = normalise_email(fields.get("email", "").strip())
            self._requests.admit(tenant)  # a made-up address spends nothing of the tenant's
        except ResourceExhausted:
            return 429, _BUSY
        except InvalidInput:
            return 400, _BAD + _FORM
        self._requests.ask(tenant, address)
        return 200, _sent(self._requests.days)

    async def _tenant(self, rest: str) -> Tenant | None:
        """The tenant the path names, in its one spelling, not purged."""
        tenant_id = await tenant_named(rest, self._exists)
        return await self._requests.tenant(tenant_id) if tenant_id else None
