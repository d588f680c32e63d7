"""Text messages to a person's phone, through the operator's HTTP SMS gateway: a rights request's
one-time code, and the notice of its extension or refusal with the reason (a person known by
phone only could not verify a request, nor be told).

The gateway contract is one JSON POST per message to CONSENTD_SMS_GATEWAY_URL:
`{"to": "+33612345678", "from": <CONSENTD_SMS_SENDER>, "text": "...", "reference": "<id>"}`
with `Authorization: Bearer <CONSENTD_SMS_GATEWAY_TOKEN>` when a token is set; any 2xx answer
means accepted. Providers differ, so a small adapter in front of the provider's own API is the
operator's (docs/privacy-operations.md). notifiers.py logs that a message went, never the
number, the code or the gateway's answer.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import httpx

from consentd.config_values import SmsGateway
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.rights import CODE_TTL, RequestState, RightsRequest
from consentd.domain.tenancy import Tenant
from consentd.notify_templates import local_time

# The send happens inside the call, after its commit (as SMTP_TIMEOUT).
SMS_TIMEOUT = 10.0

_CODE = {
    "fr": "{tenant} : votre code de vérification est {code} (demande {reference}, valable "
    "{hours} h). Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.",
    "en": "{tenant}: your verification code is {code} (request {reference}, valid {hours} h). "
    "If you did not make this request, please ignore this message.",
}
_DECISION = {
    "fr": {
        "extended": "{tenant} : le délai de réponse à votre demande {reference} est prolongé "
        "jusqu'au {due}. Motif : {reason}",
        "refused": "{tenant} : votre demande {reference} ne peut pas être satisfaite. Motif : "
        "{reason}. Vous pouvez saisir la CNIL et former un recours juridictionnel.",
    },
    "en": {
        "extended": "{tenant}: the answer to your request {reference} is extended until {due}. "
        "Reason: {reason}",
        "refused": "{tenant}: your request {reference} cannot be met. Reason: {reason}. You may "
        "complain to the CNIL (the supervisory authority) and seek a judicial remedy.",
    },
}


class SmsGatewayError(Exception):
    """The gateway did not accept the message (its status only: never its body)."""


class SmsNotifier:
    """Codes and decisions to phone numbers. Raises SmsGatewayError (refused, unreachable)."""

    def __init__(self, gateway: SmsGateway, language: str = "fr") -> None:
        self._gateway = gateway
        self._language = language if language in _CODE else "fr"

    def delivers(self, kind: IdentifierKind) -> bool:
        return kind is IdentifierKind.PHONE

    async def send_code(self, tenant: Tenant, request_id: UUID, to: Identifier, code: str) -> None:
        reference = str(request_id)[:8]
        hours = CODE_TTL // timedelta(hours=1)
        text = _CODE[self._language].format(
            tenant=tenant.name, code=code, reference=reference, hours=hours
        )
        await self._send(to, text, str(request_id))

    async def send_decision(self, tenant: Tenant, request: RightsRequest, to: Identifier) -> None:
        what = "refused" if request.state is RequestState.REFUSED else "extended"
        due = local_time(request.extended_due_at, self._language) if request.extended_due_at else ""
        text = _DECISION[self._language][what].format(
            tenant=tenant.name,
            reference=str(request.request_id)[:8],
            due=due,
            reason=request.outcome if what == "refused" else request.extension_reason,
        )
        await self._send(to, text, str(request.request_id))

    async def _send(self, to: Identifier, text: str, reference: str) -> None:
        gateway = self._gateway
        headers = {"Authorization": f"Bearer {gateway.token}"} if gateway.token else {}
        message = {"to": to.value, "from": gateway.sender, "text": text, "reference": reference}
        # SMS_TIMEOUT for the whole exchange (httpx's bounds each read: a gateway trickling a
        # byte every 9 s held a call 40 s; probe AR), and the status alone: the answer's body
        # is never read (a 2 GB one took the process to 2.3 GB).
        try:
            async with (
                asyncio.timeout(SMS_TIMEOUT),
                httpx.AsyncClient(timeout=SMS_TIMEOUT, follow_redirects=False) as client,
                client.stream("POST", gateway.url, json=message, headers=headers) as answer,
            ):
                status = answer.status_code
        except (httpx.HTTPError, TimeoutError) as error:
            unreachable = f"the SMS gateway is unreachable ({type(error).__name__})"
            raise SmsGatewayError(unreachable) from None
        if not 200 <= status < 300:
            raise SmsGatewayError(f"the SMS gateway answered {status}")
