"""The browser port's defences against clients that hold connections without finishing their
requests (slowloris): a request head must arrive whole within HEAD_SECONDS of the connection or of
the previous response, a body within BODY_SECONDS of its head, and the port holds at most
`limit` connections, closing the one that has waited longest for a head to make room. Refusals
are answered with a status (408, 414, 431, 400) and a lingering close, so the client reads the
answer instead of a reset.

Without these, half-sent requests were never closed: about 20,000 of them used up the process's
file descriptors and the gRPC port stopped answering too."""

from __future__ import annotations

import asyncio
import resource
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

log = structlog.get_logger("consentd.http")

HEAD_SECONDS = 10.0
BODY_SECONDS = 30.0
# The largest request head (request line and headers) read: h11's own default.
MAX_HEAD_BYTES = 16 * 1024
# How long a refused connection is still read (and discarded) before it is closed: closing a
# socket with unread bytes sends a reset, which can destroy the answer before the client reads it.
LINGER_SECONDS = 2.0
# How often the port logs that it is full, at most.
FULL_LOG_SECONDS = 10.0


def default_connection_limit() -> int:
    """A quarter of the process's file descriptors (raised to the hard limit first), between 64
    and 10,000: the rest stay for the gRPC port, PostgreSQL and the logs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return 10_000
    return max(64, min(10_000, soft // 4))


class ConnectionGuard:
    """What the connections of one port share: how many may be open, and those waiting for a
    request head, the longest-waiting first (the first closed when the port is full)."""

    def __init__(
        self,
        limit: int | None = None,
        *,
        head_seconds: float = HEAD_SECONDS,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        """`limit`: the most connections open at once (default_connection_limit() when None)."""
        self.limit = limit or default_connection_limit()
        self.head_seconds = head_seconds
        self.body_seconds = body_seconds
        self.waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.refused = 0
        self._logged_at = 0.0

    def make_room(self, connections: int) -> bool:
        """True when a new connection may stay: below the limit, or once the connection that has
        waited longest for a request head is closed."""
        if connections <= self.limit:
            return True
        if self.waiting:
            oldest, _ = self.waiting.popitem(last=False)
            oldest.close_waiting()
            self._note_full()
            return True
        self.refused += 1
        self._note_full()
        return False

    def _note_full(self) -> None:
        now = time.monotonic()
        if now - self._logged_at >= FULL_LOG_SECONDS:
            self._logged_at = now
            log.warning("http_connections_full", limit=self.limit, refused=self.refused)


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """The protocol class a uvicorn Config takes (`http=`), bound to the port's guard."""
    return type("BoundGuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines, a bounded head and a connection limit."""

    guard: ConnectionGuard

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._line_seen = False
        self._discarding = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.make_room(len(self.connections)):
            transport.abort()
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.guard.waiting.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if self in self.guard.waiting:
            self._head_bytes += len(data)
            self._line_seen = self._line_seen or b"\n" in data
        cycle = self.cycle
        super().data_received(data)
        if self._discarding or self.transport.is_closing():
            return
        if self.cycle is not cycle:
            self._head_received()
        elif self not in self.guard.waiting and self.cycle is not None and not self.cycle.more_body:
            self._disarm()  # the body is in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._discarding:
            self._await_head()

    def send_400_response(self, msg: str) -> None:
        """h11 refused the bytes: a head too large (431, or 414 when the request line alone is)
        or not HTTP."""
        if self._head_bytes > MAX_HEAD_BYTES:
            if self._line_seen:
                self._refuse(431, "the request head is larger than 16384 bytes")
            else:
                self._refuse(414, "the request line is longer than 16384 bytes")
        else:
            self._refuse(400, "the request is not valid HTTP/1.1")

    def close_waiting(self) -> None:
        """Closed to make room for a new connection."""
        self._disarm()
        self.transport.close()

    def _await_head(self) -> None:
        self._head_bytes = 0
        self._line_seen = False
        self.guard.waiting[self] = None
        self.guard.waiting.move_to_end(self)
        self._arm(self.guard.head_seconds, self._head_late)

    def _head_received(self) -> None:
        self.guard.waiting.pop(self, None)
        self._disarm()
        if self.cycle is not None and self.cycle.more_body:
            self._arm(self.guard.body_seconds, self._body_late)

    def _head_late(self) -> None:
        self._deadline = None
        self.guard.waiting.pop(self, None)
        if self._head_bytes:
            seconds = self.guard.head_seconds
            self._refuse(408, f"the request head did not arrive within {seconds:g} s")
        else:
            self.transport.close()  # an idle keep-alive connection: nothing to answer

    def _body_late(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body:
            return
        started = cycle.response_started
        # The app reads a disconnect and its answer, if any, is dropped: ours goes instead.
        cycle.disconnected = True
        cycle.message_event.set()
        if started:
            self.transport.close()
        else:
            seconds = self.guard.body_seconds
            self._refuse(408, f"the request body did not arrive within {seconds:g} s")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with `message` and close once the client has had time to read it."""
        self._disarm()
        self.guard.waiting.pop(self, None)
        if self.transport.is_closing():
            return
        body = message.encode() + b"\n"
        reason = h11_reason(status)
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (status, reason, len(body), body)
        )
        self._discarding = True
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _arm(self, seconds: float, late: Callable[[], None]) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, late)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def h11_reason(status: int) -> bytes:
    """The reason phrase of a refusal status."""
    return {
        400: b"Bad Request",
        408: b"Request Timeout",
        414: b"URI Too Long",
        431: b"Request Header Fields Too Large",
    }.get(status, b"Error")
