"""gRPC-Web's text form (`application/grpc-web-text`): the frames of `application/grpc-web` in
base64, for browser clients that cannot read a binary response (grpc-web's `mode=grpcwebtext`,
its default). connectrpc serves only the binary form, so a text call is translated around it:
the request body is decoded as it arrives, the response is encoded as it leaves (one base64
text across all its chunks, padded only at its end), and each content type is swapped."""

from __future__ import annotations

import base64
import binascii
import re

from consentd.api.asgi import Message, Receive, Scope, Send, header
from consentd.api.connect_errors import connect_error
from consentd.domain.errors import InvalidInput

TEXT = "application/grpc-web-text"
BINARY = "application/grpc-web"
# A client may send its frames as separately padded base64 pieces: each ends at its padding.
_PADDED_RUN = re.compile(rb"[^=]*=*")


def is_text(scope: Scope) -> bool:
    """A call in the text form. `scope`'s content type is a media type in lower case, as
    BrowserService (api/connect_wire.py) leaves it: `Application/grpc-web-text` is one too."""
    kind = header(scope, b"content-type") or ""
    return kind == TEXT or kind.startswith(f"{TEXT}+")


def as_binary(scope: Scope, receive: Receive, send: Send) -> tuple[Scope, Receive, Send]:
    """A text call as the binary call connectrpc serves: its content type swapped (and its
    length dropped), its body decoded, its response encoded."""
    kind = header(scope, b"content-type") or TEXT
    headers = [
        (key, value)
        for key, value in scope.get("headers", ())
        if key not in (b"content-type", b"content-length")
    ]
    headers.append((b"content-type", (BINARY + kind[len(TEXT) :]).encode("latin-1")))
    return {**scope, "headers": headers}, _decoding(receive), _encoding(send)


def _decoding(receive: Receive) -> Receive:
    """`receive`, its body decoded from base64 (a piece cut mid-quantum waits for the rest).
    Raises INVALID_ARGUMENT (a ConnectError, answered by connectrpc) for what is not base64."""
    pending = b""

    async def receive_binary() -> Message:
        nonlocal pending
        message = await receive()
        if message["type"] != "http.request":
            return message
        text = pending + message.get("body", b"")
        cut = len(text) - len(text) % 4 if message.get("more_body", False) else len(text)
        pending = text[cut:]
        try:
            body = b"".join(
                base64.b64decode(run, validate=True)
                for run in _PADDED_RUN.findall(text[:cut])
                if run
            )
        except (binascii.Error, ValueError):
            reason = f"is not valid base64 (the content type is {TEXT})"
            raise connect_error(InvalidInput("request", reason)) from None
        return {**message, "body": body}

    return receive_binary


def _encoding(send: Send) -> Send:
    """`send`, a gRPC-Web response's content type and body in the text form (bytes that do not
    fill a base64 quantum wait for the next chunk, or for the last one)."""
    text = False
    carry = b""

    async def send_text(message: Message) -> None:
        nonlocal text, carry
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            for index, (key, value) in enumerate(headers):
                if key == b"content-type" and value.startswith(BINARY.encode()):
                    headers[index] = (key, TEXT.encode() + value[len(BINARY) :])
                    text = True
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and text:
            data = carry + message.get("body", b"")
            whole = len(data) - len(data) % 3 if message.get("more_body", False) else len(data)
            carry = data[whole:]
            message = {**message, "body": base64.b64encode(data[:whole])}
        await send(message)

    return send_text
