"""The browser port's Connect interceptor: the native port's Gate (api/gate.py), then the
tenant prefix and the page's origin, with error mapping and one log line per call."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext

from consentd.api.calls import COUNTED, Call, metadata_of
from consentd.api.connect_errors import failure_error, grpc_status
from consentd.api.context import set_principal
from consentd.api.gate import Gate
from consentd.app.cookies import CookieUseCases
from consentd.domain.errors import ConsentError, PermissionDenied, ResourceExhausted
from consentd.domain.tenancy import Principal, Scope, tenant_id_of
from consentd.store.deadlines import set_call_deadline, statements_bound
from consentd.telemetry import Telemetry

# What a credential sent from another origin may carry: it is readable by the page's scripts.
PAGE_SCOPES = frozenset({Scope.COOKIES, Scope.SELF})


@dataclass
class BrowserRequest:
    """What the HTTP layer knows about one request, shared with the Connect interceptor."""

    path_tenant: str | None
    origin: str | None
    same_origin: bool
    cors_allowed: bool = False


browser_request: ContextVar[BrowserRequest] = ContextVar("consentd_browser_request")


class BrowserGate:
    """The Connect interceptor: the Gate, then the tenant prefix and origin; error mapping and
    one log line per call."""

    def __init__(
        self, gate: Gate, cookies: CookieUseCases, telemetry: Telemetry | None = None
    ) -> None:
        self._gate = gate
        self._cookies = cookies
        self.telemetry = telemetry or Telemetry()

    async def intercept_unary(
        self,
        call_next: Callable[[Any, RequestContext[Any, Any]], Awaitable[Any]],
        request: Any,
        ctx: RequestContext[Any, Any],
        /,
    ) -> Any:
        method = f"/{ctx.method.service_name}/{ctx.method.name}"
        headers = metadata_of(ctx.request_headers.allitems())
        COUNTED.set(True)
        call = Call(method, self.telemetry, headers, "browser")
        try:
            principal = await self._admit(method, headers, request)
            call.tenant = principal.tenant.slug
            set_principal(principal)
            # The caller's timeout bounds its statements a little before it, as on the gRPC
            # port: a wait is answered and logged DEADLINE_EXCEEDED, warned, not CANCELLED by
            # connectrpc (probe IF).
            remaining = ctx.timeout_ms
            bound = statements_bound(remaining / 1000 if remaining is not None else None)
            set_call_deadline(bound)
            async with asyncio.timeout(bound):
                return await self._gate.unary(
                    method, headers, principal, request, lambda: call_next(request, ctx)
                )
        except ConnectError as error:
            call.code = grpc_status(error.code)
            raise
        except BaseException as error:
            if isinstance(error, PermissionDenied):  # the key is known: its tenant (probe HF)
                call.tenant = error.tenant
            if isinstance(error, ResourceExhausted) and error.retry_after is not None:
                # What HTTP clients and proxies read (the RetryInfo detail is Connect's own);
                # whole seconds, one at least (probe QD: a 429 said nothing of when).
                wait = max(1, math.ceil(error.retry_after))
                ctx.response_headers["retry-after"] = str(wait)
            failure = call.fail(error)
            if failure is None:
                raise
            raise failure_error(failure) from None
        finally:
            call.finish()

    async def _admit(self, method: str, headers: Mapping[str, str], request: Any) -> Principal:
        state = browser_request.get(None) or BrowserRequest(None, None, same_origin=True)
        # A refusal is readable by a page of an allowed origin: api/cors.exposing_to_origin
        # looks the path's tenant's origins up when the answer starts.
        principal = await self._gate.identify(method, headers, tenant=state.path_tenant)
        await self._page_admitted(state, principal)
        self._gate.accept(method, principal, request)
        return principal

    async def _page_admitted(self, state: BrowserRequest, principal: Principal) -> None:
        await page_admitted(self._cookies, state, principal)
        state.cors_allowed = bool(state.origin and not state.same_origin)


async def page_admitted(
    cookies: CookieUseCases, state: BrowserRequest, principal: Principal
) -> None:
    """A cross-origin page's call: a page credential, from one of the tenant's origins.
    Raises PermissionDenied naming the key's tenant (for the `rpc` line: probe HF). Checked
    from the request's head too (api/http.py): a call from an origin the tenant does not allow
    waited 30 s for a body never sent (session 34)."""
    if not state.origin or state.same_origin:
        return
    denied = None
    if principal.scopes - PAGE_SCOPES:
        denied = PermissionDenied(
            "a credential sent from a web page is public: use a key with scope cookies:write only"
        )
    elif state.origin not in await cookies.allowed_origins(principal.tenant_id):
        denied = PermissionDenied(
            f"origin {state.origin} is not allowed for this tenant "
            "(add it to CookiePolicy.allowed_origins)"
        )
    if denied is not None:
        denied.tenant = principal.tenant.slug
        raise denied


async def path_origins(
    cookies: CookieUseCases, tenant: str | None, exists: Callable[[UUID], Awaitable[bool]]
) -> frozenset[str]:
    """The origins the tenant a path names (`/t/<tenant id>/`) allows; none for a path that
    names no tenant, or no tenant there is (`exists`, a cached list: a made-up id read the
    tenant's policy in a transaction of its own, for a caller without a credential). Only its
    canonical spelling, the one the call itself is admitted on (upper case, braces or `urn:uuid:`
    passed the preflight and the call was refused without CORS headers; probe BK)."""
    allowed: frozenset[str] = frozenset()
    tenant_id = tenant_id_of(tenant)
    with contextlib.suppress(ConsentError):
        if tenant_id is not None and await exists(tenant_id):
            allowed = await cookies.allowed_origins(tenant_id)
    return allowed
