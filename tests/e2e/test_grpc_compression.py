"""The gRPC port takes requests uncompressed only: a gzip body was inflated before the caller
was authenticated (an 8.8 KB bomb became 4 MiB, 12 times the CPU of a plain refused call) and
garbage in one was INTERNAL (probe O). A compressed request is refused before any of it is read,
with or without a key, and the same call uncompressed is answered."""

from __future__ import annotations

import grpc
import pytest
from consent.v1 import consent_pb2, consent_pb2_grpc, types_pb2

from tests.conftest import Stubs
from tests.e2e.helpers import put_purpose, target


async def test_a_compressed_request_is_refused_before_it_is_read(
    stubs: Stubs, grpc_port: int
) -> None:
    await put_purpose(stubs, "newsletter")
    request = consent_pb2.CheckConsentRequest(
        subject=types_pb2.SubjectRef(email="gzip@example.fr"), target=target("newsletter")
    )
    address = f"127.0.0.1:{grpc_port}"
    async with grpc.aio.insecure_channel(address, compression=grpc.Compression.Gzip) as channel:
        consent = consent_pb2_grpc.ConsentServiceStub(channel)
        for metadata in (stubs.metadata, ()):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await consent.CheckConsent(request, metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED, refused.value
            assert "gzip" in str(refused.value.details()), refused.value
    answer = await stubs.consent.CheckConsent(request, metadata=stubs.metadata)
    assert answer.decision == consent_pb2.DECISION_DENY
