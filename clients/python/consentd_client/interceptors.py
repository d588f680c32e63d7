"""gRPC client interceptors (blocking and asyncio) applying a CallPolicy to every call of a
channel: unary calls get credentials, a deadline, an idempotency key and retries; streaming
calls get credentials only (a change feed may rightly run for hours, and is resumed by cursor)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc
from grpc import aio

from consentd_client.errors import asked_wait
from consentd_client.policy import CallPolicy, Prepared

if TYPE_CHECKING:
    from grpc import _CallFuture, _CallIterator

Req = TypeVar("Req")
Resp = TypeVar("Resp")
T = TypeVar("T")


def method_name(method: str | bytes) -> str:
    """grpc.aio hands interceptors the method path as bytes, the blocking API as str."""
    return method.decode() if isinstance(method, bytes) else method


@dataclass
class _Details(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str | bytes], ...] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


# A call whose deadline passed while it waited for a place on the wire: waiting for a place
# took no heed of it, and a 10 ms call ended after 4.5 s, once a slow one gave its place up
# (probe UA).
QUEUED = (
    "the call's deadline passed while it waited in the client for a place on the connection "
    "(max_in_flight calls were on it)"
)


def queued_too_long() -> aio.AioRpcError:
    return aio.AioRpcError(
        grpc.StatusCode.DEADLINE_EXCEEDED, aio.Metadata(), aio.Metadata(), details=QUEUED
    )


_REFUSED = grpc.StatusCode.RESOURCE_EXHAUSTED


def _refusal_trailers(code: grpc.StatusCode, call: Any) -> Iterable[Any]:
    """A blocking call's trailing metadata when it was refused RESOURCE_EXHAUSTED (a rate
    limit's RetryInfo is there), else none read."""
    return (call.trailing_metadata() or ()) if code is _REFUSED else ()


class Retrier:
    """The attempt loop's arithmetic, shared by both interceptors: when to stop, how long to
    wait, how much of the deadline is left."""

    def __init__(
        self, policy: CallPolicy, prepared: Prepared, rng: random.Random, clock: Callable[[], float]
    ) -> None:
        self._retry = policy.retry
        self._prepared = prepared
        self._rng = rng
        self._clock = clock
        self._deadline = None if prepared.timeout is None else clock() + prepared.timeout
        self.attempt = 1
        self._unsure: Any = None  # an attempt that ended DEADLINE_EXCEEDED: maybe done

    def tried(self, call: Any, code: grpc.StatusCode) -> None:
        """An attempt that is tried again."""
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            self._unsure = call

    def told(self, call: T, code: grpc.StatusCode) -> T:
        """The call given back: a last UNAVAILABLE (nothing done) after an attempt that ended
        DEADLINE_EXCEEDED (it may have been done) gives that attempt, so a caller never reads
        "retry" of a write that was done (one was, under its key, and the caller was told
        UNAVAILABLE; probe SC)."""
        if code is grpc.StatusCode.UNAVAILABLE and self._unsure is not None:
            return cast(T, self._unsure)
        return call

    def remaining(self) -> float | None:
        """Seconds left of the call's deadline, for the next attempt."""
        return None if self._deadline is None else max(self._deadline - self._clock(), 0.0)

    def pause(self, code: grpc.StatusCode, trailers: Iterable[Any] = ()) -> float | None:
        """Seconds to wait before another attempt, or None when this outcome is final.
        `trailers`: the attempt's trailing metadata (a rate limit's RetryInfo)."""
        if not self._prepared.retryable or self.attempt >= self._retry.max_attempts:
            return None
        if code is _REFUSED:
            wait = self._retry.after_refusal(asked_wait(trailers), self._rng)
        elif code in self._retry.retry_on:
            wait = self._retry.backoff(self.attempt, self._rng)
        else:
            wait = None
        if wait is None:
            return None
        if self._deadline is not None and self._clock() + wait >= self._deadline:
            return None
        self.attempt += 1
        return wait


class PolicyInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """The policy for a blocking channel (grpc.intercept_channel)."""

    def __init__(
        self,
        policy: CallPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._clock = clock
        self._slots = threading.BoundedSemaphore(policy.max_in_flight)

    def _details(
        self, details: grpc.ClientCallDetails, metadata: Any, timeout: float | None
    ) -> _Details:
        return _Details(
            method_name(details.method),
            timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Req], _CallFuture[Resp]],
        client_call_details: grpc.ClientCallDetails,
        request: Req,
    ) -> _CallFuture[Resp]:
        prepared = self._policy.prepare(
            method_name(client_call_details.method),
            client_call_details.metadata,
            client_call_details.timeout,
        )
        retrier = Retrier(self._policy, prepared, self._rng, self._clock)
        while True:
            # A place on the wire (CallPolicy.max_in_flight) within the call's deadline.
            if not self._slots.acquire(timeout=retrier.remaining()):
                raise queued_too_long()
            try:
                details = self._details(client_call_details, prepared.metadata, retrier.remaining())
                call = continuation(details, request)
                code = call.code()
            finally:
                self._slots.release()
            wait = retrier.pause(code, _refusal_trailers(code, call))
            if wait is None:
                return retrier.told(call, code)
            retrier.tried(call, code)
            self._sleep(wait)

    def _credentials(self, details: grpc.ClientCallDetails) -> _Details:
        return self._details(details, self._policy.credentials(details.metadata), details.timeout)

    def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Req], _CallIterator[Resp]],
        client_call_details: grpc.ClientCallDetails,
        request: Req,
    ) -> _CallIterator[Resp]:
        return continuation(self._credentials(client_call_details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Iterator[Req]], _CallFuture[Resp]],
        client_call_details: grpc.ClientCallDetails,
        request_iterator: Iterator[Req],
    ) -> _CallFuture[Resp]:
        return continuation(self._credentials(client_call_details), request_iterator)

    def intercept_stream_stream(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Iterator[Req]], _CallIterator[Resp]],
        client_call_details: grpc.ClientCallDetails,
        request_iterator: Iterator[Req],
    ) -> _CallIterator[Resp]:
        return continuation(self._credentials(client_call_details), request_iterator)


