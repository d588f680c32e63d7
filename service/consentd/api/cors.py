"""CORS on the browser port: which headers a page may send and read, the preflight's answer
for an origin the tenant allows, and the CORS headers added to an admitted call's response.
Whether an origin is allowed is the tenant's CookiePolicy.allowed_origins (the BrowserGate
checks it for actual requests)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

from consentd.api.asgi import Message, Scope, Send, header, respond
from consentd.api.browser_gate import BrowserRequest
from consentd.api.calls import IDEMPOTENCY_KEY
from consentd.api.refusals import closing
from consentd.app.auth import AUTHORIZATION

ALLOWED_HEADERS = (
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
    AUTHORIZATION,
    IDEMPOTENCY_KEY,
    # W3C trace context (docs/observability.md): a page that sends it had its calls blocked.
    "traceparent",
    "tracestate",
)
EXPOSED_HEADERS = "grpc-status, grpc-message, grpc-status-details-bin, retry-after"
PREFLIGHT_MAX_AGE = "300"


def is_same_origin(scope: Scope, origin: str | None) -> bool:
    """No Origin (not a cross-site browser call) or the page is served from this very host."""
    return origin is None or origin == f"{scope.get('scheme', 'http')}://{header(scope, b'host')}"


async def answer_preflight(
    scope: Scope, send: Send, origin: str | None, allowed: frozenset[str]
) -> None:
    """204 with CORS headers for an origin in `allowed`; 403 (no CORS headers) otherwise."""
    if origin is None or origin not in allowed:
        await respond(send, 403, b"origin not allowed", [(b"vary", b"Origin")])
        return
    asked = (header(scope, b"access-control-request-headers") or "").lower()
    granted = [h.strip() for h in asked.split(",") if h.strip() in ALLOWED_HEADERS]
    await respond(
        send,
        204,
        headers=[
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-methods", b"GET, POST"),
            (b"access-control-allow-headers", ", ".join(granted).encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"vary", b"Origin"),
        ],
    )


def exposing_to_origin(
    send: Send, state: BrowserRequest, allowed: Callable[[], Awaitable[frozenset[str]]]
) -> Send:
    """`send`, adding CORS headers to the response start when the interceptor admitted the
    request's origin (state.cors_allowed, read when the response starts), or, for any refusal
    (a revoked key, a missing scope, a body that does not decode, an unknown field, before the
    interceptor ran or in it), when the origin is one of those `allowed`: the page of an
    allowed origin read "Failed to fetch" (probes BR, FH)."""
    origin = state.origin

    async def cors_send(message: Message) -> None:
        start = message["type"] == "http.response.start"
        if start and not state.cors_allowed and origin and not state.same_origin:
            with contextlib.suppress(Exception):  # the database gone: the answer still goes
                state.cors_allowed = origin in await allowed()
        if start and state.cors_allowed and origin:
            headers = list(message.get("headers", []))
            headers += [
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                (b"vary", b"Origin"),
            ]
            message = {**message, "headers": headers}
        await send(message)

    return cors_send


async def two_origins_refused(scope: Scope, send: Send) -> bool:
    """Whether the request carried Origin twice, then answered 400: browsers send one, and the
    one a proxy appended was not the one read as the page's (probe CC)."""
    if sum(k == b"origin" for k, _ in scope.get("headers", ())) < 2:
        return False
    plain = [(b"content-type", b"text/plain; charset=utf-8")]
    await respond(closing(send), 400, b"a request carries one Origin header", plain)
    return True
