"""What the preference centre needs on the browser port, beside api/browser.py's reads: a
person's own writes (RecordConsent, WithdrawConsent, ConfirmConsent, SubmitRightsRequest and
ExportSubject)
and the catalogue (purpose names, notice texts), over Connect.

The same servicers behind the same BrowserGate: scopes (api/authorization.py: a portal token,
`subject:self`, may withdraw, confirm and file only for its own person, guarded by the use
cases), origins (a cross-origin page only with the tenant's allowed origins and a page
credential), rate limits and idempotency keys apply exactly as on the native port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectrpc.request import RequestContext
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2
from consent.v1.catalog_connect import CatalogService, CatalogServiceASGIApplication
from consent.v1.consent_connect import ConsentServiceASGIApplication
from consent.v1.rights_connect import RightsService, RightsServiceASGIApplication

from consentd.api.browser import (
    NO_GRPC_CONTEXT,
    ConsentConnect,
    connect_options,
    peer_address,
    request_user_agent,
)
from consentd.api.browser_gate import BrowserGate
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.connect_wire import BrowserService, not_served
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.context import principal
from consentd.api.rights_servicer import RightsServicer


@dataclass(frozen=True)
class PortalServicers:
    consents: ConsentServicer
    catalog: CatalogServicer
    rights: RightsServicer


def _evidence(message: Any, ctx: RequestContext[Any, Any]) -> None:
    """The browser's user agent and address as evidence, whatever the page's body says (only
    sealed or hashed by the use cases, never stored in clear)."""
    message.evidence.user_agent = request_user_agent(ctx)
    message.evidence.ip_address = peer_address(ctx)


class PortalConsentConnect(ConsentConnect):
    """ConsentService's reads, plus the person's grant (opting back in), withdrawal and
    confirmation."""

    async def record_consent(
        self, request: consent_pb2.RecordConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.RecordConsentResponse:
        if principal().subject is None:  # a person's own grant; systems record on gRPC
            raise not_served(ctx)
        _evidence(request, ctx)
        return await self._servicer.RecordConsent(request, NO_GRPC_CONTEXT)

    async def withdraw_consent(
        self, request: consent_pb2.WithdrawConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.WithdrawConsentResponse:
        _evidence(request, ctx)
        return await self._servicer.WithdrawConsent(request, NO_GRPC_CONTEXT)

    async def confirm_consent(
        self, request: consent_pb2.ConfirmConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.ConfirmConsentResponse:
        _evidence(request, ctx)
        return await self._servicer.ConfirmConsent(request, NO_GRPC_CONTEXT)


class CatalogConnect(CatalogService):
    """The catalogue's reads: purpose names and the notices' texts."""

    def __init__(self, servicer: CatalogServicer) -> None:
        self._servicer = servicer

    async def get_purpose(
        self, request: catalog_pb2.GetPurposeRequest, ctx: RequestContext[Any, Any], /
    ) -> catalog_pb2.GetPurposeResponse:
        return await self._servicer.GetPurpose(request, NO_GRPC_CONTEXT)

    async def list_purposes(
        self, request: catalog_pb2.ListPurposesRequest, ctx: RequestContext[Any, Any], /
    ) -> catalog_pb2.ListPurposesResponse:
        return await self._servicer.ListPurposes(request, NO_GRPC_CONTEXT)

    async def list_notices(
        self, request: catalog_pb2.ListNoticesRequest, ctx: RequestContext[Any, Any], /
    ) -> catalog_pb2.ListNoticesResponse:
        return await self._servicer.ListNotices(request, NO_GRPC_CONTEXT)


class RightsConnect(RightsService):
    """A person's own rights requests and export; everything else stays on native gRPC."""

    def __init__(self, servicer: RightsServicer) -> None:
        self._servicer = servicer

    async def submit_rights_request(
        self, request: rights_pb2.SubmitRightsRequestRequest, ctx: RequestContext[Any, Any], /
    ) -> rights_pb2.SubmitRightsRequestResponse:
        return await self._servicer.SubmitRightsRequest(request, NO_GRPC_CONTEXT)

    async def export_subject(
        self, request: rights_pb2.ExportSubjectRequest, ctx: RequestContext[Any, Any], /
    ) -> rights_pb2.ExportSubjectResponse:
        return await self._servicer.ExportSubject(request, NO_GRPC_CONTEXT)


def portal_apps(
    gate: BrowserGate, services: list[BrowserService], servicers: PortalServicers
) -> list[BrowserService]:
    """`services` (api/browser.py connect_apps) with ConsentService's app replaced by one that
    also records, withdraws and confirms, and the catalogue and rights apps added."""
    common = connect_options(gate)
    kept = [s for s in services if not isinstance(s.app, ConsentServiceASGIApplication)]
    return [
        *kept,
        BrowserService(
            ConsentServiceASGIApplication(PortalConsentConnect(servicers.consents), **common)
        ),
        BrowserService(CatalogServiceASGIApplication(CatalogConnect(servicers.catalog), **common)),
        BrowserService(RightsServiceASGIApplication(RightsConnect(servicers.rights), **common)),
    ]
