"""One interceptor for every RPC of ours: admit the call (the gate), map errors to statuses,
write one log line."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import structlog

from consentd.api.context import set_principal
from consentd.api.errors import DETAILS_KEY, details_of, status_of
from consentd.api.gate import Gate
from consentd.domain.errors import ConsentError
from consentd.domain.tenancy import Principal

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


class _Call:
    """The bookkeeping of one RPC: who, what answer, how long."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.started = time.perf_counter()
        self.request_id = uuid.uuid4().hex
        self.code = grpc.StatusCode.OK
        self.tenant = ""

    def finish(self) -> None:
        _log(
            "info",
            "rpc",
            method=self.method,
            code=self.code.name,
            duration_ms=round((time.perf_counter() - self.started) * 1000, 3),
            tenant=self.tenant,
            request_id=self.request_id,
        )


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._server_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        raise RuntimeError(f"{method}: client-streaming RPCs need interceptor support first")

    def _unary(self, method: str, behaviour: Any) -> Callable[[Any, Context], Awaitable[Any]]:
        async def run(request: Any, context: Context) -> Any:
            call = _Call(method)
            try:
                metadata = _metadata(context)
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
        self, method: str, behaviour: Any
    ) -> Callable[[Any, Context], AsyncIterator[Any]]:
        async def run(request: Any, context: Context) -> AsyncIterator[Any]:
            call = _Call(method)
            try:
                await self._admit(call, _metadata(context), request)
                async for response in behaviour(request, context):
                    yield response
            except BaseException as exc:  # noqa: BLE001 - every failure becomes a status
                await _abort(call, context, exc)
            finally:
                call.finish()

        return run

    async def _admit(self, call: _Call, metadata: dict[str, str], request: Any) -> Principal:
        principal = await self._gate.admit(call.method, metadata, request)
        call.tenant = principal.tenant.slug
        set_principal(principal)
        return principal


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


_PASS_THROUGH = (
    grpc.aio.AbortError,
    asyncio.CancelledError,
    GeneratorExit,
    KeyboardInterrupt,
    SystemExit,
)
