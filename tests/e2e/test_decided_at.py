"""RecordConsent's decided_at: choices collected earlier and sent late (a CRM sync) count from
when the person made them, and an old "yes" never overrides a newer "no" — the one-call path
and the grouped path alike, with and without an idempotency key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from consent.v1 import consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    by_id,
    check,
    error_info,
    grant,
    history,
    put_purpose,
    record,
    refuse,
    stamp,
    withdraw,
)
from tests.e2e.helpers import target as make_target

NEWSLETTER = make_target("newsletter")
SMS = make_target("newsletter", types_pb2.CHANNEL_SMS)
OFFERS_SMS = make_target("offers", types_pb2.CHANNEL_SMS)


async def _synced(
    stubs: Stubs,
    email: str,
    decided: datetime,
    *choices: consent_pb2.ConsentChoice,
    key: str = "",
    source: types_pb2.Source.ValueType = types_pb2.SOURCE_API,
) -> consent_pb2.RecordConsentResponse:
    """What a CRM sync sends: choices the person made at `decided`, from SOURCE_API (or, sent
    late from support's tool, `source`)."""
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email),
        choices=choices,
        source=source,
        actor="crm-sync",
        decided_at=stamp(decided),
    )
    keyed = (("idempotency-key", key),) if key else ()
    return await stubs.consent.RecordConsent(request, metadata=(*stubs.metadata, *keyed))


@pytest.mark.parametrize("key", ["", "sync-42"])
async def test_an_old_grant_sent_late_does_not_override_a_newer_withdrawal(
    stubs: Stubs, key: str
) -> None:
    """Granted Monday in the CRM, withdrawn Tuesday through the portal, the CRM's Monday grant
    synced Wednesday: it was recorded as new and the check said ALLOW. Now it is superseded
    (listed, nothing written) while a refusal sent the same way is recorded. A grant decided
    after the withdrawal lifts it only from the person (probe CD: a system's is refused), and
    is recorded with its own time."""
    await put_purpose(stubs, "newsletter")
    email = f"late-{key or 'plain'}@example.fr"
    first = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    withdrawn = await withdraw(stubs, by_email(email), NEWSLETTER)
    at = withdrawn.events[0].recorded_at.ToDatetime(tzinfo=UTC)

    stale = await _synced(
        stubs, email, at - timedelta(hours=20), grant(NEWSLETTER), refuse(SMS), key=key
    )
    assert stale.subject_id == first.subject_id
    assert list(stale.superseded) == [NEWSLETTER]
    assert [(e.target, e.state) for e in stale.events] == [(SMS, types_pb2.CONSENT_STATE_REFUSED)]
    denied = await check(stubs, by_email(email), NEWSLETTER)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)

    # At the withdrawal's very instant the "no" wins.
    tied = await _synced(stubs, email, at, grant(NEWSLETTER))
    assert list(tied.superseded) == [NEWSLETTER]

    later = at + timedelta(milliseconds=1)  # after the withdrawal, before now
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _synced(stubs, email, later, grant(NEWSLETTER))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    fresh = await _synced(stubs, email, later, grant(NEWSLETTER), source=types_pb2.SOURCE_SUPPORT)
    assert not fresh.superseded
    written = fresh.events[0].recorded_at.ToDatetime(tzinfo=UTC)
    assert written > later  # recorded when written: history is not rewritten (as_of)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW
    then = await check(stubs, by_email(email), NEWSLETTER, written - timedelta(microseconds=1))
    assert (then.decision, then.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)


async def test_a_replay_answers_what_the_first_call_did(stubs: Stubs) -> None:
    """The same key sent again gets the same superseded list, even after a newer grant."""
    await put_purpose(stubs, "newsletter")
    email = "replayed@example.fr"
    await withdraw(stubs, by_email(email), NEWSLETTER)
    old = datetime.now(UTC) - timedelta(days=3)
    once = await _synced(stubs, email, old, grant(NEWSLETTER), key="replay-1")
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    again = await _synced(stubs, email, old, grant(NEWSLETTER), key="replay-1")
    assert list(again.superseded) == list(once.superseded) == [NEWSLETTER]
    assert not again.events


