"""What the browser port answers for a request connectrpc cannot read, in our words.

connectrpc answers some malformed requests itself, quoting the exception it caught
("decompress: Error -3 while decompressing data: incorrect header check", "unmarshal message:
maximum recursion depth exceeded ...") or echoing a header with an unbalanced quote ("Invalid
timeout header: '12345678901 has >10 digits"). Callers get ours instead:

* the codecs and compressions (api/connect_codecs.py) refuse a body they cannot read in our
  words at the source, naming the field where there is one;
* BrowserService checks the call's timeout header before connectrpc parses it (and serves
  gRPC-Web's text form, api/grpc_web_text.py);
* WireErrors, the first interceptor of every Connect app, runs before the body is read: it
  raises that header's refusal (so connectrpc writes it in the caller's protocol), and at the
  end of the call replaces any INVALID_ARGUMENT connectrpc composed around an exception it
  caught, whatever it was.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication

from consentd.api.asgi import Receive, Scope, Send, header
from consentd.api.connect_errors import connect_error
from consentd.api.grpc_web_text import BINARY, as_binary, is_text
from consentd.api.refusals import discard_body
from consentd.domain.errors import InvalidInput

# The timeout headers as connectrpc parses them: gRPC-Web's up to 8 digits and a unit, Connect's
# up to 10 digits of milliseconds.
GRPC_TIMEOUT = re.compile(r"[0-9]{1,8}[HMSmun]")
CONNECT_TIMEOUT = re.compile(r"[0-9]{1,10}")
UNREADABLE = "cannot be read: it is not in the encoding and compression the call names"

# The refusal of a malformed header, from BrowserService to WireErrors.on_start.
_refused: ContextVar[InvalidInput | None] = ContextVar("consentd_header_refused", default=None)


class WireErrors:
    """The Connect apps' first interceptor (a metadata interceptor: it runs before the body is
    read): refuses a malformed header BrowserService found, and puts connectrpc's own answers
    that quote an exception into our words."""

    async def on_start(self, ctx: RequestContext[Any, Any]) -> None:
        refused = _refused.get()
        if refused is not None:
            raise connect_error(refused)

    async def on_end(
        self, token: None, ctx: RequestContext[Any, Any], error: Exception | None, /
    ) -> None:
        if error is not None and _quotes_an_exception(error):
            raise connect_error(InvalidInput("request", UNREADABLE)) from None


def _quotes_an_exception(error: Exception) -> bool:
    """An INVALID_ARGUMENT connectrpc raised from an exception it caught, whose text its message
    quotes ("decompress: <zlib's words>"). Ours are raised from None; its own words ("Invalid
    base64 encoding"), a deadline or a disconnect are left as they are."""
    cause = error.__cause__
    return (
        isinstance(error, ConnectError)
        and error.code is Code.INVALID_ARGUMENT
        and cause is not None
        and not isinstance(cause, ConnectError)
        and str(cause) != ""
        and str(cause) in error.message
    )


class BrowserService:
    """One service's Connect app as the browser port serves it (api/http.py routes by `path`):
    gRPC-Web's text form translated to the binary form, and a malformed timeout header taken off
    the request and refused (WireErrors) before connectrpc parses it."""

    def __init__(self, app: ConnectASGIApplication[Any]) -> None:
        self.app = app
        self.path = app.path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = receive
        if is_text(scope):
            scope, receive, send = as_binary(scope, receive, send)
        scope, refused = _without_malformed_timeout(scope)
        if refused is not None:
            # Refused before connectrpc reads the body: read it first, undecoded, so that the
            # connection is not reset on unread bytes before the client reads the answer.
            await discard_body(body)
        token = _refused.set(refused)
        try:
            await self.app(scope, receive, send)
        finally:
            _refused.reset(token)


def _without_malformed_timeout(scope: Scope) -> tuple[Scope, InvalidInput | None]:
    """The request without its timeout header when that header is malformed, and the refusal:
    gRPC-Web's grpc-timeout, Connect's connect-timeout-ms (the one the protocol reads)."""
    kind = header(scope, b"content-type") or ""
    if kind == BINARY or kind.startswith(f"{BINARY}+"):
        name, form = b"grpc-timeout", GRPC_TIMEOUT
        reason = "must be 1 to 8 digits and a unit (H, M, S, m, u or n), e.g. 1500m"
    else:
        name, form = b"connect-timeout-ms", CONNECT_TIMEOUT
        reason = "must be 1 to 10 digits: the timeout in milliseconds"
    headers = scope.get("headers", ())
    values = [value.decode("latin-1") for key, value in headers if key == name]
    if name == b"connect-timeout-ms":
        values = [value for value in values if value]  # an empty one is no timeout
    if all(form.fullmatch(value) for value in values):
        return scope, None
    kept = [(key, value) for key, value in headers if key != name]
    return {**scope, "headers": kept}, InvalidInput(name.decode(), reason)
