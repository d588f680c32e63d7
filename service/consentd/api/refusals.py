"""What the browser port answers before a body is read: native gRPC sent to it, and a call
without a valid credential (UNAUTHENTICATED, as the Connect app would answer it)."""

from __future__ import annotations

import json

import grpc

from consentd.api.asgi import Receive, Scope, Send, header, respond
from consentd.domain.errors import Unauthenticated

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
    seen = 0
    while seen <= DISCARDED_BODY_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def is_native_grpc(scope: Scope) -> bool:
    """A native gRPC call (application/grpc, not gRPC-Web)."""
    kind = (header(scope, b"content-type") or "").lower()
    return kind.startswith("application/grpc") and not kind.startswith("application/grpc-web")


async def refuse_native_grpc(send: Send) -> None:
    await respond(send, 200, headers=NATIVE_GRPC_REFUSAL)


async def refuse_unauthenticated(scope: Scope, send: Send) -> None:
    """UNAUTHENTICATED before the body is read: in gRPC-Web's form (status in the headers) or
    Connect's (401, a JSON error), as the Connect app would answer it."""
    kind = (header(scope, b"content-type") or "").lower()
    message = Unauthenticated().message
    if kind.startswith("application/grpc-web"):
        headers = [
            (b"content-type", kind.encode()),
            (b"grpc-status", str(grpc.StatusCode.UNAUTHENTICATED.value[0]).encode()),
            (b"grpc-message", message.encode()),
        ]
        await respond(send, 200, headers=headers)
        return
    body = json.dumps({"code": "unauthenticated", "message": message}).encode()
    await respond(send, 401, body, [(b"content-type", b"application/json")])
