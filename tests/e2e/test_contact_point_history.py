"""Issue #14's contact points that change hands, through the real gRPC server and the generated
stubs: after RectifyContact, the old address answers as of before it for the person, keeps the
person's objection on CheckConsent, BatchCheckConsent, StreamCheckConsent and
ExportSuppressionList, and a later grant by someone else with it answers again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
from consent.v1 import (
    campaign_pb2,
    campaign_pb2_grpc,
    consent_pb2,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)

from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import (
    LEGITIMATE_INTEREST,
    by_email,
    check,
    grant,
    put_purpose,
    record,
    stamp,
    target,
    withdraw,
)

Campaign = campaign_pb2_grpc.CampaignServiceStub
OLD = by_email("lea@example.fr")
NEWSLETTER = target("newsletter")
B2B = target("b2b")


async def _paths(
    stubs: Stubs, campaign: Campaign, to: types_pb2.ConsentTarget, as_of: datetime | None
) -> set[tuple[int, int]]:
    """The (decision, reason) for the old address on unary, batch and stream."""
    unary = await check(stubs, OLD, to, as_of)
    batch = campaign_pb2.BatchCheckConsentRequest(target=to, recipients=[OLD])
    first = campaign_pb2.StreamCheckConsentRequest(target=to, recipients=[OLD])
    if as_of is not None:
        batch.as_of.CopyFrom(stamp(as_of))
        first.as_of.CopyFrom(stamp(as_of))
    [batched] = (await campaign.BatchCheckConsent(batch, metadata=stubs.metadata)).answers

    async def requests() -> AsyncIterator[campaign_pb2.StreamCheckConsentRequest]:
        yield first

    streamed = [
        a
        async for response in campaign.StreamCheckConsent(requests(), metadata=stubs.metadata)
        for a in response.answers
    ]
    answers = [
        (unary.decision, unary.reason),
        *((a.decision, a.reason) for a in [batched, *streamed]),
    ]
    return set(answers)


async def _listed(stubs: Stubs, campaign: Campaign, to: types_pb2.ConsentTarget) -> set[bytes]:
    request = campaign_pb2.ExportSuppressionListRequest(target=to)
    call = campaign.ExportSuppressionList(request, metadata=stubs.metadata)
    return {entry.digest async for response in call for entry in response.entries}


async def test_a_rectified_address_answers_for_its_past_and_keeps_the_objection(
    stubs: Stubs, channel: grpc.aio.Channel, campaign: Campaign, tenant: Tenant
) -> None:
    """Grant the newsletter and object to b2b with lea@example.fr, note t, rectify it to
    lea@nouveau.fr: as of t the old address is ALLOW granted / DENY objected on every path;
    now it is DENY objected for b2b and on b2b's suppression list, until someone else's grant
    with it."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "b2b", LEGITIMATE_INTEREST)
    await record(stubs, types_pb2.SubjectIdentity(email="lea@example.fr"), grant(NEWSLETTER))
    await withdraw(stubs, OLD, B2B)
    await asyncio.sleep(0.01)
    t = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=OLD, kind=rights_pb2.CONTACT_KIND_EMAIL, value="lea@nouveau.fr", actor="s1"
        ),
        metadata=stubs.metadata,
    )
    allow, deny = consent_pb2.DECISION_ALLOW, consent_pb2.DECISION_DENY
    assert await _paths(stubs, campaign, NEWSLETTER, t) == {(allow, consent_pb2.REASON_GRANTED)}
    assert await _paths(stubs, campaign, B2B, t) == {(deny, consent_pb2.REASON_OBJECTED)}
    assert await _paths(stubs, campaign, B2B, None) == {(deny, consent_pb2.REASON_OBJECTED)}
    request = campaign_pb2.HashContactPointsRequest(contact_points=[OLD])
    [hashed] = (await campaign.HashContactPoints(request, metadata=stubs.metadata)).hashes
    assert hashed.digest in await _listed(stubs, campaign, B2B)

    await record(stubs, types_pb2.SubjectIdentity(email="lea@example.fr"), grant(B2B))
    legitimate = consent_pb2.REASON_LEGITIMATE_INTEREST
    assert await _paths(stubs, campaign, B2B, None) == {(allow, legitimate)}
    assert hashed.digest not in await _listed(stubs, campaign, B2B)
