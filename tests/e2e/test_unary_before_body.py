"""A unary call's credential is checked from its metadata before its request message is read:
grpc.aio reads the whole message of a call registered as unary first, so a caller without a key
could pin 4 MiB of the server's memory per call, and one whose message never came was never
answered (probe O). Sent by a client that opens the call and holds its message back. (A caller
with a valid key that never sends its message holds its own call until its deadline.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2

from consentd.api import handler_kinds
from consentd.api.handler_kinds import MORE_THAN_ONE
from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import put_purpose
from tests.e2e.security_helpers import issue

WITHDRAW = "/consent.v1.ConsentService/WithdrawConsent"


async def _held(release: asyncio.Event, message: bytes | None) -> AsyncIterator[bytes]:
    if message is not None:
        yield message
    await release.wait()


async def _answer(
    channel: grpc.aio.Channel, method: str, metadata: object, message: bytes | None, hold: bool
) -> grpc.StatusCode:
    """The status of a call whose request stream sends `message` (or none), then holds the
    stream open (`hold`) or ends it; answered within 5 s or it fails."""
    release = asyncio.Event()
    if not hold:
        release.set()
    call = channel.stream_unary(method)(_held(release, message), metadata=metadata)
    try:
        async with asyncio.timeout(5):
            await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    finally:
        release.set()
        call.cancel()
    return grpc.StatusCode.OK


async def test_a_unary_call_is_refused_before_its_message_arrives(
    stubs: Stubs, grpc_port: int, admin: AdminUseCases, tenant: Tenant
) -> None:
    page_key = bearer(await issue(admin, tenant, Scope.COOKIES.value))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        # Probe U: the public cookie key on a method it may not call, and another scheme
        # before a valid (cached) key, were refused only once their message had come.
        await put_purpose(stubs, "newsletter")  # the admin key is cached from here on
        assert await _answer(channel, WITHDRAW, page_key, None, hold=True) == (
            grpc.StatusCode.PERMISSION_DENIED
        )
        key = dict(stubs.metadata)["authorization"].removeprefix("Bearer ")
        other_scheme = (("authorization", f"Foobar {key}"),)
        assert await _answer(channel, WITHDRAW, other_scheme, None, hold=True) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        # No key: refused at once, its message still to come.
        assert await _answer(channel, WITHDRAW, (), None, hold=True) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        # A made-up key: refused as soon, its message still to come.
        assert await _answer(
            channel, WITHDRAW, (("authorization", "Bearer ck_x"),), None, hold=True
        ) == (grpc.StatusCode.UNAUTHENTICATED)
        # A message sent, then the stream ended: a unary call answers its one message.
        assert await _answer(channel, WITHDRAW, stubs.metadata, b"", hold=False) == (
            grpc.StatusCode.INVALID_ARGUMENT  # an empty WithdrawConsentRequest names no subject
        )


async def _details(call: Any) -> str:
    """The status and message a unary call ends with, within 5 s."""
    try:
        async with asyncio.timeout(5):
            await call
    except grpc.aio.AioRpcError as error:
        return f"{error.code().name} {error.details()}"
    return "OK"


async def _streamed_answer(channel: grpc.aio.Channel, method: str, metadata: object) -> str:
    """The status of a call to a server-streaming method that ends without a message."""
    ended = asyncio.Event()
    ended.set()
    call = channel.stream_stream(method)(_held(ended, None), metadata=metadata)
    try:
        async with asyncio.timeout(5):
            async for _ in call:
                pass
    except grpc.aio.AioRpcError as error:
        return f"{error.code().name} {error.details()}"
    finally:
        call.cancel()
    return "OK"


async def test_a_call_that_ends_without_its_message_is_refused(
    stubs: Stubs, grpc_port: int
) -> None:
    """Probe AD: a unary call that ended before its message was whole was never answered
    (grpc.aio's unary handler returned without a word): 1,000 such calls a connection stayed
    open with any key, and a health check needed none. Refused at once now."""
    ended = "request: the call ended without a whole message"
    watch = "/consent.v1.CampaignService/WatchConsentChanges"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        release = asyncio.Event()
        release.set()
        call = channel.stream_unary(WITHDRAW)(_held(release, None), metadata=stubs.metadata)
        assert (await _details(call)).startswith(f"INVALID_ARGUMENT {ended}")
        assert await _answer(channel, "/grpc.health.v1.Health/Check", (), None, hold=False) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )
        assert (await _streamed_answer(channel, watch, stubs.metadata)).startswith(
            f"INVALID_ARGUMENT {ended}"
        )
        health_watch = await _streamed_answer(channel, "/grpc.health.v1.Health/Watch", ())
        assert health_watch.startswith(f"INVALID_ARGUMENT {ended}")
        # Two messages on a unary call: the second was dropped without a word (a write lost;
        # probe AF). Refused, nothing written.
        two = channel.stream_unary(WITHDRAW)(iter([b"", b""]), metadata=stubs.metadata)
        assert await _details(two) == f"INVALID_ARGUMENT request: {MORE_THAN_ONE}"
        # Nothing was held: the same calls with their message are answered as ever.
        assert await _answer(channel, WITHDRAW, stubs.metadata, b"", hold=False) == (
            grpc.StatusCode.INVALID_ARGUMENT  # an empty WithdrawConsentRequest names no subject
        )


async def test_a_message_that_never_comes_is_refused_after_a_while(
    stubs: Stubs, grpc_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe AF: a call that opened and sent nothing, its stream held open, was held until the
    client gave up (9 KB each, no key needed for health). Refused after READ_SECONDS (here
    0.5 s), with a key and without."""
    monkeypatch.setattr(handler_kinds, "READ_SECONDS", 0.5)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        for method, metadata in ((WITHDRAW, stubs.metadata), ("/grpc.health.v1.Health/Check", ())):
            assert await _answer(channel, method, metadata, None, hold=True) == (
                grpc.StatusCode.INVALID_ARGUMENT
            )


async def test_a_reflection_message_that_does_not_decode_is_invalid_argument(
    grpc_port: int,
) -> None:
    """Probe BK: reflection (a stream of requests, no key needed) kept grpc's own decoder: a
    message that did not decode was UNKNOWN with the parser's words, and a traceback in the
    log for each. INVALID_ARGUMENT in our words now; a good request is answered as ever."""
    method = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        call = channel.stream_stream(method)(iter([b"\x0e"]))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details() == "request: is not valid protobuf"
        asked = reflection_pb2.ServerReflectionRequest(list_services="").SerializeToString()
        answers = [
            reflection_pb2.ServerReflectionResponse.FromString(a)
            async for a in channel.stream_stream(method)(iter([asked]))
        ]
        names = [s.name for s in answers[0].list_services_response.service]
        assert "consent.v1.ConsentService" in names


async def test_reflection_is_served_as_v1_too(grpc_port: int) -> None:
    """Probe FQ: buf curl and grpcurl ask grpc.reflection.v1 first, which was not served (an
    unknown method logged and counted per call); it answers as v1alpha does (one protocol)."""
    method = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    asked = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="consent.v1.ConsentService"
    ).SerializeToString()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        answers = [
            reflection_pb2.ServerReflectionResponse.FromString(a)
            async for a in channel.stream_stream(method)(iter([asked]))
        ]
    described = answers[0].file_descriptor_response.file_descriptor_proto
    assert described, answers[0]
    assert any(b"ConsentService" in file for file in described)
    # Listed and described too (probe GE: served, not listed; `describe` of it failed).
    asked_v1 = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="grpc.reflection.v1.ServerReflection"
        ),
    ]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        listed, v1 = [
            reflection_pb2.ServerReflectionResponse.FromString(a)
            async for a in channel.stream_stream(method)(
                iter(m.SerializeToString() for m in asked_v1)
            )
        ]
    assert "grpc.reflection.v1.ServerReflection" in {
        s.name for s in listed.list_services_response.service
    }
    assert any(
        b"grpc.reflection.v1" in f for f in v1.file_descriptor_response.file_descriptor_proto
    )