async def test_validity_counts_from_when_the_person_decided(stubs: Stubs) -> None:
    """A 30-day purpose granted 10 days ago is valid for 20 more days, not 30; one granted 40
    days ago lapsed before it arrived: superseded, never written (it would never count)."""
    await put_purpose(stubs, "newsletter", max_validity_days=30)
    decided = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    written = await _synced(stubs, "valid@example.fr", decided, grant(NEWSLETTER))
    event = written.events[0]
    assert event.valid_until.ToDatetime(tzinfo=UTC) == decided + timedelta(days=30)
    assert (await check(stubs, by_email("valid@example.fr"), NEWSLETTER)).decision == ALLOW
    lapsed = await _synced(
        stubs, "gone@example.fr", decided - timedelta(days=30), grant(NEWSLETTER), refuse(SMS)
    )
    assert list(lapsed.superseded) == [NEWSLETTER]
    assert [e.target for e in lapsed.events] == [SMS]
    never = await check(stubs, by_email("gone@example.fr"), NEWSLETTER)
    assert (never.decision, never.reason) == (DENY, consent_pb2.REASON_NO_RECORD)


async def test_decided_at_in_the_future_is_refused_beyond_clock_skew(stubs: Stubs) -> None:
    """Ten minutes ahead is INVALID_ARGUMENT naming the field (nothing written); a few seconds
    ahead (a CRM's clock) is taken as now."""
    await put_purpose(stubs, "newsletter")
    ahead = datetime.now(UTC) + timedelta(minutes=10)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _synced(stubs, "ahead@example.fr", ahead, grant(NEWSLETTER))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "decided_at" in str(raised.value.details())
    # The tolerance told (probe XD: "must not be in the future" for 4 minutes taken as now).
    assert "more than 5 minutes ahead of the server's clock" in str(raised.value.details())
    assert (await check(stubs, by_email("ahead@example.fr"), NEWSLETTER)).reason == (
        consent_pb2.REASON_NO_RECORD
    )
    skewed = datetime.now(UTC) + timedelta(seconds=30)
    written = await _synced(stubs, "skew@example.fr", skewed, grant(NEWSLETTER))
    assert written.events[0].recorded_at.ToDatetime(tzinfo=UTC) < skewed


async def test_an_old_grant_does_not_lift_an_objection_made_since(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """The person's own grant (portal) lifts an objection, but only one decided after it."""
    await put_purpose(stubs, "newsletter")
    email = "objector@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    before = datetime.now(UTC) - timedelta(minutes=1)
    await app.rights.object(principal, normalise_email(email))
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_PORTAL,
        decided_at=stamp(before),
    )
    stale = await stubs.consent.RecordConsent(request, metadata=stubs.metadata)
    assert list(stale.superseded) == [NEWSLETTER]
    assert (await check(stubs, by_email(email), NEWSLETTER)).reason == consent_pb2.REASON_OBJECTED


async def test_an_old_grant_does_not_bring_back_an_erased_person(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """A grant decided before the erasure of its contact point makes no subject (empty id,
    superseded); the person's own grant after it brings them back."""
    await put_purpose(stubs, "newsletter")
    email = "erased-late@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    before = datetime.now(UTC) - timedelta(minutes=1)
    principal = Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))
    await app.rights.erase(principal, normalise_email(email), "test")
    stale = await _synced(stubs, email, before, grant(NEWSLETTER))
    assert (stale.subject_id, list(stale.superseded), list(stale.events)) == (
        "",
        [NEWSLETTER],
        [],
    )
    assert (await check(stubs, by_email(email), NEWSLETTER)).reason == consent_pb2.REASON_ERASED
    # The person comes back (a system's grant would not bring them back: test_campaign_rights).
    back = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    assert back.subject_id
    assert not back.superseded
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW


