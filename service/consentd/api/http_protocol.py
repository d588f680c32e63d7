"""uvicorn's h11 protocol held to the browser port's rules (api/http_guard.py): read deadlines
for heads and bodies, a bounded head, no request both sized and chunked, connections waiting on
their client evictable when the port is full, an answer to a client that half-closed after its
request, and a 503 rather than a reset for requests that arrive while the server stops."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import CLOSE_HEADER
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from consentd.api.http_cycles import Lingering, WholeRequestCycle, abandon, reset, unsent
from consentd.api.http_guard import LINGER_SECONDS, MAX_HEAD_BYTES, ConnectionGuard, refusal
from consentd.api.unsubscribe_page import PREFIX as UNSUBSCRIBE

# At shutdown, how long an idle keep-alive connection still answers a request that arrives
# (503, retry elsewhere) before it is closed: closing it at once resets a request in flight.
SHUTDOWN_LINGER_SECONDS = 0.5
SHUTTING_DOWN = "the server is shutting down; retry"


class Phase(enum.Enum):
    HEAD = "head"  # waiting for a request head
    BODY = "body"  # the head is in, the body is not
    APP = "app"  # the request is in: the app answers it
    DONE = "done"  # refused or closing: whatever arrives is discarded


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
        self._stall: asyncio.TimerHandle | None = None  # set while the client reads nothing
        self._phase = Phase.HEAD
        self._head_bytes = 0
        self._line_seen = False
        self._eof = False
        self._stopping = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Lingering(transport, self))  # type: ignore[arg-type]
        if not self.guard.make_room(len(self.connections)):
            transport.abort()
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unstall()
        self.guard.waiting.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase is Phase.DONE:
            return
        if self._phase is Phase.HEAD:
            if self._stopping:
                self._refuse(503, SHUTTING_DOWN)
                return
            self._head_bytes += len(data)
            self._line_seen = self._line_seen or b"\n" in data
        cycle = self.cycle
        super().data_received(data)
        if self._closing():
            return
        if self.cycle is not cycle:
            self._head_received()
        elif self._phase is Phase.BODY and not self.cycle.more_body:
            self._phase = Phase.APP
            self._served()
            self._disarm()

    def eof_received(self) -> bool | None:  # type: ignore[override]
        """The client half-closed: a request it sent whole is still answered, then closed."""
        self._eof = True
        if self._phase is Phase.APP and not self.cycle.response_complete:
            return True
        return None

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()  # may start a pipelined request already read
        if self._closing():
            return
        if cycle.more_body:
            self.linger()  # answered before its body was read: the rest is not
        elif self._eof:
            self.transport.close()
        elif self.cycle is not cycle:
            self._head_received()
        else:
            self._await_head()
            if self._stopping:  # answered while stopping: what arrives next is told 503
                self._arm(SHUTDOWN_LINGER_SECONDS, self.transport.close)

    def shutdown(self) -> None:
        """The server stops: a connection inside a request finishes it, its answer saying
        `connection: close` when not begun yet (uvicorn's own shutdown closed after the answer
        without saying so: a client sending its next request met a closed connection); an idle
        one answers 503 to what arrives within SHUTDOWN_LINGER_SECONDS, then closes."""
        self._stopping = True
        if self._phase is Phase.HEAD:
            if self._head_bytes:
                self._refuse(503, SHUTTING_DOWN)
            else:
                self._arm(SHUTDOWN_LINGER_SECONDS, self.transport.close)
        elif self._phase is not Phase.DONE and not self.cycle.response_started:
            # uvicorn adds `connection: close` to the answer of a request that carried it, then
            # closes once it is written (self.headers is the list its scope holds)
            self.headers.append(CLOSE_HEADER)

    def pause_writing(self) -> None:
        """The client leaves what it is sent unread (its buffers are full): it may for
        write_seconds without reading any of it, and is evictable meanwhile (probe GC: one
        that never read held its connection for ever, out of the guard's reach)."""
        super().pause_writing()
        if self._stall is None and not self.transport.is_closing():
            self.guard.waiting[self] = None
            self._watch_stall()

    def _watch_stall(self) -> None:
        unread = unsent(self.transport)
        self._stall = self.loop.call_later(self.guard.write_seconds, self._stalled, unread)

    def _stalled(self, unread: int) -> None:
        """A client that read some of `unread` meanwhile (slowly) has another write_seconds."""
        if unsent(self.transport) < unread:
            self._watch_stall()
        else:
            self._drop()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._unstall()
        if self._phase in (Phase.APP, Phase.DONE):
            self._served()

    def _served(self) -> None:
        # The request is in: not waiting on its client, unless that reads nothing (pipelined)
        if self._stall is None:
            self.guard.waiting.pop(self, None)

    def _unstall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _drop(self) -> None:  # closing would wait for the client to read what is unread
        self._stall = None
        self._disarm()
        self.guard.waiting.pop(self, None)
        self._phase = Phase.DONE
        reset(self.transport)

    def send_400_response(self, msg: str) -> None:
        """h11 refused the bytes: a head too large (431, or 414 when the request line alone is)
        or not HTTP."""
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refuse_head_size(line_too_long=not self._line_seen)
        else:
            self._refuse(400, "the request is not valid HTTP/1.1")

    def close_waiting(self) -> None:
        """Closed to make room for a new connection: it waited longest for its client."""
        if self._stall is not None:
            self._drop()
            return
        self._disarm()
        if self._phase is Phase.BODY:
            abandon(self.cycle)
        self._phase = Phase.DONE
        self.transport.close()

    def _closing(self) -> bool:
        """Refused or closed meanwhile (by what super() ran)."""
        return self._phase is Phase.DONE or self.transport.is_closing()

    def _await_head(self) -> None:
        self._phase = Phase.HEAD
        self._head_bytes = 0
        self._line_seen = False
        self.guard.waiting[self] = None
        self.guard.waiting.move_to_end(self)
        self._arm(self.guard.head_seconds, self._late)

    def _head_received(self) -> None:
        if self.scope["path"].startswith(UNSUBSCRIBE):  # before the app's first receive
            self.cycle.__class__ = WholeRequestCycle
        self._served()
        self._disarm()
        if self._head_bytes > MAX_HEAD_BYTES and self._head_size() > MAX_HEAD_BYTES:
            # Read whole in one piece, so h11 never held an incomplete head that large.
            abandon(self.cycle)
            target = len(self.scope["raw_path"]) + len(self.scope["query_string"])
            self._refuse_head_size(line_too_long=target > MAX_HEAD_BYTES)
        elif self._sized_and_chunked():
            # Two framings: a proxy in front may read another request into it (smuggling).
            abandon(self.cycle)
            self._refuse(400, "a request may not carry both Content-Length and Transfer-Encoding")
        elif self.cycle.more_body:
            self._phase = Phase.BODY
            self.guard.waiting[self] = None
            self._arm(self.guard.body_seconds, self._late)
        else:
            self._phase = Phase.APP

    def _head_size(self) -> int:
        line = len(self.scope["raw_path"]) + len(self.scope["query_string"]) + 32
        return line + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _sized_and_chunked(self) -> bool:
        names = {name for name, _ in self.headers}
        return b"content-length" in names and b"transfer-encoding" in names

    def _late(self) -> None:
        """A deadline passed while waiting for the client: 408 (nothing, for an idle
        keep-alive connection)."""
        self._deadline = None
        if self._phase is Phase.BODY:
            started = self.cycle.response_started
            abandon(self.cycle)
            if started:
                self._phase = Phase.DONE
                self.transport.close()
                return
            seconds = self.guard.body_seconds
            self._refuse(408, f"the request body did not arrive within {seconds:g} s")
        elif self._head_bytes:
            seconds = self.guard.head_seconds
            self._refuse(408, f"the request head did not arrive within {seconds:g} s")
        else:
            self._phase = Phase.DONE
            self.guard.waiting.pop(self, None)
            self.transport.close()

    def _refuse_head_size(self, *, line_too_long: bool) -> None:
        if line_too_long:
            self._refuse(414, f"the request line is longer than {MAX_HEAD_BYTES} bytes")
        else:
            self._refuse(431, f"the request head is larger than {MAX_HEAD_BYTES} bytes")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with `message` and close once the client has had time to read it."""
        if self.transport.is_closing():
            self._phase = Phase.DONE
            return
        self.transport.write(refusal(status, message))
        self.linger()

    def body_arriving(self) -> bool:
        """The request being answered still has body on the way (the app answered early)."""
        return self._phase in (Phase.BODY, Phase.APP) and self.cycle.more_body

    def linger(self) -> None:
        """Close once the client had time to read what was written: what it still sends is
        read and dropped meanwhile (closing with unread bytes would reset the connection)."""
        self._disarm()
        self.guard.waiting.pop(self, None)
        self._phase = Phase.DONE
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
