"""The suppression list: who must not be contacted for a target, as the keyed hashes that
HashContactPoints gives for the same addresses."""

from __future__ import annotations

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, consent_pb2, types_pb2

from tests.conftest import Stubs
from tests.e2e.helpers import (
    LEGITIMATE_INTEREST,
    by_email,
    grant,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)

Campaign = campaign_pb2_grpc.CampaignServiceStub
NEWSLETTER = target("newsletter")


async def _export(
    campaign: Campaign, stubs: Stubs, to: types_pb2.ConsentTarget
) -> list[campaign_pb2.SuppressionEntry]:
    request = campaign_pb2.ExportSuppressionListRequest(target=to)
    call = campaign.ExportSuppressionList(request, metadata=stubs.metadata)
    return [entry async for response in call for entry in response.entries]


async def _hashes(campaign: Campaign, stubs: Stubs, *refs: types_pb2.SubjectRef) -> list[bytes]:
    request = campaign_pb2.HashContactPointsRequest(contact_points=refs)
    response = await campaign.HashContactPoints(request, metadata=stubs.metadata)
    return [h.digest for h in response.hashes]


async def test_export_lists_refusals_withdrawals_and_objections(
    stubs: Stubs, campaign: Campaign
) -> None:
    """Refused, withdrawn and "withdraw everything" subjects are exported by their e-mail's
    keyed hash, with the reason and deciding event; a grant, a re-grant after withdrawing
    everything and another target's withdrawal are not; objections show for legitimate interest."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "prospecting", LEGITIMATE_INTEREST)
    identity = {n: types_pb2.SubjectIdentity(email=f"{n}@example.fr") for n in "abcdefg"}
    await record(stubs, identity["a"], grant(NEWSLETTER))
    refused = await record(stubs, identity["b"], refuse(NEWSLETTER))
    await record(stubs, identity["c"], grant(NEWSLETTER))
    withdrawn = await withdraw(stubs, by_email("c@example.fr"), NEWSLETTER)
    everything = await withdraw(stubs, by_email("d@example.fr"), everything=True)
    await withdraw(stubs, by_email("e@example.fr"), everything=True)
    await record(stubs, identity["e"], grant(NEWSLETTER))
    await withdraw(stubs, by_email("f@example.fr"), target("newsletter", types_pb2.CHANNEL_SMS))
    objection = await withdraw(stubs, by_email("g@example.fr"), target("prospecting"))

    entries = await _export(campaign, stubs, NEWSLETTER)

    digests = await _hashes(campaign, stubs, *(by_email(f"{n}@Example.fr") for n in "bcd"))
    by_digest = {e.digest: e for e in entries}
    assert set(by_digest) == set(digests)
    b, c, d = (by_digest[digest] for digest in digests)
    assert (b.reason, b.event_id, b.subject_id) == (
        consent_pb2.REASON_REFUSED,
        refused.events[0].event_id,
        refused.subject_id,
    )
    assert (c.reason, c.event_id) == (consent_pb2.REASON_WITHDRAWN, withdrawn.events[0].event_id)
    assert (d.reason, d.event_id) == (consent_pb2.REASON_WITHDRAWN, everything.events[0].event_id)
    assert {e.kind for e in entries} == {"email"}
    assert all(e.since.seconds for e in entries)
    assert [e.subject_id for e in entries] == sorted(e.subject_id for e in entries)

    # For a legitimate-interest purpose: g objected; d and e withdrew everything (e's later
    # newsletter grant does not lift that for prospecting).
    objected = await _export(campaign, stubs, target("prospecting"))
    g = await _hashes(campaign, stubs, by_email("g@example.fr"))
    assert (g[0], objection.events[0].event_id) in {(e.digest, e.event_id) for e in objected}
    assert {e.digest for e in objected} == set(
        await _hashes(campaign, stubs, *(by_email(f"{n}@example.fr") for n in "deg"))
    )
    assert {e.reason for e in objected} == {consent_pb2.REASON_OBJECTED}


async def test_sms_export_carries_phone_hashes(stubs: Stubs, campaign: Campaign) -> None:
    """For SMS the export carries the keyed hash of the E.164 phone number, not the e-mail."""
    await put_purpose(stubs, "newsletter")
    sms = target("newsletter", types_pb2.CHANNEL_SMS)
    both = types_pb2.SubjectIdentity(email="h@example.fr", phone="+33612345678")
    await record(stubs, both, refuse(sms))

    entries = await _export(campaign, stubs, sms)

    expected = await _hashes(campaign, stubs, types_pb2.SubjectRef(phone="06 12 34 56 78"))
    assert [(e.digest, e.kind) for e in entries] == [(expected[0], "phone")]


@pytest.mark.parametrize(
    ("to", "code"),
    [
        (target("newsletter", types_pb2.CHANNEL_POSTAL), grpc.StatusCode.INVALID_ARGUMENT),
        (target("unknown"), grpc.StatusCode.NOT_FOUND),
        (types_pb2.ConsentTarget(purpose="newsletter"), grpc.StatusCode.INVALID_ARGUMENT),
    ],
    ids=["postal", "unknown-purpose", "no-channel"],
)
async def test_export_refuses_what_has_no_list(
    stubs: Stubs, campaign: Campaign, to: types_pb2.ConsentTarget, code: grpc.StatusCode
) -> None:
    """A channel without contact points or an unknown purpose has no suppression list. A
    channel refused names the three that have one (an unset one was told every channel, then
    CHAT was refused; probe ZB)."""
    await put_purpose(stubs, "newsletter")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await _export(campaign, stubs, to)
    assert failure.value.code() == code
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        said = failure.value.details() or ""
        assert "CHANNEL_EMAIL, CHANNEL_SMS or CHANNEL_VOICE_CALL" in said, said
        assert "CHANNEL_CHAT" not in said


async def test_hashes_name_the_bad_contact_points(stubs: Stubs, campaign: Campaign) -> None:
    """Each contact point gets its hash or an error naming its field; equal addresses after
    normalisation hash alike; a list of 0 or 1,001 is refused whole."""
    refs = [
        by_email("Jeanne@EXAMPLE.fr"),
        by_email("jeanne@example.fr"),
        types_pb2.SubjectRef(external_id="crm-1"),
        by_email("nope"),
    ]
    request = campaign_pb2.HashContactPointsRequest(contact_points=refs)
    response = await campaign.HashContactPoints(request, metadata=stubs.metadata)
    hashes = list(response.hashes)
    assert hashes[0].digest == hashes[1].digest
    assert len(hashes[0].digest) == 32
    assert hashes[0].kind == "email"
    assert hashes[2].error.field == "contact_points[2]"
    assert hashes[3].error.field == "contact_points[3].email"
    for size in (0, 1001):
        too = campaign_pb2.HashContactPointsRequest(contact_points=[refs[0]] * size)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await campaign.HashContactPoints(too, metadata=stubs.metadata)
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_stream_resumes_after_a_messages_token(stubs: Stubs, campaign: Campaign) -> None:
    """Probe DT: a stream cut off had to start over. Each message carries a resume_token: a
    stream given it goes on after that message (here: nothing after the only one); a token
    not issued for this list is INVALID_ARGUMENT naming the field."""
    await put_purpose(stubs, "newsletter")
    await withdraw(stubs, by_email("gone@example.fr"), NEWSLETTER)
    request = campaign_pb2.ExportSuppressionListRequest(target=NEWSLETTER)
    messages = [m async for m in campaign.ExportSuppressionList(request, metadata=stubs.metadata)]
    assert [len(m.entries) for m in messages] == [1]
    assert messages[0].resume_token
    request.resume_token = messages[0].resume_token
    after = [m async for m in campaign.ExportSuppressionList(request, metadata=stubs.metadata)]
    assert after == []
    request.resume_token = "not-a-token"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        _ = [m async for m in campaign.ExportSuppressionList(request, metadata=stubs.metadata)]
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(failure.value.details()).startswith("resume_token:")
