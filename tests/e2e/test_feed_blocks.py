"""Objections and restrictions are on the change feed, in the one order of the log: a copy of
the tenant's consents kept from the feed alone answers every person as CheckConsent does (it
answered ALLOW for an objector, whose checks said DENY, when blocks were not on the feed)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace

import grpc
import pytest
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
from tests.e2e.helpers import (
    by_email,
    check,
    error_info,
    grant,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)
from tests.e2e.security_helpers import issue

NEWSLETTER = target("newsletter")
Change = campaign_pb2.ConsentChange


@dataclass
class FeedCopy:
    """What a marketing tool keeps from the feed: per subject, the newsletter's latest event
    and the blocks in force (a restriction until lifted; an objection until a later event)."""

    events: dict[str, types_pb2.ConsentEvent] = field(default_factory=dict)
    restricted: dict[str, str] = field(default_factory=dict)  # subject -> block id
    objected: dict[str, int] = field(default_factory=dict)  # subject -> its position

    erased: set[str] = field(default_factory=set)

    def apply(self, change: Change) -> None:
        if change.HasField("event"):
            if change.event.state == types_pb2.CONSENT_STATE_ERASED:
                self.erased.add(change.event.subject_id)  # every target, from now on
            self.events[change.event.subject_id] = change.event
            self.objected.pop(change.event.subject_id, None)  # a later event decides
            return
        block = change.block
        if block.kind == campaign_pb2.BLOCK_KIND_RESTRICTION:
            if block.lifted:
                self.restricted.pop(block.subject_id, None)
            else:
                self.restricted[block.subject_id] = block.block_id
        else:
            self.objected[block.subject_id] = change.position

    def allows(self, subject_id: str) -> bool:
        blocked = (self.restricted, self.objected, self.erased)
        if any(subject_id in b for b in blocked):
            return False
        event = self.events.get(subject_id)
        return event is not None and event.state == types_pb2.CONSENT_STATE_GRANTED


async def _feed(
    campaign: campaign_pb2_grpc.CampaignServiceStub, stubs: Stubs, count: int, seconds: float = 10
) -> list[Change]:
    """The feed from its start: `count` changes, or what came within `seconds`."""
    call = campaign.WatchConsentChanges(
        campaign_pb2.WatchConsentChangesRequest(), metadata=stubs.metadata
    )
    changes: list[Change] = []

    async def read() -> None:
        async for response in call:
            changes.extend(response.changes)
            if len(changes) >= count:
                return

    try:
        await asyncio.wait_for(read(), seconds)
    except TimeoutError:
        pass
    finally:
        call.cancel()
    return changes


async def _whole_feed(
    campaign: campaign_pb2_grpc.CampaignServiceStub, stubs: Stubs, seconds: float = 10
) -> list[Change]:
    """Every change so far, from the start: a marker grant (another subject) is written now and
    the feed read until it comes; the feed is in commit order, so what came before it is all
    there was. (Reading for a second and a half missed changes when the first page was slow.)"""
    marker = await record(
        stubs, types_pb2.SubjectIdentity(email="end-of-feed@example.fr"), grant(NEWSLETTER)
    )
    (marker_event,) = marker.events
    call = campaign.WatchConsentChanges(
        campaign_pb2.WatchConsentChangesRequest(), metadata=stubs.metadata
    )
    changes: list[Change] = []

    async def read() -> bool:
        async for response in call:
            for change in response.changes:
                if change.HasField("event") and change.event.event_id == marker_event.event_id:
                    return True
                changes.append(change)
        return False

    try:
        assert await asyncio.wait_for(read(), seconds), "the feed ended before the marker"
    finally:
        call.cancel()
    return changes


async def test_a_copy_kept_from_the_feed_answers_as_the_checks_do(
    stubs: Stubs, campaign: campaign_pb2_grpc.CampaignServiceStub, channel: object
) -> None:
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    people = {name: f"{name}@example.fr" for name in ("ana", "bob", "cleo", "dan")}
    ids = {}
    for name, address in people.items():
        written = await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
        ids[name] = written.subject_id

    async def restrict(name: str, lift: bool = False) -> None:
        request = rights_pb2.RestrictProcessingRequest(subject=by_email(people[name]), lift=lift)
        await rights.RestrictProcessing(request, metadata=stubs.metadata)

    async def object_(name: str) -> None:
        request = rights_pb2.RecordObjectionRequest(subject=by_email(people[name]))
        await rights.RecordObjection(request, metadata=stubs.metadata)

    await object_("ana")  # DENY from now on
    await restrict("bob")
    await restrict("bob", lift=True)  # ALLOW again
    await restrict("cleo")  # DENY while in force
    await object_("dan")
    await record(stubs, types_pb2.SubjectIdentity(email=people["dan"]), grant(NEWSLETTER))

    changes = await _feed(campaign, stubs, 10)
    assert [c.position for c in changes] == list(range(1, 11))
    blocks = [c.block for c in changes if c.HasField("block")]
    assert [(b.subject_id, b.kind, b.lifted) for b in blocks] == [
        (ids["ana"], campaign_pb2.BLOCK_KIND_OBJECTION, False),
        (ids["bob"], campaign_pb2.BLOCK_KIND_RESTRICTION, False),
        (ids["bob"], campaign_pb2.BLOCK_KIND_RESTRICTION, True),
        (ids["cleo"], campaign_pb2.BLOCK_KIND_RESTRICTION, False),
        (ids["dan"], campaign_pb2.BLOCK_KIND_OBJECTION, False),
    ]
    assert blocks[1].block_id == blocks[2].block_id  # the lift names the block it lifts
    assert all(b.at.seconds > 0 for b in blocks)
    assert blocks[2].at.ToDatetime() >= blocks[1].at.ToDatetime()
    assert not any(c.HasField("event") and c.HasField("block") for c in changes)

    copy = FeedCopy()
    for change in changes:
        copy.apply(change)
    answers = {}
    for name, address in people.items():
        answer = await check(stubs, by_email(address), NEWSLETTER)
        answers[name] = answer.decision == consent_pb2.DECISION_ALLOW
        assert copy.allows(ids[name]) == answers[name], name
    assert answers == {"ana": False, "bob": True, "cleo": False, "dan": True}


async def test_a_block_already_in_force_takes_no_position(
    stubs: Stubs, campaign: campaign_pb2_grpc.CampaignServiceStub, channel: object
) -> None:
    """Objecting twice, restricting twice, lifting what is not in force: nothing changed, so
    nothing is on the feed (each position is a change)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    address = "eve@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    lift = rights_pb2.RestrictProcessingRequest(subject=by_email(address), lift=True)
    await rights.RestrictProcessing(lift, metadata=stubs.metadata)
    for _ in range(2):
        await rights.RecordObjection(
            rights_pb2.RecordObjectionRequest(subject=by_email(address)), metadata=stubs.metadata
        )
        await rights.RestrictProcessing(
            rights_pb2.RestrictProcessingRequest(subject=by_email(address)),
            metadata=stubs.metadata,
        )
    changes = await _whole_feed(campaign, stubs)
    assert [(c.position, c.HasField("block")) for c in changes] == [
        (1, False),
        (2, True),
        (3, True),
    ]
    assert {c.block.kind for c in changes[1:]} == {
        campaign_pb2.BLOCK_KIND_OBJECTION,
        campaign_pb2.BLOCK_KIND_RESTRICTION,
    }


