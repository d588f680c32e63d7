"""The browser port: CookieService and ConsentService's reads over Connect and gRPC-Web.

Browsers cannot speak native gRPC, so the same servicers the grpcio server uses are served over
HTTP/1.1 by connectrpc's ASGI apps (Connect JSON or binary, GET for NO_SIDE_EFFECTS methods, and
gRPC-Web), under uvicorn in the same process. Around them:

* Admission is the native port's: every call goes through the same Gate (api/gate.py), so the
  credential (`authorization: Bearer <key>`), the scopes of api/authorization.py, the tenant's
  rate limit, unknown-field rejection and idempotency keys are decided by one table and one code
  path. No credential is UNAUTHENTICATED.
* The tenant is the key's. A page on another origin names its tenant in the path prefix
  `/t/<tenant id>/` as well, because a CORS preflight carries no credential; a key of another
  tenant under that prefix is UNAUTHENTICATED.
* CORS per tenant: a preflight is answered only for an origin in the tenant's
  CookiePolicy.allowed_origins; an actual request from another cross-origin Origin is
  PERMISSION_DENIED before any use case runs. A credential sent from another origin is visible
  to the page's JavaScript, so it must be a publishable key (scope cookies:write and nothing
  else) or a portal token; any wider key is PERMISSION_DENIED there. Same-origin pages (the demo)
  and non-browser callers (no Origin) need no entry.
* Errors: one table (api/errors.py, domain error -> gRPC status) gives the Connect code of the
  same name, with the same message and google.rpc details; one log line per call.
* A request connectrpc cannot read (a body that is not what its content type and encoding
  say, a malformed timeout header) is refused in our words, never the library's
  (api/connect_wire.py); gRPC-Web's text form (application/grpc-web-text) is served too.

Here: the Connect apps (the servicers behind the gate). The pieces: api/browser_gate.py
(admission, tenant prefix, origins), api/connect_codecs.py, api/connect_errors.py and
api/connect_wire.py (with api/grpc_web_text.py), api/http.py (ASGI routing and the uvicorn
server) with api/cors.py, api/refusals.py and api/pages.py; api/browser_portal.py adds the
preference centre's methods.
"""

from __future__ import annotations

import ipaddress
from typing import Any, cast

import grpc
from connectrpc.request import RequestContext
from consent.v1 import consent_pb2, cookies_pb2
from consent.v1.consent_connect import ConsentService, ConsentServiceASGIApplication
from consent.v1.cookies_connect import CookieService, CookieServiceASGIApplication

from consentd.api.browser_gate import BrowserGate
from consentd.api.connect_codecs import CODECS, COMPRESSIONS
from consentd.api.connect_wire import BrowserService, WireErrors
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.context import principal
from consentd.api.cookie_servicer import CookieServicer
from consentd.domain.cookies import MAX_USER_AGENT

# Largest request body the browser port reads; bigger is RESOURCE_EXHAUSTED before decoding.
MAX_BROWSER_MESSAGE = 64 * 1024


def peer_address(ctx: RequestContext[Any, Any]) -> str:
    """The address the request came from, kept as evidence on the browser port whatever the page
    says: anyone holding the publishable key could record a choice "from" any address (probe
    AE). Empty when the server does not know it, or when a proxy wrote no address there
    (`unknown`, an obfuscated id: every choice was refused "ip_address: is not an IPv4 or IPv6
    address", a field the page never sent; probe SA)."""
    host = ctx.client_address.rsplit(":", 1)[0].strip("[]") if ctx.client_address else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def request_user_agent(ctx: RequestContext[Any, Any]) -> str:
    """The user agent the browser sent, whatever the page's body says: a page could claim any
    as the evidence of a person's choice (probe HD), as it could an address."""
    return ctx.request_headers.get("user-agent", "")[:MAX_USER_AGENT]


