"""The Python client's places on the wire (CallPolicy.max_in_flight): a call waiting for one
ends at its own deadline, not when a slow call gives its place up (probe UA: a 10 ms call ended
after 4.5 s), and a place is given back however the call ends."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import grpc
import pytest
from grpc import aio

from consentd_client import CallPolicy
from consentd_client.interceptors import QUEUED, AsyncUnaryPolicy, PolicyInterceptor
from consentd_client.policy import NO_RETRY

CHECK = "/consent.v1.ConsentService/CheckConsent"
POLICY = CallPolicy(timeout=None, retry=NO_RETRY, max_in_flight=1)


def _details(timeout: float | None) -> aio.ClientCallDetails:
    return aio.ClientCallDetails(CHECK, timeout, aio.Metadata(), None, None)


async def test_an_async_call_waiting_for_a_place_ends_at_its_deadline() -> None:
    interceptor = AsyncUnaryPolicy(POLICY)
    release = asyncio.Event()

    class Slow:
        async def code(self) -> grpc.StatusCode:
            await release.wait()
            return grpc.StatusCode.OK

    async def continuation(details: Any, request: Any) -> Slow:
        return Slow()

    slow = asyncio.create_task(interceptor.intercept_unary_unary(continuation, _details(None), 0))
    await asyncio.sleep(0.01)  # it holds the one place
    started = time.monotonic()
    with pytest.raises(aio.AioRpcError) as raised:
        await interceptor.intercept_unary_unary(continuation, _details(0.05), 0)
    assert (raised.value.code(), raised.value.details()) == (
        grpc.StatusCode.DEADLINE_EXCEEDED,
        QUEUED,
    )
    assert time.monotonic() - started < 1
    release.set()
    await slow
    await asyncio.wait_for(interceptor.intercept_unary_unary(continuation, _details(1), 0), 1)


def test_a_blocking_call_waiting_for_a_place_ends_at_its_deadline() -> None:
    interceptor = PolicyInterceptor(POLICY)
    release = threading.Event()

    class Slow:
        def code(self) -> grpc.StatusCode:
            release.wait(5)
            return grpc.StatusCode.OK

    def continuation(details: Any, request: Any) -> Slow:
        return Slow()

    details: Any = _details(None)
    slow = threading.Thread(
        target=interceptor.intercept_unary_unary, args=(continuation, details, 0)
    )
    slow.start()
    time.sleep(0.05)  # it holds the one place
    started = time.monotonic()
    with pytest.raises(aio.AioRpcError) as raised:
        interceptor.intercept_unary_unary(continuation, _details(0.05), 0)  # type: ignore[arg-type]
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1
    release.set()
    slow.join(5)
    interceptor.intercept_unary_unary(continuation, _details(1), 0)  # type: ignore[arg-type]


RETRYING = CallPolicy(timeout=None, max_in_flight=1)
WRITE = "/consent.v1.ConsentService/RecordConsent"


class _Ended:
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


async def test_a_last_unavailable_after_a_deadline_gives_the_deadline() -> None:
    """Probe SC: a write under its key ended DEADLINE_EXCEEDED once (it had committed), then
    UNAVAILABLE while the database was away: the caller was told "retry shortly", of a write
    that was done. The attempt that may have been done is the answer; without one, the last."""
    codes = [grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE]
    details = aio.ClientCallDetails(WRITE, None, aio.Metadata(), None, None)

    def blocking(details: Any, request: Any) -> _Ended:
        seen.append(1)
        return _Ended(codes[min(len(seen) - 1, len(codes) - 1)])

    seen: list[int] = []
    interceptor = PolicyInterceptor(RETRYING, sleep=lambda _: None)
    answer = interceptor.intercept_unary_unary(blocking, details, 0)  # type: ignore[arg-type]
    assert answer.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(seen) == RETRYING.retry.max_attempts

    class Async:
        def __init__(self, code: grpc.StatusCode) -> None:
            self._code = code

        async def code(self) -> grpc.StatusCode:
            return self._code

    tried: list[int] = []

    async def later(details: Any, request: Any) -> Async:
        tried.append(1)
        return Async(codes[min(len(tried) - 1, 1)])

    async def no_wait(_: float) -> None:
        return None

    asynchronous = AsyncUnaryPolicy(RETRYING, sleep=no_wait)
    told = await asynchronous.intercept_unary_unary(later, details, 0)
    assert await told.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[union-attr]
    only = [grpc.StatusCode.UNAVAILABLE]
    codes[:] = only
    seen.clear()
    assert interceptor.intercept_unary_unary(blocking, details, 0).code() == only[0]  # type: ignore[arg-type]
