"""What the browser port answers for a request connectrpc cannot read, in our words.

connectrpc answers some malformed requests itself, in its own words ("unary request has zero
messages", "protocol error: promised 20 bytes in enveloped message, got 17 bytes", a bare 415),
quoting the exception it caught ("decompress: Error -3 while decompressing data: incorrect
header check") or echoing a header ("unknown compression: '<img src=x>'"). Callers get ours
instead, and never a header's value back:

* BrowserService, before connectrpc sees the call: reads its content type as a media type (in
  any case) and answers 415 in our words for one the port does not serve (api/refusals.py);
  takes a malformed header connectrpc checks before any interceptor runs (the protocol version,
  the timeout) off the request and has WireErrors refuse it; serves gRPC-Web's text form
  (api/grpc_web_text.py);
* the codecs and compressions (api/connect_codecs.py) refuse a body they cannot read in our
  words at the source, naming the field where there is one;
* WireErrors, the first interceptor of every Connect app, runs before the body is read: it
  raises that header's refusal (so connectrpc writes it in the caller's protocol), and at the
  end of the call replaces connectrpc's own answers with ours: any INVALID_ARGUMENT composed
  around an exception it caught, and each one of LIBRARY_ANSWERS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication
from google.protobuf import descriptor_pool

from consentd.api.asgi import Receive, Scope, Send, header
from consentd.api.calls import COUNTED, Failure, count_refused, metadata_of
from consentd.api.connect_codecs import COMPRESSIONS
from consentd.api.connect_errors import connect_error, failure_error, grpc_status
from consentd.api.connect_headers import (
    CALLER_TIMEOUT,
    binary_get_in_base64,
    malformed_get_message,
    names_a_person,
    without_malformed_headers,
)
from consentd.api.grpc_web_text import as_binary, is_text
from consentd.api.refusals import (
    discard_body,
    explaining_refusals,
    is_grpc_web,
    media_type,
    refuse_unsupported_media_type,
    unsupported_media_type,
)
from consentd.domain.errors import InvalidInput, ResourceExhausted
from consentd.telemetry import Telemetry

UNREADABLE = (
    "cannot be read: it is not a valid message in the encoding and compression the call names"
)
ENCODINGS = (*(compression.name() for compression in COMPRESSIONS), "identity")

# The refusal of a malformed header, from BrowserService to WireErrors.on_start.
_refused: ContextVar[InvalidInput | None] = ContextVar("consentd_header_refused", default=None)


class WireErrors:
    """The Connect apps' first interceptor (a metadata interceptor: it runs before the body is
    read): refuses a malformed header BrowserService found, and puts connectrpc's own answers
    into our words."""

    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self._telemetry = telemetry  # counts the calls refused before the gate ran

    async def on_start(self, ctx: RequestContext[Any, Any]) -> None:
        COUNTED.set(False)
        refused = _refused.get()
        if refused is not None:
            raise connect_error(refused)

    async def on_end(
        self, token: None, ctx: RequestContext[Any, Any], error: Exception | None, /
    ) -> None:
        if not isinstance(error, ConnectError):
            return
        try:
            self._translate(error, ctx)
        except ConnectError as ours:
            self._count(ctx, ours)
            raise
        self._count(ctx, error)

    def _translate(self, error: ConnectError, ctx: RequestContext[Any, Any]) -> None:
        if _quotes_an_exception(error):
            raise connect_error(InvalidInput("request", UNREADABLE)) from None
        for code, words, answer in LIBRARY_ANSWERS:
            if error.code is code and (found := words.match(error.message)):
                raise answer(found, ctx) from None

    def _count(self, ctx: RequestContext[Any, Any], error: ConnectError) -> None:
        if self._telemetry is None or COUNTED.get():
            return
        method = f"/{ctx.method.service_name}/{ctx.method.name}"
        headers = metadata_of(ctx.request_headers.allitems())
        count_refused(method, self._telemetry, headers, grpc_status(error.code))


def _quotes_an_exception(error: ConnectError) -> bool:
    """An INVALID_ARGUMENT connectrpc raised from an exception it caught, whose text its message
    quotes ("decompress: <zlib's words>"). Ours are raised from None; a deadline or a
    disconnect are left as they are."""
    cause = error.__cause__
    return (
        error.code is Code.INVALID_ARGUMENT
        and cause is not None
        and not isinstance(cause, ConnectError)
        and str(cause) != ""
        and str(cause) in error.message
    )


Answer = Callable[[re.Match[str], RequestContext[Any, Any]], ConnectError]


def _invalid(field: str, reason: str) -> Answer:
    return lambda found, ctx: connect_error(InvalidInput(field, reason))


def _too_large(found: re.Match[str], ctx: RequestContext[Any, Any]) -> ConnectError:
    limit = found.group(1)
    return connect_error(
        ResourceExhausted(message=f"request: the message is larger than {limit} bytes")
    )


def _flagged_compressed(found: re.Match[str], ctx: RequestContext[Any, Any]) -> ConnectError:
    name = "grpc-encoding" if _grpc_web(ctx) else "connect-content-encoding"
    reason = f"a message is flagged compressed, but no {name} header names its compression"
    return connect_error(InvalidInput("request", reason))


def _unknown_compression(found: re.Match[str], ctx: RequestContext[Any, Any]) -> ConnectError:
    """Named after where the call names its compression: a GET's query parameter, gRPC-Web's
    header or Connect's."""
    if ctx.http_method == "GET":
        name = "compression"
    else:
        name = "grpc-encoding" if _grpc_web(ctx) else "content-encoding"
    usable = f"{', '.join(ENCODINGS[:-1])} or {ENCODINGS[-1]}"
    return _failure(grpc.StatusCode.UNIMPLEMENTED, f"{name}: not supported: use {usable}")


