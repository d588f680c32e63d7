"""A refused request leaves nothing of itself behind: a call refused for a multi-MB string kept
it in a reference cycle (the abort's traceback held the handler's frame, a per-item error's
traceback the list it was in) that only Python's full collection frees, which runs seldom
(probe AN: 2 GB in 5 s of refused CheckConsent calls, 3 GB of HashContactPoints)."""

from __future__ import annotations

import gc
import types
from collections.abc import Iterator

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, consent_pb2, types_pb2

from tests.conftest import Stubs
from tests.e2e.helpers import target

BIG = 900_000  # under the 1 MiB a message may be (api/grpc_options.py)


@pytest.fixture
def no_collection() -> Iterator[None]:
    """The cyclic collector off: what a cycle holds stays until the test looks."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _held() -> list[str]:
    """What still holds a big string: request messages and frames (with their locals)."""
    found = []
    requests = consent_pb2.CheckConsentRequest | campaign_pb2.HashContactPointsRequest
    for o in gc.get_objects():
        if isinstance(o, requests) and o.ByteSize() > BIG:
            found.append(type(o).__name__)
        elif isinstance(o, types.FrameType) and any(
            isinstance(v, str | bytes) and len(v) >= BIG for v in o.f_locals.values()
        ):
            found.append(f"frame {o.f_code.co_name}")
    return found


@pytest.mark.usefixtures("no_collection")
async def test_refused_big_strings_are_not_kept(stubs: Stubs, channel: grpc.aio.Channel) -> None:
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    for n in range(3):
        request = consent_pb2.CheckConsentRequest(
            subject=types_pb2.SubjectRef(email="a" * BIG + str(n)), target=target("newsletter")
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stubs.consent.CheckConsent(request, metadata=stubs.metadata)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        hashed = await campaign.HashContactPoints(
            campaign_pb2.HashContactPointsRequest(
                contact_points=[types_pb2.SubjectRef(phone="1" * BIG + str(n))]
            ),
            metadata=stubs.metadata,
        )
        assert "longer than 64 characters" in hashed.hashes[0].error.message
        del request, hashed, refused
    assert _held() == []