async def test_objecting_again_after_taking_a_target_back_stops_it_again(
    stubs: Stubs, campaign: campaign_pb2_grpc.CampaignServiceStub, channel: object
) -> None:
    """Objection, the person's own grant (ALLOW), objection again: it answered OK and changed
    nothing, ALLOW for good (probe Y). The second objection is a new block, on the feed; a third
    right after it changes nothing."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    address = "changes-her-mind@example.fr"
    objection = rights_pb2.RecordObjectionRequest(subject=by_email(address))
    await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    await rights.RecordObjection(objection, metadata=stubs.metadata)
    await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    back = await check(stubs, by_email(address), NEWSLETTER)
    assert back.decision == consent_pb2.DECISION_ALLOW
    await rights.RecordObjection(objection, metadata=stubs.metadata)
    await rights.RecordObjection(objection, metadata=stubs.metadata)
    again = await check(stubs, by_email(address), NEWSLETTER)
    assert (again.decision, again.reason) == (
        consent_pb2.DECISION_DENY,
        consent_pb2.REASON_OBJECTED,
    )
    # A "no" takes nothing back: withdrawing, then objecting again, adds no block (probe Z).
    await withdraw(stubs, by_email(address), NEWSLETTER)
    await rights.RecordObjection(objection, metadata=stubs.metadata)
    changes = await _whole_feed(campaign, stubs)
    kinds = ["block" if c.HasField("block") else "event" for c in changes]
    assert kinds == ["event", "block", "event", "block", "event"]
    assert changes[1].block.block_id != changes[3].block.block_id
    copy = FeedCopy()
    for change in changes:
        copy.apply(change)
    assert not copy.allows(again.subject_id)


@pytest.mark.parametrize("source", [types_pb2.SOURCE_API, types_pb2.SOURCE_PORTAL])
async def test_systems_grants_racing_an_objection_never_outlive_it(
    stubs: Stubs,
    campaign: campaign_pb2_grpc.CampaignServiceStub,
    channel: object,
    *,
    admin: AdminUseCases,
    tenant: Tenant,
    source: types_pb2.Source.ValueType,
) -> None:
    """Each subject objects while CRM grants (SOURCE_API) race it: 49 of 200 were written after
    the objection committed but stamped before it, so the checks said DENY while a copy kept
    from the feed said ALLOW (probe Y); the same with SOURCE_PORTAL from a key that does not
    vouch for the person, which the append function cannot tell from the person's (probe Z).
    A grant is refused or lands before the objection; the copy and the checks agree, DENY."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    crm = replace(stubs, metadata=bearer(await issue(admin, tenant, Scope.WRITE.value)))
    await put_purpose(stubs, "newsletter")
    people = [f"racer-{i}@example.fr" for i in range(12)]
    for address in people:
        await record(stubs, types_pb2.SubjectIdentity(email=address), refuse(NEWSLETTER))

    async def crm_grant(address: str) -> None:
        request = consent_pb2.RecordConsentRequest(
            subject=types_pb2.SubjectIdentity(email=address),
            choices=[grant(NEWSLETTER)],
            source=source,
        )
        with contextlib.suppress(grpc.aio.AioRpcError):
            await crm.consent.RecordConsent(request, metadata=crm.metadata)

    async def objects(address: str) -> None:
        request = rights_pb2.RecordObjectionRequest(subject=by_email(address))
        await rights.RecordObjection(request, metadata=stubs.metadata)

    calls = []
    for address in people:
        calls += [crm_grant(address), crm_grant(address), objects(address), crm_grant(address)]
    await asyncio.gather(*calls)
    copy = FeedCopy()
    for change in await _whole_feed(campaign, stubs):  # all there is
        copy.apply(change)
    for address in people:
        answer = await check(stubs, by_email(address), NEWSLETTER)
        assert (answer.decision, answer.reason) == (
            consent_pb2.DECISION_DENY,
            consent_pb2.REASON_OBJECTED,
        ), address
        assert not copy.allows(answer.subject_id), address


