"""One interceptor for every RPC of ours: admit the call (the gate) from its metadata alone,
then decode its body, and run it through the call pipeline of api/calls.py (status mapping, one
log line). Open streams end when the server drains or their credential is revoked."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import grpc
from google.protobuf.message import Message

from consentd.api.calls import (
    ADMITTING,
    OVERSIZED_HEAD,
    SHUTTING_DOWN,
    UNKNOWN_METHOD,
    Call,
    collect_soon,
    count_refused,
    metadata_of,
    oversized_head,
)
from consentd.api.context import set_principal
from consentd.api.errors import DETAILS_KEY
from consentd.api.gate import Gate
from consentd.api.handler_kinds import (
    Context,
    read_once,
    read_one,
    remade,
    request_type,
)
from consentd.api.streams import Streams
from consentd.api.validation import decode
from consentd.domain.errors import PermissionDenied, ResourceExhausted
from consentd.domain.tenancy import Principal
from consentd.store.deadlines import set_call_deadline, statements_bound
from consentd.telemetry import Telemetry

if TYPE_CHECKING:
    from consentd.api.handler_kinds import Handler
# Services we serve but do not guard: health checks and reflection carry no tenant data.
OPEN_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self, gate: Gate, telemetry: Telemetry | None = None, streams: Streams | None = None
    ) -> None:
        self._gate = gate
        self._telemetry = telemetry or Telemetry()
        # Open streams: ended when the server drains, their credential re-checked meanwhile.
        self.streams = streams or Streams()
        # Calls that reached the server so far (a draining server waits until none arrives).
        self.arrived = 0
        # The wrapped handler of each method, built on its first call: handlers never change.
        self._wrapped: dict[str, Handler | None] = {}
        # Set when the server drains: calls arriving from then on are refused UNAVAILABLE
        # (not run, safe to retry) rather than left for grpc to cancel when it stops.
        self.refusing = False
        self._refusals: dict[str, Handler | None] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        method = handler_call_details.method
        self.arrived += 1
        if self.refusing and not method.startswith(OPEN_PREFIXES):
            return await self._refusal(continuation, handler_call_details)
        wrapped = await self._resolved(continuation, handler_call_details)
        if wrapped is None:
            return None
        # The metadata's size before anything else, health and reflection included (probe UA:
        # their calls, no key needed, held 8 MiB heads sent before the settings' acknowledgement
        # until grpc's settings timeout, 3 GB a wave). None of it is kept for the refusal: grpc
        # holds an aborted call in a cycle only a full collection frees (see _abort).
        if oversized_head(handler_call_details.invocation_metadata):
            collect_soon()
            refusal = ResourceExhausted(message=OVERSIZED_HEAD)
            return _refused(wrapped, method, self._telemetry, {}, refusal)
        if method.startswith(OPEN_PREFIXES):
            return wrapped
        # The credential before grpc reads the request: a unary handler gets its message whole,
        # so a caller without a key pinned 4 MiB a call, and one that never finished its message
        # was never answered (probe O). Refused by a handler that reads nothing.
        metadata = metadata_of(handler_call_details.invocation_metadata)
        ADMITTING.set(started := time.perf_counter())
        try:
            await self._gate.admit_unread(method, metadata)
        except asyncio.CancelledError:
            # The caller went (its deadline passed) while its credential was looked up: no
            # `rpc` line nor metric said so (probe IA).
            cancelled = grpc.StatusCode.CANCELLED
            count_refused(method, self._telemetry, metadata, cancelled, "grpc", started=started)
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes a status
            return _refused(wrapped, method, self._telemetry, metadata, error)
        return wrapped

    async def _resolved(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """The method's handler as served (wrapped once, then cached); None for a method the
        server does not have, counted as observability.md says (UNIMPLEMENTED)."""
        method = handler_call_details.method
        if method in self._wrapped:
            return self._wrapped[method]
        handler = await continuation(handler_call_details)
        if handler is None:
            metadata = metadata_of(handler_call_details.invocation_metadata)
            unknown = grpc.StatusCode.UNIMPLEMENTED
            count_refused(UNKNOWN_METHOD, self._telemetry, metadata, unknown, "grpc")
            return None
        if method.startswith(OPEN_PREFIXES):
            self._wrapped[method] = wrapped = read_once(handler)
        else:
            self._wrapped[method] = wrapped = self._wrap(method, handler)
        return wrapped

    async def _refusal(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        """A handler of the method's kind that answers UNAVAILABLE without reading the call."""
        method = handler_call_details.method
        if method not in self._refusals:
            handler = await continuation(handler_call_details)
            refused = None if handler is None else _refusing(handler, method, self._telemetry)
            self._refusals[method] = refused
        return self._refusals[method]

    def _wrap(self, method: str, handler: Handler) -> Handler:
        def wrap(kind: str, behaviour: Any) -> Any:
            # grpc.aio runs an async generator as a response stream and a coroutine as a call
            # that answers once or writes with context.write(): keep the same kind.
            shape = _Shape(
                kind.startswith("stream_"), kind.endswith("_stream"), request_type(handler)
            )
            if inspect.isasyncgenfunction(behaviour):
                return self._server_stream(method, behaviour, shape)
            return self._unary(method, behaviour, shape)

        # Every request read as a stream (api/handler_kinds.py); a unary one's message by
        # read_one, once the caller is admitted.
        return remade(handler, wrap)

    def _unary(
        self, method: str, behaviour: Any, shape: _Shape
    ) -> Callable[[Any, Context], Awaitable[Any]]:
        """A call that returns its answer (unary or client-streaming requests), or writes its
        answers itself with context.write()."""

        async def run(request: Any, context: Context) -> Any:
            metadata = metadata_of(context.invocation_metadata())
            call = Call(method, self._telemetry, metadata, "grpc")
            try:
                if shape.requests_streamed:
                    # A request stream is admitted once (one rate-limit token) and each of its
                    # messages is decoded and checked as the servicer reads it.
                    await self._admit(call, metadata)
                    requests = _decoded(request, shape.request)
                    if not shape.responses_streamed:
                        return await behaviour(requests, context)
                    async with self.streams.watched(lambda: self._gate.recheck(metadata)):
                        return await behaviour(requests, context)
                principal = await self._admit(call, metadata)
                message = decode(shape.request, await read_one(request))
                if shape.responses_streamed:
                    async with self.streams.watched(lambda: self._gate.recheck(metadata)):
                        return await behaviour(message, context)
                # Bounded by the caller's deadline: past it nobody reads the answer, and every
                # statement still waiting is cancelled (DEADLINE_EXCEEDED). The bound ends a
                # little before it, so that a wait (a statement, a group commit's) is answered
                # and logged as one (grpc cancelled it first: CANCELLED, no warning; probe HA).
                bound = statements_bound(context.time_remaining())
                set_call_deadline(bound)
                async with asyncio.timeout(bound):
                    return await self._gate.unary(
                        method, metadata, principal, message, lambda: behaviour(message, context)
                    )
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a status
                # grpc keeps the abort, whose traceback holds this frame, in a reference cycle
                # that only a full collection frees: not the request (probe AN: a refused 3 MB
                # string a call, 2 GB in 5 s).
                request = message = None
                await _abort(call, context, exc)
            finally:
                call.finish()

        return run

    def _server_stream(
        self, method: str, behaviour: Any, shape: _Shape
    ) -> Callable[[Any, Context], AsyncIterator[Any]]:
        """A call whose answers are an async generator; `request` may be a stream too."""

        async def run(request: Any, context: Context) -> AsyncIterator[Any]:
            metadata = metadata_of(context.invocation_metadata())
            call = Call(method, self._telemetry, metadata, "grpc")
            try:
                await self._admit(call, metadata)
                if shape.requests_streamed:
                    request = _decoded(request, shape.request)
                else:
                    request = decode(shape.request, await read_one(request))
                async with self.streams.watched(lambda: self._gate.recheck(metadata)) as watch:
                    async for response in behaviour(request, context):
                        with watch.handing_over():
                            yield response
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a status
                request = None  # as in _unary: the abort's traceback holds this frame
                await _abort(call, context, exc)
            finally:
                call.finish()

        return run

    async def _admit(self, call: Call, metadata: dict[str, str]) -> Principal:
        principal = await self._gate.admit(call.method, metadata, None)
        call.tenant = principal.tenant.slug
        set_principal(principal)
        return principal


