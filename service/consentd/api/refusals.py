"""What the browser port answers before a body is read: native gRPC sent to it, a call without
a valid credential (UNAUTHENTICATED, as the Connect app would answer it), and a call in a
content type it does not serve (415, in our words, never echoing what was sent)."""

from __future__ import annotations

import json
import urllib.parse

import grpc
from google.protobuf import descriptor_pool

from consentd.api.asgi import Message, Receive, Scope, Send, header, respond
from consentd.api.calls import INTERNAL_MESSAGE, log_safely, new_request_id
from consentd.api.connect_codecs import CODECS
from consentd.api.errors import connect_json, details_header
from consentd.api.grpc_web_text import BINARY, TEXT
from consentd.domain.errors import Unauthenticated

CODEC_NAMES = tuple(codec.name() for codec in CODECS)
# What a call may be POSTed in: Connect's unary form, one per codec; gRPC-Web and its text form
# (api/grpc_web_text.py), naming no codec (proto) or one.
ACCEPTED_CONTENT_TYPES = (
    *(f"application/{name}" for name in CODEC_NAMES),
    *(
        f"{form}{suffix}"
        for form in (BINARY, TEXT)
        for suffix in ("", *(f"+{name}" for name in CODEC_NAMES))
    ),
)
ACCEPT_POST = ", ".join(ACCEPTED_CONTENT_TYPES).encode()

# Native gRPC sent to the browser port: a trailers-only answer (status in the headers, which
# every gRPC client reads), since this port has no HTTP/2 trailers to send one in.
NATIVE_GRPC_REFUSAL = [
    (b"content-type", b"application/grpc"),
    (b"grpc-status", b"12"),
    (
        b"grpc-message",
        b"this is the browser port (Connect, gRPC-Web); send native gRPC to the gRPC port",
    ),
]


# What a refused request may still send before the answer: read and thrown away undecoded, so
# the connection is not closed on unread bytes (the kernel would reset it and the client could
# lose the answer). A longer body is cut off: the connection closes, as for any abuse.
DISCARDED_BODY_LIMIT = 64 * 1024


async def discard_body(receive: Receive) -> None:
    """Read the request body up to DISCARDED_BODY_LIMIT bytes, undecoded, and drop it."""
    await small_body(receive, keep=False)


async def small_body(receive: Receive, *, keep: bool = True) -> bytes | None:
    """The request body's first DISCARDED_BODY_LIMIT bytes (what a page's form sends), read
    undecoded; the rest is left unread. `keep=False`: read and dropped (b""). None when the
    client went away, or was answered 408, before the body ended (a form cut off is no form:
    `stop=chan` was read as the first button; probe DD)."""
    kept, seen = bytearray(), 0
    while seen <= DISCARDED_BODY_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        seen += len(chunk)
        if keep:
            kept += chunk[: DISCARDED_BODY_LIMIT - len(kept)]
        if not message.get("more_body", False):
            break
    return bytes(kept)


def media_type(content_type: str) -> str:
    """A content type's media type, without its parameters and in lower case: a type and
    subtype are case-insensitive (RFC 9110), so `Application/grpc-web-text` is gRPC-Web."""
    return content_type.partition(";")[0].strip().lower()


