"""What uvicorn's h11 request cycle holds, as the browser port's protocol (api/http_protocol.py)
needs it: a transport whose close lingers while a body is still on the way, and a cycle that
hands the unsubscribe page a body that arrived whole."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import socket
import struct
import termios
from typing import Any, Protocol

from uvicorn.protocols.http.h11_impl import RequestResponseCycle


class Closable(Protocol):
    """The protocol behind a Lingering transport."""

    def body_arriving(self) -> bool: ...

    def linger(self) -> None: ...


class Lingering:
    """The connection's transport as uvicorn's request cycle holds it: closing it while the
    request's body is still on the way lingers instead (what uvicorn does when the client said
    `connection: close` and the app answered before reading the body: a 401, 405, 415 or a
    passed deadline). Closing at once made the kernel reset the connection when the rest of the
    body arrived, and the client lost the answer (urllib sends a body apart from the head)."""

    def __init__(self, transport: asyncio.Transport, protocol: Closable) -> None:
        self._transport = transport
        self._protocol = protocol

    def close(self) -> None:
        if self._protocol.body_arriving():
            self._protocol.linger()
        else:
            self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class WholeRequestCycle(RequestResponseCycle):
    """uvicorn's request cycle, handing the app a request whose body arrived whole even when
    the client went away since: uvicorn answered `http.disconnect` with the body in hand, and
    an unsubscribe form followed at once by a reset (a proxy aborting its upstream, a mail
    client's SO_LINGER 0) was taken as cut off, the click lost (probe DK). The unsubscribe
    link's only: the person's word, which no answer needs to reach; a Connect call handed
    over so was cancelled by connectrpc at its next await, committed or not (probe DL)."""

    handed = False  # the whole body went to the app already

    async def receive(self) -> Any:
        if self.disconnected and not self.more_body and not self.handed:
            self.handed = True
            body, self.body = bytes(self.body), bytearray()
            return {"type": "http.request", "body": body, "more_body": False}
        message = await super().receive()
        if message["type"] == "http.request" and not message.get("more_body"):
            self.handed = True
        return message


def abandon(cycle: RequestResponseCycle) -> None:
    """The app reads a disconnect, and its answer, if any, is dropped: ours goes instead.
    Whole or not, its body is not handed over (WholeRequestCycle): a request refused 400 (sized
    and chunked) or 431 was carried out all the same (probe DL)."""
    if isinstance(cycle, WholeRequestCycle):
        cycle.handed = True
    cycle.disconnected = True
    cycle.message_event.set()


def unsent(transport: asyncio.Transport) -> int:
    """The bytes written to `transport` its client has not read yet: asyncio's buffer, and the
    kernel's (TIOCOUTQ), which takes megabytes on loopback before asyncio holds any."""
    held = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
            held += struct.unpack("i", queued)[0]
    return held


def reset(transport: asyncio.Transport) -> None:
    """Closed with a reset, what is unsent discarded: a plain close leaves the kernel sending it
    to a client that reads nothing (megabytes a connection, held after the descriptor)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
