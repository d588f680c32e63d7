"""The few ASGI pieces the browser port's HTTP side is built from: the callable types, a request
header, a whole response, and the lifespan protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header(scope: Scope, name: bytes) -> str | None:
    """The request's first header `name` (lower case), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


async def respond(
    send: Send, status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """The whole response in one start message and one body message."""
    await send({"type": "http.response.start", "status": status, "headers": headers or []})
    await send({"type": "http.response.body", "body": body})


async def lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge startup and shutdown: the app has nothing to open or close."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


NOSNIFF = (b"x-content-type-options", b"nosniff")
# An answer names a person (an export, their consents, a check): no cache keeps it, a shared
# one least of all (Connect GET answers had no Cache-Control, probe HD). Static files set
# their own.
NO_STORE = (b"cache-control", b"no-store")


def with_safe_headers(send: Send) -> Send:
    """`send`, adding `X-Content-Type-Options: nosniff` (a browser never reads an answer as a
    page or a script; a 404 and a refused preflight had none, probe AF) and `Cache-Control:
    no-store` to every answer that lacks them."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {name.lower() for name, _ in headers}
            added = [header for header in (NOSNIFF, NO_STORE) if header[0] not in names]
            if added:
                message = {**message, "headers": [*headers, *added]}
        await send(message)

    return sending


class Started:
    """A `send` that knows whether the answer began."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


def closed_by_the_server(error: Exception) -> bool:
    """Whether `error` is the HTTP layer's: it answered a malformed body (a bad chunk) 400 and
    closed the connection while the app wrote its answer."""
    return isinstance(error, RuntimeError) and "after write_eof" in str(error)