class CookieConnect(CookieService):
    """CookieService over Connect: the gRPC servicer, with the visitor's user agent and
    address taken from the HTTP request (only hashes are stored)."""

    def __init__(self, servicer: CookieServicer) -> None:
        self._servicer = servicer

    async def record_cookie_choice(
        self, request: cookies_pb2.RecordCookieChoiceRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.RecordCookieChoiceResponse:
        request.user_agent = request_user_agent(ctx)
        request.ip_address = peer_address(ctx)
        # The browser's Global Privacy Control header is part of the proof, sent by the page
        # or not (the visitor's explicit choice still decides: the EU reads it as a signal).
        request.gpc = request.gpc or ctx.request_headers.get("sec-gpc", "").strip() == "1"
        return await self._servicer.RecordCookieChoice(request, ctx)

    async def get_cookie_choice(
        self, request: cookies_pb2.GetCookieChoiceRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.GetCookieChoiceResponse:
        return await self._servicer.GetCookieChoice(request, ctx)

    async def list_cookie_choices(
        self, request: cookies_pb2.ListCookieChoicesRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.ListCookieChoicesResponse:
        return await self._servicer.ListCookieChoices(request, ctx)

    async def link_visitor(
        self, request: cookies_pb2.LinkVisitorRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.LinkVisitorResponse:
        return await self._servicer.LinkVisitor(request, ctx)

    async def put_cookie_policy(
        self, request: cookies_pb2.PutCookiePolicyRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.PutCookiePolicyResponse:
        return await self._servicer.PutCookiePolicy(request, ctx)

    async def get_cookie_policy(
        self, request: cookies_pb2.GetCookiePolicyRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.GetCookiePolicyResponse:
        return await self._servicer.GetCookiePolicy(request, ctx)


# The grpcio servicer never reads its context (the interceptor set the principal already).
NO_GRPC_CONTEXT = cast("grpc.aio.ServicerContext[Any, Any]", None)


def browser_evidence(message: Any, ctx: RequestContext[Any, Any]) -> None:
    """A page's call (it says its Origin) or a portal token's: the browser's user agent and
    address as evidence, whatever the body says (a page could claim any; probe HD). A server's
    call keeps the evidence it relays, the person's (a form's backend: probe HI)."""
    if ctx.request_headers.get("origin") is None and principal().subject is None:
        return
    message.evidence.user_agent = request_user_agent(ctx)
    message.evidence.ip_address = peer_address(ctx)


class ConsentConnect(ConsentService):
    """ConsentService over Connect, for pages (a portal token: the person's own words) and for
    servers that do not speak gRPC (a form's backend records a sign-up as JSON: probe HI);
    every scope rule of the gRPC port holds, and a page on another origin holds a page
    credential only (api/browser_gate.py)."""

    def __init__(self, servicer: ConsentServicer) -> None:
        self._servicer = servicer

    async def record_consent(
        self, request: consent_pb2.RecordConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.RecordConsentResponse:
        browser_evidence(request, ctx)
        return await self._servicer.RecordConsent(request, NO_GRPC_CONTEXT)

    async def withdraw_consent(
        self, request: consent_pb2.WithdrawConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.WithdrawConsentResponse:
        browser_evidence(request, ctx)
        return await self._servicer.WithdrawConsent(request, NO_GRPC_CONTEXT)

    async def confirm_consent(
        self, request: consent_pb2.ConfirmConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.ConfirmConsentResponse:
        browser_evidence(request, ctx)
        return await self._servicer.ConfirmConsent(request, NO_GRPC_CONTEXT)

    async def check_consent(
        self, request: consent_pb2.CheckConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.CheckConsentResponse:
        return await self._servicer.CheckConsent(request, NO_GRPC_CONTEXT)

    async def get_subject_consents(
        self, request: consent_pb2.GetSubjectConsentsRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.GetSubjectConsentsResponse:
        return await self._servicer.GetSubjectConsents(request, NO_GRPC_CONTEXT)

    async def list_consent_history(
        self, request: consent_pb2.ListConsentHistoryRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.ListConsentHistoryResponse:
        return await self._servicer.ListConsentHistory(request, NO_GRPC_CONTEXT)


def connect_options(gate: BrowserGate) -> dict[str, Any]:
    """What every Connect app of the browser port is built with: WireErrors first (it runs
    before the body is read), then the gate; the strict codecs and compressions; the size
    limit."""
    return {
        "interceptors": [WireErrors(gate.telemetry), gate],
        "read_max_bytes": MAX_BROWSER_MESSAGE,
        "codecs": CODECS,
        "compressions": COMPRESSIONS,
    }


def connect_apps(
    gate: BrowserGate, cookies: CookieServicer, consents: ConsentServicer
) -> list[BrowserService]:
    """One connectrpc ASGI app per service, each behind the gate."""
    cookie, consent = CookieConnect(cookies), ConsentConnect(consents)
    return [
        BrowserService(CookieServiceASGIApplication(cookie, **connect_options(gate)), cookie),
        BrowserService(ConsentServiceASGIApplication(consent, **connect_options(gate)), consent),
    ]


# No message this port reads takes more (gRPC-Web's text mode: base64, 4 bytes for 3, and its
# 5-byte frame).
MAX_BROWSER_BODY = MAX_BROWSER_MESSAGE * 4 // 3 + 64
TOO_LARGE = (
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    f"request: the body is larger than any message this port reads ({MAX_BROWSER_MESSAGE} bytes)",
)
