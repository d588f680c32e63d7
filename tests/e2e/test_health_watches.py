"""Health watches and reflection streams need no credential, so the process bounds how many
are open at once."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from consentd.api import health, reflection


async def test_watches_past_the_bound_are_refused_until_one_ends(
    channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client opened 16,903 Watch streams without a credential (RSS 193 -> 482 MB). Past
    MAX_WATCHES open ones a new Watch is RESOURCE_EXHAUSTED saying to poll Check; once one
    ends a new one is served, and Check is served throughout."""
    monkeypatch.setattr(health, "MAX_WATCHES", 3)
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()
    open_ = [stub.Watch(request) for _ in range(3)]
    for call in open_:
        assert (await call.read()).status == health_pb2.HealthCheckResponse.SERVING
    refused = stub.Watch(request)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await refused.read()
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "poll Check instead" in str(raised.value.details())
    assert (await stub.Check(request)).status == health_pb2.HealthCheckResponse.SERVING
    open_[0].cancel()
    again, first = await _watch(stub, request)
    for _ in range(50):  # the server sees the cancellation a moment later
        if first != grpc.StatusCode.RESOURCE_EXHAUSTED:
            break
        await asyncio.sleep(0.05)
        again, first = await _watch(stub, request)
    assert first == health_pb2.HealthCheckResponse.SERVING
    for call in (*open_[1:], again):
        call.cancel()


async def _watch(stub: health_pb2_grpc.HealthStub, request: health_pb2.HealthCheckRequest) -> Any:
    """A new watch and its first status, or the code it was refused with."""
    call = stub.Watch(request)
    try:
        return call, (await call.read()).status
    except grpc.aio.AioRpcError as error:
        return call, error.code()


async def test_reflection_streams_past_the_bound_are_refused_until_one_ends(
    channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reflection needs no credential either: a client kept 12,000 streams open on 48
    connections (RSS 175 -> 445 MB; probe HB). Past MAX_REFLECTIONS open ones, under either
    name, a new one is RESOURCE_EXHAUSTED; once one ends a new one is served."""
    monkeypatch.setattr(reflection, "MAX_REFLECTIONS", 2)
    asked = reflection_pb2.ServerReflectionRequest(list_services="")
    v1alpha = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    v1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    opened = []
    for method in (v1alpha, v1):
        call = _reflect(channel, method)
        await call.write(asked)
        assert (await call.read()).list_services_response.service
        opened.append(call)
    for method in (v1alpha, v1):
        refused = _reflect(channel, method)
        with contextlib.suppress(grpc.aio.AioRpcError):  # refused before or after it is sent
            await refused.write(asked)
        assert await refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, method
        assert "too many reflection streams" in str(await refused.details())
    await opened[0].done_writing()
    assert await opened[0].code() == grpc.StatusCode.OK
    again = _reflect(channel, v1)
    await again.write(asked)
    assert (await again.read()).list_services_response.service
    for call in (opened[1], again):
        call.cancel()


def _reflect(channel: grpc.aio.Channel, method: str) -> Any:
    return channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )()