def _charset(content_type: str) -> str:
    """The charset parameter of a content type, in lower case and unquoted; "" when none."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return ""


def is_grpc_web(kind: str) -> bool:
    """gRPC-Web or its text form, naming a codec or not (`kind`: a media type)."""
    return any(kind == form or kind.startswith(f"{form}+") for form in (BINARY, TEXT))


def is_native_grpc(scope: Scope) -> bool:
    """A native gRPC call (application/grpc, not gRPC-Web)."""
    kind = (header(scope, b"content-type") or "").lower()
    return kind.startswith("application/grpc") and not kind.startswith("application/grpc-web")


async def refuse_native_grpc(send: Send) -> None:
    await respond(send, 200, headers=NATIVE_GRPC_REFUSAL)


def closing(send: Send) -> Send:
    """`send`, saying `connection: close` in the response's head: the server then closes
    once the answer is read, lingering over a body still on the way (api/http_protocol.py)."""

    async def close_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return close_send


# The HTTP status of Connect's error codes a credential is refused with (the Connect protocol's
# table); anything else is a 500.
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    # No such method: connectrpc's own answer to a path it does not route.
    grpc.StatusCode.UNIMPLEMENTED: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
UNAUTHENTICATED = (grpc.StatusCode.UNAUTHENTICATED, Unauthenticated().message)
UNIMPLEMENTED = grpc.StatusCode.UNIMPLEMENTED
# `/t/<slug>/...`: its preflight was told "origin not allowed" and its call "missing or invalid
# credentials", without CORS headers, for an allowed origin and a valid key (probe QC).
NOT_A_TENANT_ID = (
    grpc.StatusCode.INVALID_ARGUMENT,
    "the path's /t/<tenant id>/ takes the tenant's id, a UUID in lower case as `consentd "
    "tenants list` prints it, not its slug",
)


async def refuse_unread(scope: Scope, send: Send, refusal: tuple[grpc.StatusCode, str]) -> None:
    """A call refused before the body is read (UNAUTHENTICATED; its scopes, PERMISSION_DENIED;
    the allowance of look-ups spent, RESOURCE_EXHAUSTED; the database unreachable, UNAVAILABLE;
    a path naming no method, UNIMPLEMENTED): in gRPC-Web's form (status in the headers) or
    Connect's (a JSON error), as the Connect app would answer it."""
    code, message = refusal
    kind = media_type(header(scope, b"content-type") or "")
    if is_grpc_web(kind):
        await grpc_web_status(send, kind, code, message)
        return
    body, status = connect_json(code, message), _HTTP_STATUS.get(code, 500)
    await respond(send, status, body, [(b"content-type", b"application/json")])


def is_method(path: str) -> bool:
    """Whether `/<service>/<method>` names a method of the contract."""
    service, _, method = path.strip("/").rpartition("/")
    return in_contract(service, method)


def in_contract(service: str, method: str | None = None) -> bool:
    """Whether the contract has this service (and this method of it, when named)."""
    try:
        found = descriptor_pool.Default().FindServiceByName(service)
        if method is not None:
            found.FindMethodByName(method)
    except KeyError:
        return False
    return True


ELSEWHERE = "is not served on the browser port: call it on the gRPC port"


async def refuse_unserved(scope: Scope, send: Send, service: str, method: str) -> None:
    """A service of the contract this port does not serve (CampaignService, ...), or none of
    it: UNIMPLEMENTED in the call's protocol (it was a bare 404 "not found"). Over Connect, a
    served method refused here is 501 as Connect's table has it (RightsService.EraseSubject
    was, CampaignService's 404: probe FC); a path naming nothing in the contract stays 404."""
    kind = media_type(header(scope, b"content-type") or "")
    message = f"{service}/{method} {ELSEWHERE}"
    status = 501
    if not in_contract(service):  # it sent the caller to the gRPC port for a service nowhere
        message, status = f"there is no service {service}", 404
    elif not in_contract(service, method):  # nor for a method nowhere (probe FE)
        message, status = f"{service} has no such method", 404
    if is_grpc_web(kind):
        await grpc_web_status(send, kind, grpc.StatusCode.UNIMPLEMENTED, message)
        return
    body = connect_json(grpc.StatusCode.UNIMPLEMENTED, message)
    await respond(send, status, body, [(b"content-type", b"application/json")])


async def grpc_web_status(send: Send, kind: str, code: grpc.StatusCode, message: str) -> None:
    """A gRPC-Web answer of only a status (in its headers: trailers-only), in the call's media
    type `kind` (never the header as sent: its parameters are not echoed)."""
    answered = kind if kind in ACCEPTED_CONTENT_TYPES else BINARY
    headers = [
        (b"content-type", answered.encode()),
        (b"grpc-status", str(code.value[0]).encode()),
        (b"grpc-message", message.encode()),
        (b"grpc-status-details-bin", details_header(code, message)),
    ]
    await respond(send, 200, headers=headers)