async def test_nothing_is_blocked_or_lifted_for_an_erased_subject(
    stubs: Stubs, campaign: campaign_pb2_grpc.CampaignServiceStub, channel: object
) -> None:
    """After an erasure, a restriction, its lift and an objection by the subject's id are
    FAILED_PRECONDITION (SUBJECT_ERASED), as a withdrawal is: they answered OK and put three
    blocks on the feed after the erasure (probe BA)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    recorded = await record(
        stubs, types_pb2.SubjectIdentity(email="gone@example.fr"), grant(NEWSLETTER)
    )
    subject = types_pb2.SubjectRef(subject_id=recorded.subject_id)
    await rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=subject, actor="dpo"), metadata=stubs.metadata
    )
    calls = [
        rights.RestrictProcessing(
            rights_pb2.RestrictProcessingRequest(subject=subject), metadata=stubs.metadata
        ),
        rights.RestrictProcessing(
            rights_pb2.RestrictProcessingRequest(subject=subject, lift=True),
            metadata=stubs.metadata,
        ),
        rights.RecordObjection(
            rights_pb2.RecordObjectionRequest(subject=subject), metadata=stubs.metadata
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_info(refused.value).reason == "SUBJECT_ERASED"
        assert "erased" in (refused.value.details() or "")
    changes = await _whole_feed(campaign, stubs)
    assert [c.HasField("block") for c in changes] == [False, False]  # the grant, its erasure
