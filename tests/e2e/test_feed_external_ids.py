"""The change feed names each change's subject by its external id too (the CRM's own key for the
person): a STOP texted from a phone, or an unsubscribe click, reached a CRM consuming the feed as
a subject id it could not join to its records without an admin export (probe BF). For callers
that may read subjects' history only; never once the subject is erased."""

from __future__ import annotations

import asyncio

import grpc
from consent.v1 import (
    campaign_pb2,
    campaign_pb2_grpc,
    consent_pb2,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import grant, put_purpose, record, target
from tests.e2e.security_helpers import issue

NEWSLETTER = target("newsletter")
SMS = target("newsletter", types_pb2.CHANNEL_SMS)


async def _feed(
    campaign: campaign_pb2_grpc.CampaignServiceStub, metadata: object, count: int
) -> list[campaign_pb2.ConsentChange]:
    """The feed from its start, until `count` changes came (10 s at most)."""
    call = campaign.WatchConsentChanges(
        campaign_pb2.WatchConsentChangesRequest(), metadata=metadata
    )
    changes: list[campaign_pb2.ConsentChange] = []

    async def read() -> None:
        async for response in call:
            changes.extend(response.changes)
            if len(changes) >= count:
                return

    try:
        await asyncio.wait_for(read(), 10)
    finally:
        call.cancel()
    return changes


async def test_feed_changes_carry_the_subjects_external_id(
    stubs: Stubs,
    campaign: campaign_pb2_grpc.CampaignServiceStub,
    channel: grpc.aio.Channel,
    admin: AdminUseCases,
    tenant: Tenant,
) -> None:
    await put_purpose(stubs, "newsletter")
    crm = types_pb2.SubjectIdentity(external_id="CRM-0042", phone="+33611223344")
    await record(stubs, crm, grant(NEWSLETTER), grant(SMS))
    await record(stubs, types_pb2.SubjectIdentity(email="no-crm-key@example.fr"), grant(NEWSLETTER))
    # The person texts STOP: the gateway knows the phone only.
    stop = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(phone="+33611223344"),
        all=True,
        channel=types_pb2.CHANNEL_SMS,
        source=types_pb2.SOURCE_API,
    )
    stopped = await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    count = 3 + len(stopped.events)  # the "everything on SMS" row and the SMS grant withdrawn
    changes = await _feed(campaign, stubs.metadata, count)
    stops = ["CRM-0042"] * len(stopped.events)
    assert [c.external_id for c in changes] == ["CRM-0042", "CRM-0042", "", *stops]
    assert changes[-1].event.subject_id == stopped.subject_id
    # A campaign tool's check key gets subject ids only (it could list every customer's key).
    checker = bearer(await issue(admin, tenant, Scope.CHECK.value))
    assert {c.external_id for c in await _feed(campaign, checker, count)} == {""}
    # Erased: its identifiers are gone, so is its external id on the feed.
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=types_pb2.SubjectRef(subject_id=stopped.subject_id)),
        metadata=stubs.metadata,
    )
    after = await _feed(campaign, stubs.metadata, count + 1)
    assert [c.external_id for c in after] == [""] * len(after)
    assert len(after) > count
