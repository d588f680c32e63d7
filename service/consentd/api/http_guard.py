"""The browser port's defences against clients that hold connections without finishing their
requests (slowloris): a request head must arrive whole within HEAD_SECONDS of the connection or of
the previous response, a body within BODY_SECONDS of its head, and the port holds at most
`limit` connections, closing the one that has waited longest for a head to make room. Refusals
are answered with a status (408, 414, 431, 400) and a lingering close, so the client reads the
answer instead of a reset.

Without these, half-sent requests were never closed: about 20,000 of them used up the process's
file descriptors and the gRPC port stopped answering too."""

from __future__ import annotations

import resource
import time
from collections import OrderedDict
from typing import Protocol

import structlog

log = structlog.get_logger("consentd.http")

HEAD_SECONDS = 10.0
BODY_SECONDS = 30.0
# How long a client may leave what it is sent unread (the connection's buffers full) before the
# connection is dropped: one that never read held it for ever (probe GC: 100 of them, no key,
# filled the port).
WRITE_SECONDS = 30.0
# The largest request head (request line and headers) read: h11's own default.
MAX_HEAD_BYTES = 16 * 1024
# How long a refused connection is still read (and discarded) before it is closed: closing a
# socket with unread bytes sends a reset, which can destroy the answer before the client reads it.
LINGER_SECONDS = 2.0
# How often the port logs that it is full, at most.
FULL_LOG_SECONDS = 10.0


def file_descriptors() -> int | None:
    """The process's file descriptor limit, its soft limit raised to the hard one first; None
    when unlimited."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def descriptor_share(divisor: int, low: int, high: int) -> int:
    """The process's file descriptors divided by `divisor`, between `low` and `high` (`high`
    when unlimited): how many connections a port may hold."""
    limit = file_descriptors()
    return high if limit is None else max(low, min(high, limit // divisor))


def default_connection_limit() -> int:
    """A quarter of the process's file descriptors, between 64 and 10,000: the rest stay for the
    gRPC port (api/server.py takes half), PostgreSQL and the logs."""
    return descriptor_share(4, 64, 10_000)


class Waiting(Protocol):
    """A connection waiting for its client's bytes (a request head or the rest of a body)."""

    def close_waiting(self) -> None:
        """Close it to make room for a new connection."""


class ConnectionGuard:
    """What the connections of one port share: how many may be open, and those waiting for
    their client (its bytes: a request head, or a body; or to read what it is sent), the
    longest-waiting first (the first closed when the port is full)."""

    def __init__(
        self,
        limit: int | None = None,
        *,
        head_seconds: float = HEAD_SECONDS,
        body_seconds: float = BODY_SECONDS,
        write_seconds: float = WRITE_SECONDS,
    ) -> None:
        """`limit`: the most connections open at once (default_connection_limit() when None)."""
        self.limit = limit or default_connection_limit()
        self.head_seconds = head_seconds
        self.body_seconds = body_seconds
        self.write_seconds = write_seconds
        self.waiting: OrderedDict[Waiting, None] = OrderedDict()
        self.refused = 0
        self._logged_at = 0.0

    def make_room(self, connections: int) -> bool:
        """True when a new connection may stay: below the limit, or once the connection that has
        waited longest for its client is closed."""
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


def refusal(status: int, message: str) -> bytes:
    """A whole HTTP/1.1 answer: `status`, `message` as text, and the connection closing."""
    body = message.encode() + b"\n"
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
        % (status, REASONS.get(status, b"Error"), len(body), body)
    )


REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}
