"""The browser port: CookieService and ConsentService's reads over Connect and gRPC-Web.

Browsers cannot speak native gRPC, so the same servicers the grpcio server uses are served over
HTTP/1.1 by connectrpc's ASGI apps (Connect JSON or binary, GET for NO_SIDE_EFFECTS methods, and
gRPC-Web), under uvicorn in the same process. Around them:

* The tenant: the path prefix `/t/<slug>/` (what browsers use: a CORS preflight cannot carry a
  header), else the `x-consentd-tenant` header, else the default tenant; a prefix and a header
  naming two tenants is UNAUTHENTICATED. TODO(#4): browser API keys with scope cookies:write.
* CORS per tenant: a preflight is answered only for an origin in the tenant's
  CookiePolicy.allowed_origins; an actual request carrying another cross-origin Origin is
  PERMISSION_DENIED before any use case runs. Same-origin pages (the demo) need no entry.
* Errors: one table (api/errors.py, domain error -> gRPC status) gives the Connect code of the
  same name, with the same message and google.rpc details; one log line per call.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.request import RequestContext
from consent.v1 import consent_pb2, cookies_pb2
from consent.v1.consent_connect import ConsentService, ConsentServiceASGIApplication
from consent.v1.cookies_connect import CookieService, CookieServiceASGIApplication
from protobuf.wkt import Any as AnyDetail

from consentd.api.consent_servicer import ConsentServicer
from consentd.api.context import set_principal
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.errors import STATUS_OF, details_of, status_of
from consentd.api.interceptors import INTERNAL_MESSAGE, _log
from consentd.app.auth import TENANT_HEADER, Authenticator
from consentd.app.cookies import CookieUseCases
from consentd.domain.cookies import MAX_USER_AGENT
from consentd.domain.errors import ConsentError, PermissionDenied, Unauthenticated
from consentd.domain.tenancy import Principal

# Largest request body the browser port reads; bigger is RESOURCE_EXHAUSTED before decoding.
MAX_BROWSER_MESSAGE = 64 * 1024
CONNECT_CODE = {status: Code[status.name] for status in set(STATUS_OF.values())}
ALLOWED_HEADERS = (
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
    TENANT_HEADER,
)
EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin"
PREFLIGHT_MAX_AGE = "300"
TENANT_PREFIX = re.compile(r"/t/([a-z][a-z0-9-]{0,62})(/.*)")


@dataclass
class BrowserRequest:
    """What the HTTP layer knows about one request, shared with the Connect interceptor."""

    path_tenant: str | None
    origin: str | None
    same_origin: bool
    cors_allowed: bool = False
    extra: dict[str, str] = field(default_factory=dict)


browser_request: ContextVar[BrowserRequest] = ContextVar("consentd_browser_request")


def connect_error(error: ConsentError) -> ConnectError:
    """The Connect error for a domain error: same code name, message and details as gRPC."""
    status = status_of(error)
    code = CONNECT_CODE.get(status, Code.INTERNAL)
    packed = [
        ErrorDetail(AnyDetail(type_url=item.type_url, value=item.value))
        for item in _details(error, status)
    ]
    return ConnectError(code, error.message, packed)


def _details(error: ConsentError, status: grpc.StatusCode) -> Iterable[Any]:
    from google.rpc import status_pb2  # noqa: PLC0415 - only errors pay for it

    return list(status_pb2.Status.FromString(details_of(error, status)).details)


class BrowserGate:
    """The Connect interceptor: tenant, origin check, error mapping and one log line per call."""

    def __init__(self, authenticator: Authenticator, cookies: CookieUseCases) -> None:
        self._auth = authenticator
        self._cookies = cookies

    async def intercept_unary(
        self,
        call_next: Callable[[Any, RequestContext[Any, Any]], Awaitable[Any]],
        request: Any,
        ctx: RequestContext[Any, Any],
        /,
    ) -> Any:
        method = f"/{ctx.method.service_name}/{ctx.method.name}"
        started, request_id, code, tenant = time.perf_counter(), uuid.uuid4().hex, "OK", ""
        try:
            principal = await self._admit(ctx)
            tenant = principal.tenant.slug
            set_principal(principal)
            return await call_next(request, ctx)
        except ConsentError as error:
            mapped = connect_error(error)
            code = mapped.code.name
            raise mapped from None
        except ConnectError as error:
            code = error.code.name
            raise
        except Exception as error:  # noqa: BLE001 - anything else is INTERNAL with a logged id
            code = "INTERNAL"
            _log("error", "rpc_failed", method=method, request_id=request_id, exc_info=error)
            raise ConnectError(Code.INTERNAL, INTERNAL_MESSAGE.format(request_id)) from None
        finally:
            _log(
                "info",
                "rpc",
                method=method,
                code=code,
                protocol="browser",
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                tenant=tenant,
                request_id=request_id,
            )

    async def _admit(self, ctx: RequestContext[Any, Any]) -> Principal:
        state = browser_request.get(None) or BrowserRequest(None, None, same_origin=True)
        header = ctx.request_headers.get(TENANT_HEADER)
        if state.path_tenant and header and header != state.path_tenant:
            raise Unauthenticated()
        slug = state.path_tenant or header
        principal = await self._auth.authenticate({TENANT_HEADER: slug} if slug else {})
        if state.origin and not state.same_origin:
            if state.origin not in await self._cookies.allowed_origins(principal):
                raise PermissionDenied(
                    f"origin {state.origin} is not allowed for this tenant "
                    "(add it to CookiePolicy.allowed_origins)"
                )
            state.cors_allowed = True
        return principal


class CookieConnect(CookieService):
    """CookieService over Connect: the gRPC servicer, with the visitor's user agent and IP
    taken from the HTTP request when the page did not send them (only hashes are stored)."""

    def __init__(self, servicer: CookieServicer) -> None:
        self._servicer = servicer

    async def record_cookie_choice(
        self, request: cookies_pb2.RecordCookieChoiceRequest, ctx: RequestContext[Any, Any], /
    ) -> cookies_pb2.RecordCookieChoiceResponse:
        if not request.user_agent:
            request.user_agent = ctx.request_headers.get("user-agent", "")[:MAX_USER_AGENT]
        if not request.ip_address and ctx.client_address:
            request.ip_address = ctx.client_address.rsplit(":", 1)[0].strip("[]")
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
_NO_GRPC_CONTEXT = cast("grpc.aio.ServicerContext[Any, Any]", None)


class ConsentConnect(ConsentService):
    """ConsentService's read and check RPCs over Connect; the writes stay on native gRPC and
    answer UNIMPLEMENTED here (the generated defaults)."""

    def __init__(self, servicer: ConsentServicer) -> None:
        self._servicer = servicer

    async def check_consent(
        self, request: consent_pb2.CheckConsentRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.CheckConsentResponse:
        return await self._servicer.CheckConsent(request, _NO_GRPC_CONTEXT)

    async def get_subject_consents(
        self, request: consent_pb2.GetSubjectConsentsRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.GetSubjectConsentsResponse:
        return await self._servicer.GetSubjectConsents(request, _NO_GRPC_CONTEXT)

    async def list_consent_history(
        self, request: consent_pb2.ListConsentHistoryRequest, ctx: RequestContext[Any, Any], /
    ) -> consent_pb2.ListConsentHistoryResponse:
        return await self._servicer.ListConsentHistory(request, _NO_GRPC_CONTEXT)


def connect_apps(
    gate: BrowserGate, cookies: CookieServicer, consents: ConsentServicer
) -> list[CookieServiceASGIApplication | ConsentServiceASGIApplication]:
    """One connectrpc ASGI app per service, each behind the gate."""
    return [
        CookieServiceASGIApplication(
            CookieConnect(cookies), interceptors=[gate], read_max_bytes=MAX_BROWSER_MESSAGE
        ),
        ConsentServiceASGIApplication(
            ConsentConnect(consents), interceptors=[gate], read_max_bytes=MAX_BROWSER_MESSAGE
        ),
    ]