def unsupported_media_type(scope: Scope) -> bytes | None:
    """Why the Connect apps cannot read the call in the form it names (what a 415 says), or
    None: a POST's content type (a media type) must be one of ACCEPTED_CONTENT_TYPES; a GET (a
    Connect call in the URL) names a codec in its `encoding` parameter."""
    if scope["method"] == "POST":
        content_type = header(scope, b"content-type") or ""
        if media_type(content_type) not in ACCEPTED_CONTENT_TYPES:
            return f"content-type: not supported: use {_either(ACCEPTED_CONTENT_TYPES)}".encode()
        if _charset(content_type) not in ("", "utf-8", "utf8"):
            # JSON is UTF-8 (RFC 8259): a body said to be UTF-16 or latin-1 was read as UTF-8.
            return b"content-type: charset not supported: send UTF-8 (charset=utf-8, or none)"
        return None
    if scope["method"] == "GET":
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("encoding", [""])[0] in CODEC_NAMES:
            return None
        return f"encoding: not supported: use {_either(CODEC_NAMES)}".encode()
    return None


async def refuse_unsupported_media_type(send: Send, reason: bytes) -> None:
    """415 with `reason` as a short text, and Accept-Post naming every accepted content type."""
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"accept-post", ACCEPT_POST)]
    await respond(send, 415, reason, headers)


def explaining_refusals(service: str, kind: str, send: Send, *, post_only: bool = False) -> Send:
    """`send`, answering in our words where connectrpc answers a method the service does not
    have (404) or an HTTP method it does not take (405) with an empty body: UNIMPLEMENTED and
    why, in the form the call was sent in (`kind`, its media type): gRPC-Web's status headers,
    or Connect's JSON error. A 404 with a body (a servicer's NOT_FOUND) goes as it is.
    `post_only`: the method takes no GET (its request names a person), whatever connectrpc's
    `Allow` says (probe XD: `GET, POST`, then GET refused)."""
    held: list[Message] = []

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] in (404, 405):
            held.append(message)  # until its body shows whether connectrpc said anything
        elif held and message["type"] == "http.response.body":
            start = held.pop()
            if message.get("body") or message.get("more_body", False):
                await send(start)
                await send(message)
            else:
                await _send_unimplemented(send, start, service, kind, post_only)
        else:
            await send(message)

    return sending


async def _send_unimplemented(
    send: Send, start: Message, service: str, kind: str, post_only: bool
) -> None:
    text = _unimplemented(service, start["status"], post_only)
    if is_grpc_web(kind):
        await grpc_web_status(send, kind, grpc.StatusCode.UNIMPLEMENTED, text)
        return
    body = json.dumps({"code": "unimplemented", "message": text}).encode()
    dropped = (b"content-type", b"content-length", *((b"allow",) if post_only else ()))
    kept = [(k, v) for k, v in start.get("headers", ()) if k.lower() not in dropped]
    if post_only and start["status"] == 405:
        kept.append((b"allow", b"POST"))
    await respond(send, start["status"], body, [*kept, (b"content-type", b"application/json")])


def _unimplemented(service: str, status: int, post_only: bool) -> str:
    """What a 404 or a 405 says (the path as sent is never echoed)."""
    name = service.strip("/")
    if status == 404:
        return f"{name} has no such method"
    if post_only:
        return "this method takes POST only (its request can name a person)"
    return f"the methods of {name} take POST (GET for those without side effects)"


def _either(names: tuple[str, ...]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


async def answer_internal(send: Send, error: Exception) -> None:
    """The answer to a bug met before any answer began: a Connect error quoting an id, logged
    with it (it was uvicorn's plain-text 500; probe CC met one in a draft of a check)."""
    request_id = new_request_id()
    log_safely("error", "http_failed", request_id=request_id, exc_info=error)
    body = json.dumps({"code": "internal", "message": INTERNAL_MESSAGE.format(request_id)})
    await respond(closing(send), 500, body.encode(), [(b"content-type", b"application/json")])
