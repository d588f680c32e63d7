"""The one pipeline of every call, on both ports: its request id and span, the status any
failure becomes, and its `rpc` log line. The gRPC interceptor and the browser gate both use it.

A failure becomes a status here and only here: a domain error its mapped status (api/errors.py);
a database that cannot serve UNAVAILABLE (retry), a wait cut short DEADLINE_EXCEEDED; anything
else INTERNAL with an error id that is logged beside the traceback, never the exception text.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import structlog

from consentd.api.call_lines import BUDGET
from consentd.api.errors import details_of, status_of
from consentd.api.grpc_options import MAX_METADATA_BYTES
from consentd.api.outages import outage_answer
from consentd.app.auth import AUTHORIZATION
from consentd.domain.errors import ConsentError
from consentd.logs import rpc_line
from consentd.store.database import UNAVAILABLE, outage_of
from consentd.telemetry import Telemetry

log = structlog.get_logger("consentd.rpc")
INTERNAL_MESSAGE = "internal error; quote error id {} when reporting it"
SHUTTING_DOWN = "the server is shutting down; retry on another replica"
T = TypeVar("T")

# Request ids: a random prefix per process and a counter, unique in the logs without the
# system call and object that uuid4() costs on every RPC.
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)
# Each status's name and number (an enum member's .name and .value cost a property call each).
CODES = {code: (code.name, code.value[0]) for code in grpc.StatusCode}


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


def log_safely(level: str, event: str, **fields: Any) -> None:
    """Log, but never let a broken sink (closed or full stderr) change the answer of a call
    whose transaction may be committed already; logging.Handler.handleError does the same."""
    with contextlib.suppress(OSError, ValueError):
        getattr(log, level)(event, **fields)


# One traceback per kind of error every TRACEBACK_SECONDS: a privilege revoked failed every
# write with the same 3 KB traceback, 38 in 10 s (probe IA); the others name their error.
TRACEBACK_SECONDS = 10.0
_traced_at: dict[str, float] = {}


def _traced(error: BaseException) -> dict[str, Any]:
    kind = f"{type(error).__module__}.{type(error).__qualname__}"
    now = time.monotonic()
    if now - _traced_at.get(kind, float("-inf")) < TRACEBACK_SECONDS:
        return {
            "error": kind,
            "traceback": f"as logged for this error in the last {TRACEBACK_SECONDS:g} s",
        }
    _traced_at[kind] = now
    return {"exc_info": error}


@dataclass(frozen=True, slots=True)
class Failure:
    """What a caller is told: a status, a message safe to show, google.rpc details if any."""

    code: grpc.StatusCode
    message: str
    details: bytes | None = None


# When the call's admission (its credential's look-up, api/interceptors.py) began, by
# time.perf_counter(): its duration counts from then (a look-up waiting 7 s on the database was
# logged as a call of 1 ms; probe IA). Unset (0): from the Call's making.
ADMITTING: ContextVar[float] = ContextVar("consentd_admitting", default=0.0)


class Call:
    """The bookkeeping of one RPC: who, what answer, how long, and its span (current from
    here until finish() has written the log line)."""

    __slots__ = ("code", "method", "protocol", "request_id", "rpc", "telemetry", "tenant")

    def __init__(
        self, method: str, telemetry: Telemetry, metadata: Mapping[str, str], protocol: str
    ) -> None:
        self.method = method
        self.telemetry = telemetry
        self.protocol = protocol
        self.rpc = telemetry.rpc(method, metadata)
        if since := ADMITTING.get():
            self.rpc.started = min(self.rpc.started, since)
        self.request_id = new_request_id()
        self.code = grpc.StatusCode.OK
        self.tenant = ""

    def fail(self, error: BaseException) -> Failure | None:
        """The status `error` becomes (recorded as this call's), or None for what passes
        through untouched: an abort already sent, a cancellation, the process exiting."""
        if isinstance(error, _PASS_THROUGH):
            if isinstance(error, asyncio.CancelledError):
                self.code = grpc.StatusCode.CANCELLED
            return None
        failure = failure_of(error)
        if failure is None:
            failure = Failure(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE.format(self.request_id))
            log_safely(
                "error",
                "rpc_failed",
                method=self.method,
                request_id=self.request_id,
                **_traced(error),
            )
        self.code = failure.code
        return failure

    def finish(self) -> None:
        """End the span, observe the duration, write the `rpc` line."""
        name, number = CODES[self.code]
        try:
            seconds = self.telemetry.finish(
                self.rpc,
                self.method,
                name,
                number,
                "grpc" if self.protocol == "grpc" else "connect_rpc",
                tenant=self.tenant,
                request_id=self.request_id,
            )
            if not BUDGET.allows(name):
                return
            fields: dict[str, Any] = {"method": self.method, "code": name}
            if self.protocol != "grpc":
                fields["protocol"] = self.protocol
            with contextlib.suppress(OSError, ValueError):
                rpc_line(
                    **fields,
                    duration_ms=round(seconds * 1000, 3),
                    tenant=self.tenant,
                    request_id=self.request_id,
                )
        finally:
            self.rpc.detach()


def failure_of(error: BaseException) -> Failure | None:
    """The status of a failure a caller can act on; None for a bug (INTERNAL)."""
    if isinstance(error, StreamEnded):
        return error.failure
    if isinstance(error, ConsentError):
        code = status_of(error)
        return Failure(code, error.message, details_of(error, code))
    outage = outage_answer(error)
    if outage is None:
        return None
    code, message, reason = outage
    # The same details as every other answer: a write refused for an erased subject had none.
    return Failure(code, message, details_of(ConsentError(message, code=reason), code))


async def retried_once(behaviour: Callable[[], Awaitable[T]]) -> T:
    """Run a call that writes nothing; when the database connection it used was lost (a
    restart), run it once more: the pools hand out fresh connections by then."""
    try:
        return await behaviour()
    except Exception as error:
        if outage_of(error) != UNAVAILABLE:
            raise
    return await behaviour()


def metadata_of(pairs: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """The call's text metadata. Two `authorization` entries leave none (the call is then
    UNAUTHENTICATED): which one would be believed is not for a proxy in between to decide.
    Two `idempotency-key` entries leave a value the gate refuses (INVALID_ARGUMENT): the last
    one won, and a retry with the first wrote twice."""
    metadata: dict[str, str] = {}
    for key, value in pairs or ():
        if not isinstance(value, str):
            continue
        metadata[key] = _REFUSED.get(key, value) if key in metadata else value
    return metadata


# The refusal of a call whose metadata is over the port's bound (oversized_head).
OVERSIZED_HEAD = f"metadata: is over {MAX_METADATA_BYTES // 1024} KiB; send less of it"


class _Collection:
    """One full collection a second after the first refusal of an oversized head, then none
    until the next: grpc holds an aborted call in a cycle only a full collection frees (see
    interceptors._abort), and the collections of this process come rarely (serving.py
    _tune_garbage_collector): 20 heads of 8 MiB a round kept 80-100 MB more each round, until a full
    collection; with one a round, it stayed flat (probe TC)."""

    scheduled = False

    @classmethod
    def soon(cls) -> None:
        if not cls.scheduled:
            cls.scheduled = True
            asyncio.get_running_loop().call_later(1.0, cls._run)

    @classmethod
    def _run(cls) -> None:
        cls.scheduled = False
        gc.collect()


collect_soon = _Collection.soon


def oversized_head(pairs: Iterable[tuple[str, str | bytes]] | None) -> bool:
    """Whether a call's metadata is over the port's bound, counted as HTTP/2 counts a header
    list (32 bytes an entry besides its name and value). grpc enforces its own only once the
    client acknowledged the server's settings: a head sent before that, 8 MiB of one header,
    reached the call, which then waited for its message (probe TC: 80 such calls of one
    connection held 2 GB)."""
    return sum(len(key) + len(value) + 32 for key, value in pairs or ()) > MAX_METADATA_BYTES


# What two `authorization` entries become: no scheme, so never a valid credential.
REFUSED_CREDENTIAL = "refused: more than one authorization entry"
# What two `idempotency-key` entries become: not printable, so never a valid key.
REFUSED_KEY = "\x00more than one"
# The header the gate reads a write's idempotency key from (api/gate.py).
IDEMPOTENCY_KEY = "idempotency-key"
_REFUSED = {AUTHORIZATION: REFUSED_CREDENTIAL, IDEMPOTENCY_KEY: REFUSED_KEY}


_PASS_THROUGH = (
    grpc.aio.AbortError,
    asyncio.CancelledError,
    GeneratorExit,
    KeyboardInterrupt,
    SystemExit,
)


class StreamEnded(Exception):
    """A stream ended by the server: it is draining, or the stream's credential was revoked."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


# Set by the browser port's gate when it counts a call itself; a call refused before it ran
# (its body does not decode) is counted by api/connect_wire.WireErrors.
COUNTED: ContextVar[bool] = ContextVar("consentd_call_counted", default=False)


# What a refused call is counted as when its path names no method of the contract, on either
# port (a metric label per made-up path would let a client grow the registry without bound).
UNKNOWN_METHOD = "unknown"


def count_refused(
    method: str,
    telemetry: Telemetry,
    metadata: Mapping[str, str],
    code: grpc.StatusCode,
    protocol: str = "browser",
    *,
    tenant: str = "",
    started: float = 0.0,
) -> None:
    """One `rpc` line and duration sample for a call refused before the gate ran: on the
    browser port (no credential, a body that does not decode: "every RPC of both ports" counted
    them only on the gRPC port, so a flood of bad keys on the public port was invisible), and on
    either port while the server drains (UNAVAILABLE, shutting down)."""
    call = Call(method, telemetry, metadata, protocol)
    call.code, call.tenant = code, tenant
    if started:
        call.rpc.started = started
    call.finish()
