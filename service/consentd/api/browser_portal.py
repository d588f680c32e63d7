"""What the preference centre needs on the browser port, beside api/browser.py's
ConsentService and CookieService: a person's own rights requests and export
(SubmitRightsRequest, ExportSubject) and the catalogue (purpose names, notice texts), over
Connect; and a list's checks (BatchCheckConsent) for servers that do not speak gRPC.

The same servicers behind the same BrowserGate: scopes (api/authorization.py: a portal token,
`subject:self`, may record, withdraw, confirm and file only for its own person, guarded by the
use cases), origins (a cross-origin page only with the tenant's allowed origins and a page
credential), rate limits and idempotency keys apply exactly as on the native port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectrpc.request import RequestContext
from consent.v1 import campaign_pb2, catalog_pb2, rights_pb2
from consent.v1.campaign_connect import CampaignService, CampaignServiceASGIApplication
from consent.v1.catalog_connect import CatalogService, CatalogServiceASGIApplication
from consent.v1.rights_connect import RightsService, RightsServiceASGIApplication

from consentd.api.browser import NO_GRPC_CONTEXT, connect_options
from consentd.api.browser_gate import BrowserGate
from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.connect_wire import BrowserService
from consentd.api.rights_servicer import RightsServicer


@dataclass(frozen=True)
class PortalServicers:
    catalog: CatalogServicer
    rights: RightsServicer
    campaign: CampaignServicer


class CampaignConnect(CampaignService):
    """BatchCheckConsent (and HashContactPoints) over Connect, for servers that do not speak
    gRPC (an e-mail service's or an integration platform's HTTP call, a key of their own): one
    call per list of up to 1,000 recipients, where they could only call CheckConsent once per
    recipient (probe KC).
    The streams (StreamCheckConsent, the change feed, the suppression list) stay on the gRPC
    port; so do page credentials (the scopes of api/authorization.py hold)."""

    def __init__(self, servicer: CampaignServicer) -> None:
        self._servicer = servicer

    async def batch_check_consent(
        self, request: campaign_pb2.BatchCheckConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> campaign_pb2.BatchCheckConsentResponse:
        return await self._servicer.BatchCheckConsent(request, NO_GRPC_CONTEXT)

    async def summarize_consents(
        self, request: campaign_pb2.SummarizeConsentsRequest, ctx: RequestContext[Any, Any], /
    ) -> campaign_pb2.SummarizeConsentsResponse:
        return await self._servicer.SummarizeConsents(request, NO_GRPC_CONTEXT)

    async def hash_contact_points(
        self, request: campaign_pb2.HashContactPointsRequest, ctx: RequestContext[Any, Any], /
    ) -> campaign_pb2.HashContactPointsResponse:
        return await self._servicer.HashContactPoints(request, NO_GRPC_CONTEXT)


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
    """`services` (api/browser.py connect_apps) with the catalogue and rights apps added."""
    common = connect_options(gate)
    catalog = CatalogConnect(servicers.catalog)
    rights = RightsConnect(servicers.rights)
    campaign = CampaignConnect(servicers.campaign)
    return [
        *services,
        BrowserService(CatalogServiceASGIApplication(catalog, **common), catalog),
        BrowserService(RightsServiceASGIApplication(rights, **common), rights),
        BrowserService(CampaignServiceASGIApplication(campaign, **common), campaign),
    ]