@pytest.mark.parametrize(
    ("taken_over", "everything"),
    [(False, False), (True, False), (False, True)],
    ids=["nobody-holds-it", "someone-does", "withdrew-everything"],
)
async def test_an_old_grant_does_not_override_the_earlier_holders_newer_no(
    channel: grpc.aio.Channel, stubs: Stubs, taken_over: bool, everything: bool
) -> None:
    """Granted in the CRM an hour ago, refused by its holder since, the address then taken
    from them (RectifyContact remove, or given to a colleague): the CRM's grant synced now made
    a new subject (or landed on the colleague) and the check by the address said ALLOW, the
    holder's newer "no" lost (probe AR). The grant is superseded like one over the subject's
    own newer "no"; a grant decided after that "no" is recorded."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    email = f"left-{taken_over}-{everything}@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    if everything:
        said = (await withdraw(stubs, by_email(email), everything=True)).events[0]
    else:
        said = (
            await record(stubs, types_pb2.SubjectIdentity(email=email), refuse(NEWSLETTER))
        ).events[0]
    at = said.recorded_at.ToDatetime(tzinfo=UTC)
    no = consent_pb2.REASON_WITHDRAWN if everything else consent_pb2.REASON_REFUSED
    if taken_over:
        await record(stubs, types_pb2.SubjectIdentity(email=f"colleague-{email}"), grant(SMS))
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_email(email), kind=rights_pb2.CONTACT_KIND_EMAIL, remove=True
        ),
        metadata=stubs.metadata,
    )
    if taken_over:
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=by_email(f"colleague-{email}"),
                kind=rights_pb2.CONTACT_KIND_EMAIL,
                value=email,
            ),
            metadata=stubs.metadata,
        )
    handed = datetime.now(UTC)
    # Decided before the "no", or after it while the address was still theirs (probe BE: that
    # "yes" went to the address's new holder): the earlier holder's word, superseded; and with
    # nothing left to write no subject is made (it was, linked to the address).
    for decided in (at - timedelta(hours=1), at + timedelta(microseconds=1)):
        stale = await _synced(stubs, email, decided, grant(NEWSLETTER))
        assert (list(stale.superseded), list(stale.events)) == ([NEWSLETTER], [])
        assert stale.subject_id == ""
        denied = await check(stubs, by_email(email), NEWSLETTER)
        assert (denied.decision, denied.reason) == (DENY, no)
    # Left under the holder's own "no" (a withdrawal of everything, a STOP of every channel:
    # 0038; a refusal in person: 0048): a system's grant does not take the address back,
    # whenever decided; the person holding it now does.
    with pytest.raises(grpc.aio.AioRpcError) as stopped:
        await _synced(stubs, email, handed, grant(NEWSLETTER))
    assert stopped.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW


@pytest.mark.parametrize("keyed", [False, True], ids=["grouped", "one-call"])
async def test_an_old_grant_racing_a_withdrawal_never_wins(stubs: Stubs, keyed: bool) -> None:
    """A CRM grant decided a moment ago and the person's withdrawal, sent together: the grant
    read the subject's facts before the withdrawal committed, was appended after it, and won
    (8 of 60 ended ALLOW). Whichever commits first, the withdrawal stands."""
    await put_purpose(stubs, "newsletter")
    rounds = 20
    for n in range(rounds):
        email = f"race-{keyed}-{n}@example.fr"
        await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
        decided = datetime.now(UTC) - timedelta(milliseconds=1)
        key = f"race-{keyed}-{n}" if keyed else ""
        await asyncio.gather(
            _synced(stubs, email, decided, grant(NEWSLETTER), key=key),
            withdraw(stubs, by_email(email), NEWSLETTER),
        )
    answers = [
        (await check(stubs, by_email(f"race-{keyed}-{n}@example.fr"), NEWSLETTER)).decision
        for n in range(rounds)
    ]
    assert answers == [DENY] * rounds


async def test_a_late_grant_naming_its_holders_own_address_beside_one_taken_over(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """A phone moved from A to B after the decision: a late grant naming that phone alone was
    A's word (superseded, no subject); one naming it with B's own address, B's already then,
    is B's (probe BG: its yes was lost), but says nothing of the phone, B's only since: its SMS
    grant landed and a check of the phone said ALLOW over A's "no" (probe BL). B's e-mail grant
    lands; the SMS one is superseded."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    phone = "+33611112222"
    a = await record(
        stubs, types_pb2.SubjectIdentity(phone=phone, email="a-holder@example.fr"), refuse(SMS)
    )
    b = await record(stubs, types_pb2.SubjectIdentity(email="b-holder@example.fr"), refuse(SMS))
    decided = datetime.now(UTC)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_id(a.subject_id), kind=rights_pb2.CONTACT_KIND_PHONE, remove=True
        ),
        metadata=stubs.metadata,
    )
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_id(b.subject_id), kind=rights_pb2.CONTACT_KIND_PHONE, value=phone
        ),
        metadata=stubs.metadata,
    )
    alone = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(phone=phone),
        choices=[grant(SMS)],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(decided),
    )
    stale = await stubs.consent.RecordConsent(alone, metadata=stubs.metadata)
    assert (stale.subject_id, list(stale.superseded)) == ("", [SMS])
    both = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(phone=phone, email="b-holder@example.fr"),
        choices=[grant(SMS), grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(decided),
    )
    landed = await stubs.consent.RecordConsent(both, metadata=stubs.metadata)
    assert (landed.subject_id, list(landed.superseded), [e.target for e in landed.events]) == (
        b.subject_id,
        [SMS],
        [NEWSLETTER],
    )
    denied = await check(stubs, types_pb2.SubjectRef(phone=phone), SMS)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_REFUSED)


