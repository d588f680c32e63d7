"""A browser call refused from its request's head, before its body is read: the credential,
the URL's tenant, the method in the key's scopes, the page's origin, the declared size."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from typing import Protocol

import grpc

from consentd.api.asgi import Scope, header
from consentd.api.browser import MAX_BROWSER_BODY, TOO_LARGE
from consentd.api.browser_gate import BrowserRequest, page_admitted
from consentd.api.calls import ADMITTING, failure_of, metadata_of
from consentd.api.connect_headers import CALLER_TIMEOUT, timeout_seconds
from consentd.api.cors import is_same_origin
from consentd.api.refusals import UNAUTHENTICATED, is_method
from consentd.app.cookies import CookieUseCases
from consentd.domain.errors import PermissionDenied, Unauthenticated
from consentd.domain.tenancy import Principal


class Authenticate(Protocol):
    """Gate.admit_unread: the credential, the URL's tenant and the method (None: a name the
    contract does not have) in its scopes."""

    def __call__(
        self, method: str | None, metadata: Mapping[str, str], *, tenant: str | None = None
    ) -> Awaitable[Principal]: ...


async def head_refusal(
    authenticate: Authenticate,
    cookies: CookieUseCases,
    scope: Scope,
    method: str,
    tenant: str | None,
) -> tuple[tuple[grpc.StatusCode, str], str] | None:
    """Why the call is refused (its credential, the URL's tenant, its scopes), before its
    body is read, and whose key it was when known (its tenant, for the `rpc` line: a page's
    public key calling an admin method said "", probe HF); None when it is not.
    Not only UNAUTHENTICATED: with the look-ups' allowance spent or the database gone, the
    body of a caller without a valid key was read and decoded, its errors answered (probe
    BC). A bug is left to the gate's answer (INTERNAL, logged with its id)."""
    pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
    # The call counts from here, and its own timeout holds here too (probe IF: a 5 s look-up
    # was logged as 0.01 ms, an 800 ms caller answered after 5 s).
    ADMITTING.set(time.perf_counter())
    seconds, named_by = timeout_seconds(scope)
    bound = asyncio.timeout(seconds)
    try:
        # A name the contract does not have: the credential only (the app answers it).
        named = method if is_method(method) else None
        async with bound:
            principal = await authenticate(named, metadata_of(pairs), tenant=tenant)
            origin = header(scope, b"origin")
            state = BrowserRequest(tenant, origin, same_origin=is_same_origin(scope, origin))
            await page_admitted(cookies, state, principal)
    except Unauthenticated:
        return UNAUTHENTICATED, ""
    except Exception as error:  # noqa: BLE001 - whatever a caller can act on is answered
        if bound.expired():
            return (grpc.StatusCode.DEADLINE_EXCEEDED, CALLER_TIMEOUT.format(named_by)), ""
        failure = failure_of(error)
        whose = error.tenant if isinstance(error, PermissionDenied) else ""
        return None if failure is None else ((failure.code, failure.message), whose)
    declared = header(scope, b"content-length") or ""
    if declared.isdigit() and int(declared) > MAX_BROWSER_BODY:
        # Refused from its head: a key's body declared too large was waited for 30 s when
        # it did not come (probe CC), where a chunked one was refused at once.
        return TOO_LARGE, ""
    return None