def _deadline(found: re.Match[str], ctx: RequestContext[Any, Any]) -> ConnectError:
    name = "grpc-timeout" if _grpc_web(ctx) else "connect-timeout-ms"
    return _failure(grpc.StatusCode.DEADLINE_EXCEEDED, CALLER_TIMEOUT.format(name))


def _not_served(found: re.Match[str], ctx: RequestContext[Any, Any]) -> ConnectError:
    return not_served(ctx)


def not_served(ctx: RequestContext[Any, Any]) -> ConnectError:
    """UNIMPLEMENTED for a method the browser port does not serve (to this caller)."""
    method = f"{ctx.method.service_name}/{ctx.method.name}"
    message = f"{method} is not served on the browser port: call it on the gRPC port"
    return _failure(grpc.StatusCode.UNIMPLEMENTED, message)


def _failure(code: grpc.StatusCode, message: str) -> ConnectError:
    return failure_error(Failure(code, message))


def _grpc_web(ctx: RequestContext[Any, Any]) -> bool:
    return is_grpc_web(media_type(ctx.request_headers.get("content-type", "")))


# connectrpc's own answers (as of 0.13: its code and the start of its words, which
# tests/e2e/test_browser_wire.py provokes one by one), and ours instead.
LIBRARY_ANSWERS: tuple[tuple[Code, re.Pattern[str], Answer], ...] = (
    (
        Code.UNIMPLEMENTED,
        re.compile("unary request has zero messages"),
        _invalid("request", "the body holds no message"),
    ),
    (
        Code.UNIMPLEMENTED,
        re.compile("unary request has multiple messages"),
        _invalid("request", "the body holds more than one message: the call takes one"),
    ),
    (
        Code.INVALID_ARGUMENT,
        re.compile("protocol error: (promised|incomplete envelope)"),
        _invalid("request", "the body ends inside a message"),
    ),
    (
        Code.INVALID_ARGUMENT,
        re.compile("protocol error: invalid envelope flags"),
        _invalid("request", "a message's flags must be 0, or 1 when it is compressed"),
    ),
    (Code.INTERNAL, re.compile("protocol error: sent compressed message"), _flagged_compressed),
    (
        Code.RESOURCE_EXHAUSTED,
        re.compile(r"message is larger than configured max (\d+)"),
        _too_large,
    ),
    (
        Code.INVALID_ARGUMENT,
        re.compile("'message' parameter is required"),
        _invalid("message", "is required for a GET call: the request, in the encoding it names"),
    ),
    (
        Code.INVALID_ARGUMENT,
        re.compile("Invalid base64 encoding"),
        _invalid("message", "is not valid base64url (the base64 parameter is 1)"),
    ),
    (Code.UNIMPLEMENTED, re.compile("unknown compression"), _unknown_compression),
    (Code.DEADLINE_EXCEEDED, re.compile("Request timed out"), _deadline),
    (Code.UNIMPLEMENTED, re.compile("Not implemented"), _not_served),
)


class BrowserService:
    """One service's Connect app as the browser port serves it (api/http.py routes by `path`):
    its content type read as a media type, and refused (415) when the app cannot read it;
    gRPC-Web's text form translated to the binary form; a malformed header taken off the
    request and refused (WireErrors) before connectrpc parses it."""

    def __init__(self, app: ConnectASGIApplication[Any], served_by: object = None) -> None:
        self.app = app
        self.path = app.path
        # The methods `served_by` (the app's implementation) leaves to the gRPC port, refused
        # from the request's head once it is admitted (a stream's path answered 415 with no
        # body; probe KC).
        self.unserved = _left_out(app.path, served_by) if served_by is not None else frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = receive
        unsupported = unsupported_media_type(scope)  # (its charset too: read it first)
        scope = _with_media_type(scope)
        if unsupported is not None:
            # Answered before the body is read: read it first, undecoded, so that the
            # connection is not reset on unread bytes before the client reads the answer.
            await discard_body(body)
            await refuse_unsupported_media_type(send, unsupported)
            return
        if is_text(scope):
            scope, receive, send = as_binary(scope, receive, send)
        scope, refused = without_malformed_headers(scope)
        refused = refused or malformed_get_message(scope)
        if refused is not None:
            await discard_body(body)
        else:
            scope = binary_get_in_base64(scope)
        token = _refused.set(refused)
        kind = header(scope, b"content-type") or ""
        try:
            post_only = names_a_person(*scope.get("path", "").rsplit("/", 2)[-2:])
            answering = explaining_refusals(self.path, kind, send, post_only=post_only)
            await self.app(scope, receive, answering)
        finally:
            _refused.reset(token)


def _left_out(path: str, implementation: object) -> frozenset[str]:
    """The paths of the service's methods the implementation does not define (the generated
    Protocol's own answer UNIMPLEMENTED)."""
    own = {name for k in type(implementation).__mro__ if _ours(k) for name in vars(k)}
    methods = descriptor_pool.Default().FindServiceByName(path.strip("/")).methods
    return frozenset(f"{path}/{m.name}" for m in methods if _snake(m.name) not in own)


def _snake(name: str) -> str:
    """BatchCheckConsent -> batch_check_consent, as the generated Protocol names it."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _ours(kind: type) -> bool:
    module = kind.__module__
    return not module.endswith("_connect") and module not in ("typing", "builtins")


def _with_media_type(scope: Scope) -> Scope:
    """The request with its content type as its media type (lower case, no parameters), the
    form connectrpc matches exactly."""
    headers = scope.get("headers", ())
    kind = header(scope, b"content-type")
    if kind is None:
        return scope
    kept = [(key, value) for key, value in headers if key != b"content-type"]
    return {**scope, "headers": [*kept, (b"content-type", media_type(kind).encode("latin-1"))]}