@pytest.mark.parametrize("key", ["", "late-no"])
async def test_a_late_no_decided_while_the_address_was_anothers_is_theirs(
    channel: grpc.aio.Channel, stubs: Stubs, key: str
) -> None:
    """Refused in the CRM while the address was A's, synced after RectifyContact gave it to B:
    the "no" landed on B and blocked B's own newer "yes" (DENY), A's "no" missing from A's
    history. It is A's: recorded on A, B's "yes" stands; a "yes" decided then is superseded."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    email = f"moved-{key or 'grouped'}@example.fr"
    a = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(SMS))
    b = await record(stubs, types_pb2.SubjectIdentity(email=f"b-{email}"), grant(SMS))
    decided = datetime.now(UTC)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_id(a.subject_id), kind=rights_pb2.CONTACT_KIND_EMAIL, remove=True
        ),
        metadata=stubs.metadata,
    )
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_id(b.subject_id), kind=rights_pb2.CONTACT_KIND_EMAIL, value=email
        ),
        metadata=stubs.metadata,
    )
    yes = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    assert yes.subject_id == b.subject_id
    late = await _synced(stubs, email, decided, refuse(NEWSLETTER), grant(SMS), key=key)
    assert (late.subject_id, list(late.superseded)) == (a.subject_id, [SMS])
    assert [(e.subject_id, e.state) for e in late.events] == [
        (a.subject_id, types_pb2.CONSENT_STATE_REFUSED)
    ]
    allowed = await check(stubs, by_email(email), NEWSLETTER)
    assert (allowed.decision, allowed.subject_id) == (ALLOW, b.subject_id)
    assert (
        await check(stubs, by_id(a.subject_id), NEWSLETTER)
    ).reason == consent_pb2.REASON_REFUSED
    # Decided after the hand-over, it is B's word.
    after = await _synced(stubs, email, datetime.now(UTC), refuse(NEWSLETTER), key=f"{key}-2")
    assert after.subject_id == b.subject_id
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY


async def test_a_late_no_of_an_erased_earlier_holder_or_of_two_people_is_refused(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """The address's holder when the "no" was decided was erased since: nothing more is
    recorded of them (FAILED_PRECONDITION SUBJECT_ERASED), the new holder untouched; a late
    "yes" for it is still superseded without error. Two identifiers that were two people's
    then: IDENTIFIERS_OF_TWO_SUBJECTS."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    email, phone = "gone-holder@example.fr", "+33622223333"
    a = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(SMS))
    c = await record(stubs, types_pb2.SubjectIdentity(phone=phone), grant(SMS))
    b = await record(stubs, types_pb2.SubjectIdentity(email="new-holder@example.fr"), grant(SMS))
    decided = datetime.now(UTC)
    for subject, kind in ((a, rights_pb2.CONTACT_KIND_EMAIL), (c, rights_pb2.CONTACT_KIND_PHONE)):
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=by_id(subject.subject_id), kind=kind, remove=True
            ),
            metadata=stubs.metadata,
        )
    for kind, value in (
        (rights_pb2.CONTACT_KIND_EMAIL, email),
        (rights_pb2.CONTACT_KIND_PHONE, phone),
    ):
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(subject=by_id(b.subject_id), kind=kind, value=value),
            metadata=stubs.metadata,
        )
    both = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email, phone=phone),
        choices=[refuse(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(decided),
    )
    with pytest.raises(grpc.aio.AioRpcError) as two:
        await stubs.consent.RecordConsent(both, metadata=stubs.metadata)
    assert two.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "two different people" in (two.value.details() or "")
    await rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_id(a.subject_id)), metadata=stubs.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as erased:
        await _synced(stubs, email, decided, refuse(NEWSLETTER))
    assert erased.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "erased since" in (erased.value.details() or "")
    stale = await _synced(stubs, email, decided, grant(NEWSLETTER))
    assert (stale.subject_id, list(stale.superseded)) == ("", [NEWSLETTER])
    history = await stubs.consent.ListConsentHistory(
        consent_pb2.ListConsentHistoryRequest(subject=by_id(b.subject_id)), metadata=stubs.metadata
    )
    assert [e.state for e in history.events] == [types_pb2.CONSENT_STATE_GRANTED]