class _Shape(NamedTuple):
    requests_streamed: bool
    responses_streamed: bool
    request: type[Message]


async def _decoded(
    requests: AsyncIterator[bytes], message: type[Message]
) -> AsyncIterator[Message]:
    """The messages of a request stream, each decoded and checked (InvalidInput naming the
    field) as the servicer reads it — as a single request is."""
    async for data in requests:
        yield decode(message, data)


def _refusing(handler: Handler, method: str, telemetry: Telemetry) -> Handler:
    """`handler`'s kind, answering UNAVAILABLE (the server is shutting down) to every call, each
    with its `rpc` line and count (a drain's refusals had none), without reading the call."""

    async def refuse(request: Any, context: Context) -> None:
        metadata = metadata_of(context.invocation_metadata())
        count_refused(method, telemetry, metadata, grpc.StatusCode.UNAVAILABLE, "grpc")
        await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)

    return remade(handler, lambda kind, behaviour: refuse)


def _refused(
    handler: Handler,
    method: str,
    telemetry: Telemetry,
    metadata: dict[str, str],
    error: Exception,
) -> Handler:
    """`handler`'s kind, failing the call with `error`'s status (UNAUTHENTICATED; UNAVAILABLE
    when the database is lost) and its `rpc` line, without reading its request."""

    async def refuse(request: Any, context: Context) -> None:
        call = Call(method, telemetry, metadata, "grpc")
        if isinstance(error, PermissionDenied):
            call.tenant = error.tenant
        try:
            await _abort(call, context, error)
        finally:
            call.finish()

    return remade(handler, lambda kind, behaviour: refuse)


async def _abort(call: Call, context: Context, exc: BaseException) -> None:
    """Turn any failure into a status (api/calls.py decides which)."""
    failure = call.fail(exc)
    if failure is None:
        raise exc
    # The failure's frames hold the request (a multi-MB string refused): grpc keeps the abort
    # in a reference cycle only the full collection frees (probe AN: 4 MB kept per call).
    exc.__traceback__ = None
    trailers = ((DETAILS_KEY, failure.details),) if failure.details is not None else ()
    await context.abort(failure.code, failure.message, trailers)
