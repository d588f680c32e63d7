"""Issue #5's blocks hold at campaign scale: on every check path — the unary fast path, a batch,
a stream, and each of them with `as_of` — an erased e-mail, a restricted subject and an objection
are DENY with their own reason, exactly as CheckConsent answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, consent_pb2, types_pb2

from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email
from consentd.domain.rights import RequestKind
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    check,
    grant,
    put_purpose,
    record,
    refuse,
    stamp,
)
from tests.e2e.helpers import target as make_target

Campaign = campaign_pb2_grpc.CampaignServiceStub
NEWSLETTER = make_target("newsletter")
# ana stays granted; bea is erased; cleo is restricted; dora objects; eve was never recorded.
PEOPLE = ("ana", "bea", "cleo", "dora")
EXPECTED = [
    (ALLOW, consent_pb2.REASON_GRANTED),
    (DENY, consent_pb2.REASON_ERASED),
    (DENY, consent_pb2.REASON_RESTRICTED),
    (DENY, consent_pb2.REASON_OBJECTED),
    (DENY, consent_pb2.REASON_NO_RECORD),
]


def _ref(name: str) -> types_pb2.SubjectRef:
    return by_email(f"{name}@example.fr")


RECIPIENTS = [_ref(name) for name in (*PEOPLE, "eve")]


async def _blocked_people(app: App, stubs: Stubs, tenant: Tenant) -> datetime:
    """Everyone granted the newsletter, then bea erased, cleo restricted, dora objecting;
    returns a moment after all of it."""
    await put_purpose(stubs, "newsletter")
    for name in PEOPLE:
        identity = types_pb2.SubjectIdentity(email=f"{name}@example.fr")
        await record(stubs, identity, grant(NEWSLETTER))
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.erase(principal, normalise_email("bea@example.fr"), "test")
    await app.rights.restrict(principal, normalise_email("cleo@example.fr"))
    await app.rights.object(principal, normalise_email("dora@example.fr"))
    return datetime.now(UTC)


def _verdicts(answers: list[campaign_pb2.CheckAnswer]) -> list[tuple[int, int]]:
    return [(a.decision, a.reason) for a in answers]


async def _unary(stubs: Stubs, as_of: datetime | None) -> list[tuple[int, int]]:
    answers = [await check(stubs, ref, NEWSLETTER, as_of) for ref in RECIPIENTS]
    return [(a.decision, a.reason) for a in answers]


async def _batch(stubs: Stubs, campaign: Campaign, as_of: datetime | None) -> list[tuple[int, int]]:
    request = campaign_pb2.BatchCheckConsentRequest(target=NEWSLETTER, recipients=RECIPIENTS)
    if as_of is not None:
        request.as_of.CopyFrom(stamp(as_of))
    response = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    return _verdicts(list(response.answers))


async def _stream(
    stubs: Stubs, campaign: Campaign, as_of: datetime | None
) -> list[tuple[int, int]]:
    first = campaign_pb2.StreamCheckConsentRequest(target=NEWSLETTER, recipients=RECIPIENTS[:2])
    if as_of is not None:
        first.as_of.CopyFrom(stamp(as_of))
    rest = campaign_pb2.StreamCheckConsentRequest(recipients=RECIPIENTS[2:])

    async def requests() -> AsyncIterator[campaign_pb2.StreamCheckConsentRequest]:
        yield first
        yield rest

    answers: list[campaign_pb2.CheckAnswer] = []
    async for response in campaign.StreamCheckConsent(requests(), metadata=stubs.metadata):
        answers.extend(response.answers)
    return _verdicts(answers)


async def test_unary_checks_deny_erased_restricted_and_objected(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """CheckConsent (the coalesced one-statement path): blocks decide, now and as_of."""
    after = await _blocked_people(app, stubs, tenant)
    assert await _unary(stubs, None) == EXPECTED
    assert await _unary(stubs, after) == EXPECTED


async def test_batch_denies_erased_restricted_and_objected(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """BatchCheckConsent answers an erased e-mail, a restriction and an objection in bulk as
    CheckConsent does."""
    await _blocked_people(app, stubs, tenant)
    assert await _batch(stubs, campaign, None) == EXPECTED


async def test_batch_as_of_denies_erased_restricted_and_objected(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """BatchCheckConsent with as_of after the blocks: the history path weighs them too."""
    after = await _blocked_people(app, stubs, tenant)
    assert await _batch(stubs, campaign, after) == EXPECTED


async def test_an_erased_persons_past_names_no_subject(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """`as_of` before bea's erasure answers her grant then (what a send relied on), but it also
    named her subject id, on every path: her e-mail led back to the pseudonymous record the
    erasure unlinked (ExportSubject by that id). Erased, she is answered with no subject id;
    ana's id is still given."""
    await put_purpose(stubs, "newsletter")
    for name in PEOPLE:
        identity = types_pb2.SubjectIdentity(email=f"{name}@example.fr")
        await record(stubs, identity, grant(NEWSLETTER))
    before = datetime.now(UTC)
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.erase(principal, normalise_email("bea@example.fr"), "test")
    unary = await check(stubs, _ref("bea"), NEWSLETTER, before)
    request = campaign_pb2.BatchCheckConsentRequest(
        target=NEWSLETTER, recipients=[_ref("bea"), _ref("ana")]
    )
    request.as_of.CopyFrom(stamp(before))
    batch = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    bea, ana = batch.answers
    for answer in (unary, bea):
        assert (answer.decision, answer.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
        assert answer.subject_id == ""
    assert (ana.decision, ana.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    assert ana.subject_id

    # She comes back and grants again: a new subject holds the address, and a check now names
    # it (the contract: empty only for an unknown subject; it was empty on every path), while
    # her past as_of before the erasure still names nobody.
    again = await record(
        stubs, types_pb2.SubjectIdentity(email="bea@example.fr"), grant(NEWSLETTER)
    )
    now = campaign_pb2.BatchCheckConsentRequest(target=NEWSLETTER, recipients=[_ref("bea")])
    for answer in (
        await check(stubs, _ref("bea"), NEWSLETTER),
        (await campaign.BatchCheckConsent(now, metadata=stubs.metadata)).answers[0],
    ):
        assert (answer.decision, answer.subject_id) == (ALLOW, again.subject_id)
    assert (await check(stubs, _ref("bea"), NEWSLETTER, before)).subject_id == ""


async def test_stream_denies_erased_restricted_and_objected(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """StreamCheckConsent, across two chunks: the same answers as CheckConsent."""
    await _blocked_people(app, stubs, tenant)
    assert await _stream(stubs, campaign, None) == EXPECTED


async def test_stream_as_of_denies_erased_restricted_and_objected(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """StreamCheckConsent with as_of after the blocks: the same answers."""
    after = await _blocked_people(app, stubs, tenant)
    assert await _stream(stubs, campaign, after) == EXPECTED


async def test_a_lifted_restriction_no_longer_denies_in_bulk(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """Lifting the restriction gives cleo's grant back in a batch, and an as_of before the
    restriction was put in force does not see it."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="cleo@example.fr"), grant(NEWSLETTER))
    before = datetime.now(UTC)
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.restrict(principal, normalise_email("cleo@example.fr"))
    request = campaign_pb2.BatchCheckConsentRequest(target=NEWSLETTER, recipients=[_ref("cleo")])
    restricted = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    request.as_of.CopyFrom(stamp(before))
    earlier = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    await app.rights.restrict(principal, normalise_email("cleo@example.fr"), lift=True)
    request.ClearField("as_of")
    lifted = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    assert _verdicts(list(restricted.answers)) == [(DENY, consent_pb2.REASON_RESTRICTED)]
    assert _verdicts(list(earlier.answers)) == [(ALLOW, consent_pb2.REASON_GRANTED)]
    assert _verdicts(list(lifted.answers)) == [(ALLOW, consent_pb2.REASON_GRANTED)]


async def test_the_suppression_export_lists_every_blocked_person(
    app: App, stubs: Stubs, tenant: Tenant, campaign: Campaign
) -> None:
    """The export lists whoever a check turns away for a block: cleo's restriction was DENY
    `restricted` on every check path but missing from the export, so a sender using only the
    export contacted her. Lifted, she leaves it."""
    await _blocked_people(app, stubs, tenant)
    request = campaign_pb2.ExportSuppressionListRequest(target=NEWSLETTER)
    hashed = await campaign.HashContactPoints(
        campaign_pb2.HashContactPointsRequest(contact_points=RECIPIENTS), metadata=stubs.metadata
    )
    names = {h.digest: name for h, name in zip(hashed.hashes, (*PEOPLE, "eve"), strict=True)}

    async def exported() -> dict[str, int]:
        call = campaign.ExportSuppressionList(request, metadata=stubs.metadata)
        return {names[e.digest]: e.reason async for r in call for e in r.entries}

    assert await exported() == {
        "bea": consent_pb2.REASON_ERASED,
        "cleo": consent_pb2.REASON_RESTRICTED,
        "dora": consent_pb2.REASON_OBJECTED,
    }
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.restrict(principal, normalise_email("cleo@example.fr"), lift=True)
    assert "cleo" not in await exported()


async def test_a_systems_grant_does_not_lift_an_objection(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """An objection to marketing, then RecordConsent `granted` on a legitimate-interest purpose
    from a system (SOURCE_IMPORT or SOURCE_API: a nightly CRM sync): the check went from DENY
    objected to ALLOW legitimate_interest (GDPR art. 21(3)). Each is FAILED_PRECONDITION saying
    who may lift it, on the grouped path and the one-call path (an idempotency key), nothing is
    written; the person granting again through the portal does lift it."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "b2b_prospecting", types_pb2.LAWFUL_BASIS_LEGITIMATE_INTEREST)
    prospecting = make_target("b2b_prospecting")
    identity = types_pb2.SubjectIdentity(email="objects@example.fr")
    await record(stubs, identity, grant(NEWSLETTER))
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.object(principal, normalise_email("objects@example.fr"))
    objected = await check(stubs, _ref("objects"), prospecting)
    assert (objected.decision, objected.reason) == (DENY, consent_pb2.REASON_OBJECTED)

    def request(source: types_pb2.Source.ValueType) -> consent_pb2.RecordConsentRequest:
        return consent_pb2.RecordConsentRequest(
            subject=identity, choices=[grant(prospecting)], source=source
        )

    for source in (types_pb2.SOURCE_IMPORT, types_pb2.SOURCE_API):
        for keyed in ((), (("idempotency-key", f"sync-{source}"),)):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stubs.consent.RecordConsent(
                    request(source), metadata=(*stubs.metadata, *keyed)
                )
            assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "does not lift an objection" in str(raised.value.details())
    still = await check(stubs, _ref("objects"), prospecting)
    assert (still.decision, still.reason) == (DENY, consent_pb2.REASON_OBJECTED)
    await stubs.consent.RecordConsent(request(types_pb2.SOURCE_PORTAL), metadata=stubs.metadata)
    back = await check(stubs, _ref("objects"), prospecting)
    assert back.decision == ALLOW


async def test_a_systems_grant_does_not_bring_an_erased_person_back(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """The person objected, then had themselves erased; the next CRM sync's grant (refused
    while the objection stood) made a new subject and the check said ALLOW. A system's grant
    for an erased contact point nobody holds is FAILED_PRECONDITION on both write paths and
    writes nothing; a system's refusal is kept; the person's own grant brings them back, and
    then a system's grant counts."""
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(email="erased-then-synced@example.fr")
    await record(stubs, identity, grant(NEWSLETTER))
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.object(principal, normalise_email("erased-then-synced@example.fr"))
    await app.rights.erase(principal, normalise_email("erased-then-synced@example.fr"), "dpo")

    def request(
        source: types_pb2.Source.ValueType, choice: consent_pb2.ConsentChoice
    ) -> consent_pb2.RecordConsentRequest:
        return consent_pb2.RecordConsentRequest(subject=identity, choices=[choice], source=source)

    for source in (types_pb2.SOURCE_API, types_pb2.SOURCE_IMPORT):
        for keyed in ((), (("idempotency-key", f"zombie-{source}"),)):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stubs.consent.RecordConsent(
                    request(source, grant(NEWSLETTER)), metadata=(*stubs.metadata, *keyed)
                )
            assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "does not bring the person back" in str(raised.value.details())
    ref = _ref("erased-then-synced")
    gone = await check(stubs, ref, NEWSLETTER)
    assert (gone.decision, gone.reason) == (DENY, consent_pb2.REASON_ERASED)
    sms = make_target("newsletter", types_pb2.CHANNEL_SMS)
    await stubs.consent.RecordConsent(
        request(types_pb2.SOURCE_API, refuse(sms)), metadata=stubs.metadata
    )
    assert (await check(stubs, ref, NEWSLETTER)).decision == DENY
    await stubs.consent.RecordConsent(
        request(types_pb2.SOURCE_PORTAL, grant(NEWSLETTER)), metadata=stubs.metadata
    )
    await stubs.consent.RecordConsent(
        request(types_pb2.SOURCE_API, grant(sms)), metadata=stubs.metadata
    )
    assert (await check(stubs, ref, sms)).decision == ALLOW


async def test_no_side_door_brings_an_erased_person_back(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """A system's grant was refused for an erased address nobody held, but went through once
    anything held it: a system's refusal first, a rights request, or another identifier of
    another subject named in the same call (probe K). Only a fact from the person since the
    erasure (portal, banner, support) lets systems' grants count again."""
    await put_purpose(stubs, "newsletter")
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    sms = make_target("newsletter", types_pb2.CHANNEL_SMS)
    await record(stubs, types_pb2.SubjectIdentity(external_id="crm-other"), grant(NEWSLETTER))

    def systems(identity: types_pb2.SubjectIdentity, choice: consent_pb2.ConsentChoice) -> Any:
        request = consent_pb2.RecordConsentRequest(
            subject=identity, choices=[choice], source=types_pb2.SOURCE_API
        )
        return stubs.consent.RecordConsent(request, metadata=stubs.metadata)

    for door in ("refusal", "request", "other-id"):
        email = f"side-{door}@example.fr"
        identity = types_pb2.SubjectIdentity(email=email)
        await record(stubs, identity, grant(NEWSLETTER))
        await app.rights.object(principal, normalise_email(email))
        await app.rights.erase(principal, normalise_email(email), "dpo")
        if door == "refusal":
            await systems(identity, refuse(sms))
        elif door == "request":
            await app.requests.submit(principal, RequestKind.ACCESS, normalise_email(email), None)
        else:
            identity = types_pb2.SubjectIdentity(email=email, external_id="crm-other")
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await systems(identity, grant(NEWSLETTER))
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION, door
        assert "does not bring the person back" in str(raised.value.details())
        assert (await check(stubs, _ref(f"side-{door}"), NEWSLETTER)).decision == DENY, door


async def test_a_systems_grant_does_not_take_an_objectors_old_address(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """The person objected, then moved to a new address (RectifyContact); the next CRM sync's
    grant for the old one made a new subject and the check said ALLOW, though the objection
    stays on the address (docs/contact-points.md, rule 2). A system's grant for an address an
    objector left is FAILED_PRECONDITION on both write paths and writes nothing; a system's
    refusal is kept; the person who holds it now, granting in person, takes it back, and then
    a system's grant counts."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "b2b_prospecting", types_pb2.LAWFUL_BASIS_LEGITIMATE_INTEREST)
    prospecting = make_target("b2b_prospecting")
    old, new = "left-objecting@example.fr", "moved-objecting@example.fr"
    identity = types_pb2.SubjectIdentity(email=old)
    await record(stubs, identity, grant(NEWSLETTER))
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.object(principal, normalise_email(old))
    await app.rights.rectify(principal, normalise_email(old), normalise_email(new), "support")

    def request(
        source: types_pb2.Source.ValueType, choice: consent_pb2.ConsentChoice
    ) -> consent_pb2.RecordConsentRequest:
        return consent_pb2.RecordConsentRequest(subject=identity, choices=[choice], source=source)

    for source in (types_pb2.SOURCE_API, types_pb2.SOURCE_IMPORT):
        for choice in (grant(NEWSLETTER), grant(prospecting)):
            for keyed in ((), (("idempotency-key", f"old-{source}-{choice.target.purpose}"),)):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await stubs.consent.RecordConsent(
                        request(source, choice), metadata=(*stubs.metadata, *keyed)
                    )
                assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                assert "objected" in str(raised.value.details())
    ref = by_email(old)
    for target in (NEWSLETTER, prospecting):
        kept = await check(stubs, ref, target)
        assert (kept.decision, kept.reason) == (DENY, consent_pb2.REASON_OBJECTED)
    sms = make_target("newsletter", types_pb2.CHANNEL_SMS)
    await stubs.consent.RecordConsent(
        request(types_pb2.SOURCE_API, refuse(sms)), metadata=stubs.metadata
    )
    assert (await check(stubs, ref, NEWSLETTER)).decision == DENY
    await stubs.consent.RecordConsent(
        request(types_pb2.SOURCE_PORTAL, grant(NEWSLETTER)), metadata=stubs.metadata
    )
    assert (await check(stubs, ref, NEWSLETTER)).decision == ALLOW
    await stubs.consent.RecordConsent(
        request(types_pb2.SOURCE_API, grant(sms)), metadata=stubs.metadata
    )
    assert (await check(stubs, ref, sms)).decision == ALLOW


@pytest.mark.parametrize("closure", ["objected-and-moved", "erased"])
async def test_a_no_in_person_or_another_holders_identifier_does_not_reopen_an_address(
    app: App, stubs: Stubs, tenant: Tenant, closure: str
) -> None:
    """Probe S: on an address an objector left (or an erased one), a refusal or withdrawal
    from the portal or support (the objector clicking "unsubscribe" in an old newsletter) let
    the next CRM grant through, ALLOW; so did naming the address beside another customer's
    phone (the grant linked it to them). Only a grant in person by whoever holds the address
    takes it back."""
    await put_purpose(stubs, "newsletter")
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    old = f"closed-{closure}@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=old), grant(NEWSLETTER))
    await app.rights.object(principal, normalise_email(old))
    if closure == "erased":
        await app.rights.erase(principal, normalise_email(old), "dpo")
    else:
        await app.rights.rectify(
            principal, normalise_email(old), normalise_email(f"new-{old}"), "support"
        )
    other = types_pb2.SubjectIdentity(
        phone="+33612345678" if closure == "erased" else "+33612345679"
    )
    sms = make_target("newsletter", types_pb2.CHANNEL_SMS)
    await stubs.consent.RecordConsent(
        consent_pb2.RecordConsentRequest(
            subject=other, choices=[refuse(sms)], source=types_pb2.SOURCE_PORTAL
        ),
        metadata=stubs.metadata,
    )

    async def systems_grant(identity: types_pb2.SubjectIdentity) -> grpc.StatusCode:
        request = consent_pb2.RecordConsentRequest(
            subject=identity, choices=[grant(NEWSLETTER)], source=types_pb2.SOURCE_API
        )
        try:
            await stubs.consent.RecordConsent(request, metadata=stubs.metadata)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    beside = types_pb2.SubjectIdentity(email=old, phone=other.phone)
    assert await systems_grant(beside) == grpc.StatusCode.FAILED_PRECONDITION
    for source, choice in (
        (types_pb2.SOURCE_PORTAL, refuse(sms)),
        (types_pb2.SOURCE_SUPPORT, None),
    ):
        if choice is None:
            request = consent_pb2.WithdrawConsentRequest(
                subject=by_email(old), targets=[NEWSLETTER], source=source
            )
            await stubs.consent.WithdrawConsent(request, metadata=stubs.metadata)
        else:
            said_no = consent_pb2.RecordConsentRequest(
                subject=types_pb2.SubjectIdentity(email=old), choices=[choice], source=source
            )
            await stubs.consent.RecordConsent(said_no, metadata=stubs.metadata)
        identity = types_pb2.SubjectIdentity(email=old)
        assert await systems_grant(identity) == grpc.StatusCode.FAILED_PRECONDITION, source
    assert (await check(stubs, _ref(old.removesuffix("@example.fr")), NEWSLETTER)).decision == DENY


async def test_rectify_does_not_hand_a_closed_address_to_a_system(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """Probe U: an objector left their address; another customer, known by phone, granted in
    person after that; then RectifyContact gave them the old address, and the CRM's grant for
    it was taken (ALLOW). A grant from before the holder took the address over says nothing of
    it: refused until they grant in person with it."""
    await put_purpose(stubs, "newsletter")
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    old = "handed-over@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=old), grant(NEWSLETTER))
    await app.rights.object(principal, normalise_email(old))
    await app.rights.rectify(
        principal, normalise_email(old), normalise_email("objector-new@example.fr"), "support"
    )
    phone = types_pb2.SubjectIdentity(phone="+33698765432")
    sms = make_target("newsletter", types_pb2.CHANNEL_SMS)
    await record(stubs, phone, grant(sms))  # in person (the portal), before the hand-over
    customer = await stubs.consent.GetSubjectConsents(
        consent_pb2.GetSubjectConsentsRequest(subject=types_pb2.SubjectRef(phone=phone.phone)),
        metadata=stubs.metadata,
    )
    await app.rights.rectify(
        principal,
        UUID(customer.subject_id),
        normalise_email(old),
        "support",
    )
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=old),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs.consent.RecordConsent(request, metadata=stubs.metadata)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await check(stubs, by_email(old), NEWSLETTER)).decision == DENY
    await record(stubs, types_pb2.SubjectIdentity(email=old), grant(NEWSLETTER))  # in person
    await stubs.consent.RecordConsent(request, metadata=stubs.metadata)
    assert (await check(stubs, by_email(old), NEWSLETTER)).decision == ALLOW