@pytest.mark.parametrize("key", ["", "taken-1"])
async def test_a_late_grant_decided_before_its_subject_took_an_address_over_says_nothing_of_it(
    channel: grpc.aio.Channel, stubs: Stubs, key: str
) -> None:
    """Alice withdrew, then her address went to Bob (RectifyContact); the CRM then sent Bob's
    grant by his external id, decided before Alice's "no": recorded now, it outweighed her "no"
    on the address and a check of it said ALLOW, while sent on time it was DENY (probe BI). A
    grant decided before its subject took a contact point over from another person is
    superseded for the channels that point reaches; Bob's grant by text stands."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    address, bob = f"taken-{key or 'grouped'}@example.fr", f"bob-{key or 'grouped'}"
    await record(stubs, types_pb2.SubjectIdentity(external_id=bob), grant(SMS))
    decided = datetime.now(UTC)
    alice = await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    await withdraw(stubs, by_email(address), NEWSLETTER)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_id(alice.subject_id), kind=rights_pb2.CONTACT_KIND_EMAIL, remove=True
        ),
        metadata=stubs.metadata,
    )
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=bob),
            kind=rights_pb2.CONTACT_KIND_EMAIL,
            value=address,
        ),
        metadata=stubs.metadata,
    )
    late = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=bob),
        choices=[grant(NEWSLETTER), grant(OFFERS_SMS)],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(decided),
    )
    await put_purpose(stubs, "offers")
    keyed = (("idempotency-key", key),) if key else ()
    answer = await stubs.consent.RecordConsent(late, metadata=(*stubs.metadata, *keyed))
    assert list(answer.superseded) == [NEWSLETTER]
    assert [e.target for e in answer.events] == [OFFERS_SMS]
    denied = await check(stubs, by_email(address), NEWSLETTER)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    # Decided after Bob took it over, from a system: Alice's own "no" stays on the address
    # until Bob says yes in person (migration 0048); then his word counts.
    now = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=bob),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(datetime.now(UTC)),
    )
    with pytest.raises(grpc.aio.AioRpcError) as stopped:
        await stubs.consent.RecordConsent(now, metadata=stubs.metadata)
    assert error_info(stopped.value).reason == "STOP_IN_FORCE"
    await record(stubs, types_pb2.SubjectIdentity(external_id=bob), grant(NEWSLETTER))
    assert (await check(stubs, by_email(address), NEWSLETTER)).decision == ALLOW


async def _move_email(
    rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, away: str, to: str, email: str
) -> None:
    """RectifyContact: subject `away` leaves for another address, subject `to` takes `email`."""
    for subject, value in ((away, f"moved-{email}"), (to, email)):
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=by_id(subject), kind=rights_pb2.CONTACT_KIND_EMAIL, value=value
            ),
            metadata=stubs.metadata,
        )


async def test_a_late_no_naming_the_persons_external_id_and_old_address_lands_on_them(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """Probe BL: a refusal decided while X1 and the address were one person's, synced after
    the address went to someone else, was IDENTIFIERS_OF_TWO_SUBJECTS (the person stayed
    ALLOW). It is that person's: recorded on them; the address's holder now is untouched."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    email = "both-then@example.fr"
    p1 = await record(
        stubs, types_pb2.SubjectIdentity(external_id="x1-then", email=email), grant(NEWSLETTER)
    )
    p2 = await record(stubs, types_pb2.SubjectIdentity(external_id="x2-now"), grant(SMS))
    decided = datetime.now(UTC)
    await _move_email(rights, stubs, p1.subject_id, p2.subject_id, email)
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))  # P2's yes
    late = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id="x1-then", email=email),
        choices=[refuse(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(decided),
    )
    landed = await stubs.consent.RecordConsent(late, metadata=stubs.metadata)
    assert (landed.subject_id, len(landed.events)) == (p1.subject_id, 1)
    assert (await check(stubs, by_id(p1.subject_id), NEWSLETTER)).decision == DENY
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW


async def test_a_late_no_decided_before_anyone_held_the_address_is_its_first_holders(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """Probe BL: a paper refusal decided before anyone held the address, keyed in after it
    went from its first holder to a second, landed on the second and overrode their own newer
    "yes". It is the first holder's (whose word a choice decided then most likely is)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    email = "paper-form@example.fr"
    decided = datetime.now(UTC)
    p1 = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    p2 = await record(stubs, types_pb2.SubjectIdentity(external_id="second-holder"), grant(SMS))
    await _move_email(rights, stubs, p1.subject_id, p2.subject_id, email)
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))  # P2's yes
    landed = await _synced(stubs, email, decided, refuse(NEWSLETTER))
    assert landed.subject_id == p1.subject_id
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW
    assert (await check(stubs, by_id(p1.subject_id), NEWSLETTER)).decision == DENY


async def test_a_late_no_of_the_earlier_holder_outweighs_the_new_holders_older_yes(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """Probe BN: B said yes (by external id), then A, holding the address, refused on paper;
    the address went to B; the refusal was keyed in after. On time a check of the address
    reads DENY (A's "no" is newer than B's "yes"); sent late it read ALLOW, the late event
    being recorded after the address left A. The event keeps when A decided (decided_at, in
    the history and the log) and the check reads it from then; `as_of` before it was keyed
    in still answers what the check answered then."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    email = "older-yes@example.fr"
    b = await record(stubs, types_pb2.SubjectIdentity(external_id="b-older-yes"), grant(NEWSLETTER))
    a = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    decided = datetime.now(UTC)
    await _move_email(rights, stubs, a.subject_id, b.subject_id, email)
    before_late = datetime.now(UTC)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW
    landed = await _synced(stubs, email, decided, refuse(NEWSLETTER))
    assert landed.subject_id == a.subject_id
    assert landed.events[0].decided_at.ToDatetime(UTC) == decided
    denied = await check(stubs, by_email(email), NEWSLETTER)
    # A's "no", without A's event: another person's than the holder B's (probe WA).
    assert (denied.decision, denied.reason, denied.event_id) == (
        DENY,
        consent_pb2.REASON_REFUSED,
        "",
    )
    assert (await check(stubs, by_email(email), NEWSLETTER, before_late)).decision == ALLOW
    # B's answer for e-mail is no freer than the address B holds (migration 0040).
    assert (await check(stubs, by_id(b.subject_id), NEWSLETTER)).decision == DENY
    logged = (await history(stubs, by_id(a.subject_id))).events[0]
    assert (logged.event_id, logged.decided_at.ToDatetime(UTC)) == (
        landed.events[0].event_id,
        decided,
    )
    # B's own "yes" given with the address after that answers.
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW
