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
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import grpc
from connectrpc.code import Code
from connectrpc.codec import Codec
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.request import RequestContext
from consent.v1 import consent_pb2, cookies_pb2
from consent.v1.consent_connect import ConsentService, ConsentServiceASGIApplication
from consent.v1.cookies_connect import CookieService, CookieServiceASGIApplication
from google.protobuf import json_format
from google.protobuf.message import Message
from protobuf.wkt import Any as AnyDetail

from consentd.api.calls import Call, Failure, metadata_of
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.context import set_principal
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.errors import STATUS_OF, details_of, status_of
from consentd.api.gate import Gate
from consentd.api.validation import decode
from consentd.app.cookies import CookieUseCases
from consentd.domain.cookies import MAX_USER_AGENT
from consentd.domain.errors import ConsentError, InvalidInput, PermissionDenied
from consentd.domain.tenancy import Principal, Scope
from consentd.telemetry import Telemetry

# Largest request body the browser port reads; bigger is RESOURCE_EXHAUSTED before decoding.
MAX_BROWSER_MESSAGE = 64 * 1024
CONNECT_CODE = {status: Code[status.name] for status in set(STATUS_OF.values())}
# What a credential sent from another origin may carry: it is readable by the page's scripts.
PAGE_SCOPES = frozenset({Scope.COOKIES, Scope.SELF})
M = TypeVar("M", bound=Message)
# A Connect code's gRPC name (the same names, but Connect spells CANCELED).
_STATUS_NAME = {"CANCELED": "CANCELLED"}


@dataclass
class BrowserRequest:
    """What the HTTP layer knows about one request, shared with the Connect interceptor."""

    path_tenant: str | None
    origin: str | None
    same_origin: bool
    cors_allowed: bool = False


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
    return _packed(details_of(error, status))


def _packed(details: bytes) -> list[Any]:
    from google.rpc import status_pb2  # noqa: PLC0415 - only errors pay for it

    return list(status_pb2.Status.FromString(details).details)


def failure_error(failure: Failure) -> ConnectError:
    """The Connect error of a call's failure (api/calls.py): same code name, message and
    details as the gRPC port gives."""
    code = Code.CANCELED if failure.code == grpc.StatusCode.CANCELLED else Code[failure.code.name]
    packed = [
        ErrorDetail(AnyDetail(type_url=item.type_url, value=item.value))
        for item in (_packed(failure.details) if failure.details else ())
    ]
    return ConnectError(code, failure.message, packed)


class StrictJSONCodec:
    """Connect's JSON codec, refusing what the contract does not define (as the Gate does for
    binary messages) instead of dropping it, and anything that is not a JSON object:
    INVALID_ARGUMENT naming the field, never the parser's own words."""

    _json: Codec[Message, Any] = google_protobuf_json_codec(ignore_unknown_fields=False)

    def name(self) -> str:
        return self._json.name()

    def encode(self, message: Message) -> bytes:
        return self._json.encode(message)

    def decode(self, data: bytes | bytearray, message_class: type[M]) -> M:
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise connect_error(InvalidInput("request", "is not valid JSON")) from None
        if not isinstance(document, dict):
            raise connect_error(InvalidInput("request", "must be a JSON object"))
        message = message_class()
        try:
            json_format.ParseDict(document, message, ignore_unknown_fields=False)
        except (json_format.ParseError, ValueError, TypeError, AttributeError) as error:
            raise connect_error(_json_error(str(error))) from None
        return message


def _json_error(text: str) -> InvalidInput:
    """The field json_format names in `text` ("Failed to parse a field: Failed to parse b
    field: <parser's words>" -> a.b), with a reason of ours."""
    path = FAILED_FIELD.findall(text)
    if path:
        return InvalidInput(".".join(path), "has a value of the wrong type or out of range")
    if text.startswith("Message type"):
        return InvalidInput("request", text.split("\n", 1)[0][:200])
    return InvalidInput("request", "does not match the contract")


FAILED_FIELD = re.compile(r"Failed to parse (\w+) field")


class StrictBinaryCodec:
    """Connect's binary codec, decoding as the gRPC port does (api/validation.py): a body that
    does not decode is INVALID_ARGUMENT naming the field, never the parser's own words."""

    _binary: Codec[Message, Any] = google_protobuf_binary_codec()

    def name(self) -> str:
        return self._binary.name()

    def encode(self, message: Message) -> bytes:
        return self._binary.encode(message)

    def decode(self, data: bytes | bytearray, message_class: type[M]) -> M:
        try:
            return decode(message_class, bytes(data))
        except InvalidInput as error:
            raise connect_error(error) from None


CODECS: tuple[Codec[Message, Any], ...] = (StrictBinaryCodec(), StrictJSONCodec())


class BrowserGate:
    """The Connect interceptor: the Gate, then the tenant prefix and origin; error mapping and
    one log line per call."""

    def __init__(
        self, gate: Gate, cookies: CookieUseCases, telemetry: Telemetry | None = None
    ) -> None:
        self._gate = gate
        self._cookies = cookies
        self._telemetry = telemetry or Telemetry()

    async def intercept_unary(
        self,
        call_next: Callable[[Any, RequestContext[Any, Any]], Awaitable[Any]],
        request: Any,
        ctx: RequestContext[Any, Any],
        /,
    ) -> Any:
        method = f"/{ctx.method.service_name}/{ctx.method.name}"
        headers = metadata_of(ctx.request_headers.allitems())
        call = Call(method, self._telemetry, headers, "browser")
        try:
            principal = await self._admit(method, headers, request)
            call.tenant = principal.tenant.slug
            set_principal(principal)
            return await self._gate.unary(
                method, headers, principal, request, lambda: call_next(request, ctx)
            )
        except ConnectError as error:
            call.code = grpc.StatusCode[_STATUS_NAME.get(error.code.name, error.code.name)]
            raise
        except BaseException as error:
            failure = call.fail(error)
            if failure is None:
                raise
            raise failure_error(failure) from None
        finally:
            call.finish()

    async def _admit(self, method: str, headers: Mapping[str, str], request: Any) -> Principal:
        state = browser_request.get(None) or BrowserRequest(None, None, same_origin=True)
        principal = await self._gate.admit(method, headers, request, tenant=state.path_tenant)
        if state.origin and not state.same_origin:
            if principal.scopes - PAGE_SCOPES:
                raise PermissionDenied(
                    "a credential sent from a web page is public: use a key with scope "
                    "cookies:write only"
                )
            if state.origin not in await self._cookies.allowed_origins(principal.tenant_id):
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
            CookieConnect(cookies),
            interceptors=[gate],
            read_max_bytes=MAX_BROWSER_MESSAGE,
            codecs=CODECS,
        ),
        ConsentServiceASGIApplication(
            ConsentConnect(consents),
            interceptors=[gate],
            read_max_bytes=MAX_BROWSER_MESSAGE,
            codecs=CODECS,
        ),
    ]
