"""SummarizeConsents: how many people hold each state of each target, for a dashboard (a grant
past its validity counted as expired, a withdrawal of everything a target of its own), of the
caller's tenant alone; a consent:check key may ask, a page key may not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import grpc
from consent.v1 import campaign_pb2, campaign_pb2_grpc, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, TestClock, bearer
from tests.e2e.helpers import by_email, grant, put_purpose, record, refuse, target, withdraw
from tests.e2e.security_helpers import fails

NEWSLETTER = target("newsletter")
SMS = target("newsletter", types_pb2.CHANNEL_SMS)


def _person(n: int) -> types_pb2.SubjectIdentity:
    return types_pb2.SubjectIdentity(email=f"summary{n}@example.fr")


async def _summary(
    channel: grpc.aio.Channel, stubs: Stubs, purpose: str = ""
) -> list[tuple[str, str, str, int]]:
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    request = campaign_pb2.SummarizeConsentsRequest(purpose=purpose)
    answer = await campaign.SummarizeConsents(request, metadata=stubs.metadata)
    assert abs(answer.as_of.ToDatetime(UTC) - datetime.now(UTC)) < timedelta(minutes=1)
    return [
        (
            t.target.purpose,
            types_pb2.Channel.Name(t.target.channel),
            types_pb2.ConsentState.Name(t.state),
            t.subjects,
        )
        for t in answer.tallies
    ]


async def test_people_are_counted_by_target_and_state(
    channel: grpc.aio.Channel,
    stubs: Stubs,
    clock: TestClock,
    admin: AdminUseCases,
    tenant: Tenant,
) -> None:
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    for n in range(3):
        await record(stubs, _person(n), grant(NEWSLETTER))
    await record(stubs, _person(3), refuse(NEWSLETTER), grant(SMS))
    await withdraw(stubs, by_email("summary0@example.fr"), NEWSLETTER)
    await withdraw(stubs, by_email("summary1@example.fr"), everything=True)
    clock.pinned = datetime.now(UTC) - timedelta(days=3)
    try:  # a grant that lapsed two days ago
        await record(
            stubs, _person(4), grant(target("offers"), valid_until=clock.pinned + timedelta(days=1))
        )
    finally:
        clock.pinned = None
    everything = ("", "CHANNEL_UNSPECIFIED", "CONSENT_STATE_WITHDRAWN", 1)
    assert await _summary(channel, stubs) == [
        everything,
        ("newsletter", "CHANNEL_EMAIL", "CONSENT_STATE_GRANTED", 1),
        ("newsletter", "CHANNEL_EMAIL", "CONSENT_STATE_REFUSED", 1),
        # One withdrew it, one withdrew everything (each grant they held is withdrawn too).
        ("newsletter", "CHANNEL_EMAIL", "CONSENT_STATE_WITHDRAWN", 2),
        ("newsletter", "CHANNEL_SMS", "CONSENT_STATE_GRANTED", 1),
        ("offers", "CHANNEL_EMAIL", "CONSENT_STATE_EXPIRED", 1),
    ]
    newsletter_only = await _summary(channel, stubs, "newsletter")
    assert {row[0] for row in newsletter_only} == {"newsletter"}
    assert await _summary(channel, stubs, "nobody-holds-this") == []
    bad = await fails(_summary(channel, stubs, "Not A Key!"))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    check, _ = await admin.issue_key(tenant.slug, [Scope.CHECK.value], name="dashboard")
    assert len(await _summary(channel, replace(stubs, metadata=bearer(check.token)))) == 6
    page, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="page")
    refused = await fails(_summary(channel, replace(stubs, metadata=bearer(page.token))))
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_tenant_counts_its_own_people_alone(
    channel: grpc.aio.Channel, stubs: Stubs, admin: AdminUseCases
) -> None:
    await put_purpose(stubs, "newsletter")
    await record(stubs, _person(9), grant(NEWSLETTER))
    other = await admin.create_tenant(f"summary-{uuid4().hex[:8]}")
    key, _ = await admin.issue_key(other.slug, [Scope.ADMIN.value], name="other")
    assert await _summary(channel, replace(stubs, metadata=bearer(key.token))) == []
