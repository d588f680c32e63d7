"""One interceptor for every RPC of ours: admit the call (the gate), map errors to statuses,
write one log line."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import structlog
from google.protobuf.message import Message

from consentd.api.context import set_principal
from consentd.api.errors import DETAILS_KEY, details_of, status_of
from consentd.api.gate import Gate
from consentd.api.validation import reject_unknown_fields
from consentd.domain.errors import ConsentError
from consentd.domain.tenancy import Principal
from consentd.logs import rpc_line
from consentd.telemetry import Telemetry

log = structlog.get_logger("consentd.rpc")
Context = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
INTERNAL_MESSAGE = "internal error; quote error id {} when reporting it"
# Services we serve but do not guard: health checks and reflection carry no tenant data.
OPEN_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


def _log(level: str, event: str, **fields: Any) -> None:
    """Log, but never let a broken sink (closed or full stderr) change the answer of a call
    whose transaction may be committed already; logging.Handler.handleError does the same."""
    with contextlib.suppress(OSError, ValueError):
        getattr(log, level)(event, **fields)


def _rpc_line(**fields: Any) -> None:
    """The call's `rpc` line, as _log writes it (a broken sink changes no answer)."""
    with contextlib.suppress(OSError, ValueError):
        rpc_line(**fields)


# Request ids: a random prefix per process and a counter, unique in the logs without the
# system call and object that uuid4() costs on every RPC.
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count(1)
# Each status's name and number (an enum member's .name and .value cost a property call each).
_CODES = {code: (code.name, code.value[0]) for code in grpc.StatusCode}


class _Call:
    """The bookkeeping of one RPC: who, what answer, how long, and its span (current from
    here until the log line is written)."""

    __slots__ = ("code", "method", "request_id", "rpc", "telemetry", "tenant")

    def __init__(self, method: str, telemetry: Telemetry, metadata: dict[str, str]) -> None:
        self.method = method
        self.telemetry = telemetry
        self.rpc = telemetry.rpc(method, metadata)
        self.request_id = f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"
        self.code = grpc.StatusCode.OK
        self.tenant = ""

    def finish(self) -> None:
        name, number = _CODES[self.code]
        seconds = self.telemetry.finish(
            self.rpc,
            self.method,
            name,
            number,
            "grpc",
            tenant=self.tenant,
            request_id=self.request_id,
        )
        try:
            _rpc_line(
                method=self.method,
                code=name,
                duration_ms=round(seconds * 1000, 3),
                tenant=self.tenant,
                request_id=self.request_id,
            )
        finally:
            self.rpc.detach()


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, gate: Gate, telemetry: Telemetry | None = None) -> None:
        self._gate = gate
        self._telemetry = telemetry or Telemetry()
        # The wrapped handler of each method, built on its first call: handlers never change.
        self._wrapped: dict[str, Handler | None] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        if method in self._wrapped:
            return self._wrapped[method]
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: Handler) -> Handler:
        for kind, make in _HANDLER_KINDS:
            behaviour = getattr(handler, kind)
            if behaviour is not None:
                # grpc.aio runs an async generator as a response stream and a coroutine as a
                # call that answers once or writes with context.write(): keep the same kind.
                streamed = kind.startswith("stream_")
                wrapped = (
                    self._server_stream(method, behaviour, streamed)
                    if inspect.isasyncgenfunction(behaviour)
                    else self._unary(method, behaviour, streamed)
                )
                made: Handler = make(
                    wrapped,
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
                return made
        raise RuntimeError(f"{method}: a handler of no known kind")

    def _unary(
        self, method: str, behaviour: Any, streamed: bool
    ) -> Callable[[Any, Context], Awaitable[Any]]:
        """A call that returns its answer (unary or client-streaming requests), or writes its
        answers itself with context.write()."""

        async def run(request: Any, context: Context) -> Any:
            metadata = _metadata(context)
            call = _Call(method, self._telemetry, metadata)
            try:
                if streamed:
                    # A request stream is admitted once (one rate-limit token) and each of its
                    # messages is checked for unknown fields as the servicer reads it.
                    await self._admit(call, metadata, None)
                    return await behaviour(_checked(request), context)
                principal = await self._admit(call, metadata, request)
                return await self._gate.unary(
                    method, metadata, principal, request, lambda: behaviour(request, context)
                )
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a status
                await _abort(call, context, exc)
            finally:
                call.finish()

        return run

    def _server_stream(
        self, method: str, behaviour: Any, streamed: bool
    ) -> Callable[[Any, Context], AsyncIterator[Any]]:
        """A call whose answers are an async generator; `request` may be a stream too."""

        async def run(request: Any, context: Context) -> AsyncIterator[Any]:
            metadata = _metadata(context)
            call = _Call(method, self._telemetry, metadata)
            try:
                await self._admit(call, metadata, None if streamed else request)
                if streamed:
                    request = _checked(request)
                async for response in behaviour(request, context):
                    yield response
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a status
                await _abort(call, context, exc)
            finally:
                call.finish()

        return run

    async def _admit(
        self, call: _Call, metadata: dict[str, str], request: Message | None
    ) -> Principal:
        principal = await self._gate.admit(call.method, metadata, request)
        call.tenant = principal.tenant.slug
        set_principal(principal)
        return principal


async def _checked(requests: AsyncIterator[Message]) -> AsyncIterator[Message]:
    """The messages of a request stream, each refused (InvalidInput) if it carries a field the
    contract does not define — as the gate refuses a single request."""
    async for message in requests:
        reject_unknown_fields(message)
        yield message


def _metadata(context: Context) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


async def _abort(call: _Call, context: Context, exc: BaseException) -> None:
    """Turn any failure into a status. Domain errors say what to fix; anything else is INTERNAL
    with an error id that is logged beside the traceback, never the exception text."""
    if isinstance(exc, ConsentError):
        call.code = status_of(exc)
        await context.abort(call.code, exc.message, ((DETAILS_KEY, details_of(exc, call.code)),))
    if isinstance(exc, _PASS_THROUGH):
        if isinstance(exc, asyncio.CancelledError):
            call.code = grpc.StatusCode.CANCELLED
        raise exc
    call.code = grpc.StatusCode.INTERNAL
    _log("error", "rpc_failed", method=call.method, request_id=call.request_id, exc_info=exc)
    await context.abort(call.code, INTERNAL_MESSAGE.format(call.request_id))


_HANDLER_KINDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)
_PASS_THROUGH = (
    grpc.aio.AbortError,
    asyncio.CancelledError,
    GeneratorExit,
    KeyboardInterrupt,
    SystemExit,
)