class _AsyncBase:
    def __init__(
        self,
        policy: CallPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._clock = clock
        self._slots = asyncio.Semaphore(policy.max_in_flight)

    def _details(
        self,
        details: aio.ClientCallDetails,
        metadata: Iterable[tuple[str, str | bytes]],
        timeout: float | None,
    ) -> aio.ClientCallDetails:
        return aio.ClientCallDetails(
            details.method,
            timeout,
            aio.Metadata(*metadata),
            details.credentials,
            details.wait_for_ready,
        )

    def _credentials(self, details: aio.ClientCallDetails) -> aio.ClientCallDetails:
        return self._details(details, self._policy.credentials(details.metadata), details.timeout)


class AsyncUnaryPolicy(_AsyncBase, aio.UnaryUnaryClientInterceptor):
    """The policy for the unary calls of an asyncio channel."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[
            [aio.ClientCallDetails, Req], Awaitable[aio.UnaryUnaryCall[Req, Resp]]
        ],
        client_call_details: aio.ClientCallDetails,
        request: Req,
    ) -> Resp | aio.UnaryUnaryCall[Req, Resp]:
        prepared = self._policy.prepare(
            method_name(client_call_details.method),
            client_call_details.metadata,
            client_call_details.timeout,
        )
        retrier = Retrier(self._policy, prepared, self._rng, self._clock)
        while True:
            # A place on the wire (CallPolicy.max_in_flight) within the call's deadline.
            try:
                await asyncio.wait_for(self._slots.acquire(), retrier.remaining())
            except TimeoutError:
                raise queued_too_long() from None
            try:
                details = self._details(client_call_details, prepared.metadata, retrier.remaining())
                call = await continuation(details, request)
                code = await call.code()
            finally:
                self._slots.release()
            trailers = await call.trailing_metadata() if code is _REFUSED else ()
            wait = retrier.pause(code, trailers or ())
            if wait is None:
                return retrier.told(call, code)
            retrier.tried(call, code)
            await self._sleep(wait)


class AsyncUnaryStreamCredentials(_AsyncBase, aio.UnaryStreamClientInterceptor):
    """Credentials for the server-streaming calls of an asyncio channel (no deadline, no retry).
    One class per kind of call: grpc.aio files an interceptor under the first kind it is (one
    object of all three kinds never saw a bidirectional call: StreamCheckConsent went without
    its key, probe FC)."""

    async def intercept_unary_stream(
        self,
        continuation: Callable[
            [aio.ClientCallDetails, Req], Awaitable[aio.UnaryStreamCall[Req, Resp]]
        ],
        client_call_details: aio.ClientCallDetails,
        request: Req,
    ) -> AsyncIterator[Resp] | aio.UnaryStreamCall[Req, Resp]:
        return await continuation(self._credentials(client_call_details), request)


class AsyncStreamUnaryCredentials(_AsyncBase, aio.StreamUnaryClientInterceptor):
    """Credentials for the client-streaming calls of an asyncio channel."""

    async def intercept_stream_unary(
        self,
        continuation: Callable[
            [aio.ClientCallDetails, AsyncIterable[Req] | Iterable[Req]],
            Awaitable[aio.StreamUnaryCall[Req, Resp]],
        ],
        client_call_details: aio.ClientCallDetails,
        request_iterator: AsyncIterable[Req] | Iterable[Req],
    ) -> aio.StreamUnaryCall[Req, Resp]:
        return await continuation(self._credentials(client_call_details), request_iterator)


class AsyncStreamStreamCredentials(_AsyncBase, aio.StreamStreamClientInterceptor):
    """Credentials for the bidirectional calls of an asyncio channel (StreamCheckConsent)."""

    async def intercept_stream_stream(
        self,
        continuation: Callable[
            [aio.ClientCallDetails, AsyncIterable[Req] | Iterable[Req]],
            Awaitable[aio.StreamStreamCall[Req, Resp]],
        ],
        client_call_details: aio.ClientCallDetails,
        request_iterator: AsyncIterable[Req] | Iterable[Req],
    ) -> AsyncIterator[Resp] | aio.StreamStreamCall[Req, Resp]:
        return await continuation(self._credentials(client_call_details), request_iterator)


def async_stream_credentials(policy: CallPolicy) -> list[aio.ClientInterceptor]:
    """One interceptor per kind of streaming call, each giving the policy's credentials."""
    return [
        AsyncUnaryStreamCredentials(policy),
        AsyncStreamUnaryCredentials(policy),
        AsyncStreamStreamCredentials(policy),
    ]
