"""Notifier adapters: how a rights request's one-time code reaches the person.

Sending email or SMS belongs to the tenant's own providers; until one is plugged in through
`bootstrap(..., notifier=...)`, LogNotifier records that a code was issued (the request and
tenant, never the code or the address) and operators confirm identities by attestation.
"""

from __future__ import annotations

from uuid import UUID

import structlog

from consentd.domain.identifiers import Identifier
from consentd.domain.tenancy import Tenant

log = structlog.get_logger("consentd.notify")


class LogNotifier:
    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None:
        log.info(
            "verification_code_issued",
            tenant=tenant.slug,
            request_id=str(request_id),
            channel=contact.kind.value,
            delivered=False,
        )
