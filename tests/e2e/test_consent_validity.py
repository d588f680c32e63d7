"""What makes a grant stop counting: time (as_of, expiry) and a notice that requires re-consent."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from consent.v1 import consent_pb2, types_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.conftest import Stubs, TestClock
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    check,
    current,
    grant,
    publish_notice,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)

T1 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


async def test_as_of_answers_from_history(stubs: Stubs, clock: TestClock) -> None:
    """Grant at T1, withdrawal at T2: as_of before T1 is no_record, between them ALLOW, after
    T2 DENY withdrawn, each naming the event that decided."""
    await put_purpose(stubs, "newsletter")
    t2 = T1 + timedelta(days=3)
    ref = by_email("asof@example.fr")
    clock.pinned = T1
    granted = await record(
        stubs, types_pb2.SubjectIdentity(email="asof@example.fr"), grant(target("newsletter"))
    )
    clock.pinned = t2
    withdrawn = await withdraw(stubs, ref, target("newsletter"))
    clock.pinned = t2 + timedelta(days=30)

    before = await check(stubs, ref, target("newsletter"), as_of=T1 - timedelta(seconds=1))
    assert (before.decision, before.reason) == (DENY, consent_pb2.REASON_NO_RECORD)
    between = await check(stubs, ref, target("newsletter"), as_of=T1 + timedelta(days=1))
    assert (between.decision, between.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    assert between.event_id == granted.events[0].event_id
    at_t1 = await check(stubs, ref, target("newsletter"), as_of=T1)
    assert at_t1.decision == ALLOW
    after = await check(stubs, ref, target("newsletter"), as_of=t2 + timedelta(hours=1))
    assert (after.decision, after.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    assert after.event_id == withdrawn.events[0].event_id
    now = await check(stubs, ref, target("newsletter"))
    assert now.reason == consent_pb2.REASON_WITHDRAWN


async def test_as_of_sees_a_withdraw_everything(stubs: Stubs, clock: TestClock) -> None:
    """An "all" withdrawal counts in as_of answers too, from its time on."""
    await put_purpose(stubs, "newsletter")
    ref = by_email("asof-all@example.fr")
    clock.pinned = T1
    await record(
        stubs, types_pb2.SubjectIdentity(email="asof-all@example.fr"), grant(target("newsletter"))
    )
    clock.pinned = T1 + timedelta(days=1)
    await withdraw(stubs, ref, everything=True)
    clock.pinned = None

    between = await check(stubs, ref, target("newsletter"), as_of=T1 + timedelta(hours=1))
    assert between.decision == ALLOW
    after = await check(stubs, ref, target("newsletter"), as_of=T1 + timedelta(days=2))
    assert (after.decision, after.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)


async def test_notice_requiring_reconsent_outdates_older_grants(stubs: Stubs) -> None:
    """Grant on notice v1 is ALLOW; publishing v2 with requires_reconsent makes it DENY
    notice_outdated; a grant on v2 is ALLOW again."""
    v1 = await publish_notice(stubs, "privacy", "Version 1 du texte.")
    assert v1.version == 1
    assert v1.content_sha256 == hashlib.sha256(b"Version 1 du texte.").hexdigest()
    await put_purpose(stubs, "newsletter", notice_id="privacy")
    identity = types_pb2.SubjectIdentity(email="notice@example.fr")
    ref = by_email("notice@example.fr")

    on_v1 = await record(stubs, identity, grant(target("newsletter"), notice_version=1))
    assert (on_v1.events[0].notice_id, on_v1.events[0].notice_version) == ("privacy", 1)
    assert (await check(stubs, ref, target("newsletter"))).decision == ALLOW

    v2 = await publish_notice(stubs, "privacy", "Version 2 du texte.", requires_reconsent=True)
    assert v2.version == 2
    outdated = await check(stubs, ref, target("newsletter"))
    assert (outdated.decision, outdated.reason) == (DENY, consent_pb2.REASON_NOTICE_OUTDATED)
    assert outdated.event_id == on_v1.events[0].event_id
    # The portal's view: still GRANTED, and what a check answers now beside it (it showed
    # "subscribed" and never learnt a re-consent was asked).
    shown = await current(stubs, ref)
    assert [c.state for c in shown.consents] == [types_pb2.CONSENT_STATE_GRANTED]
    assert [(d.decision, d.reason) for d in shown.decisions] == [
        (DENY, consent_pb2.REASON_NOTICE_OUTDATED)
    ]

    on_v2 = await record(stubs, identity, grant(target("newsletter"), notice_version=2))
    fresh = await check(stubs, ref, target("newsletter"))
    assert (fresh.decision, fresh.event_id) == (ALLOW, on_v2.events[0].event_id)
    again = await current(stubs, ref)
    assert [(d.decision, d.reason) for d in again.decisions] == [
        (ALLOW, consent_pb2.REASON_GRANTED)
    ]

    v3 = await publish_notice(stubs, "privacy", "Version 3, coquilles corrigées.")
    assert v3.version == 3
    assert (await check(stubs, ref, target("newsletter"))).decision == ALLOW


@pytest.mark.parametrize("keyed", [False, True], ids=["grouped", "one-call"])
async def test_grant_below_the_reconsent_floor_is_refused(stubs: Stubs, keyed: bool) -> None:
    """Once v2 asks for consent again, a grant on v1 was acknowledged and never counted (DENY
    notice_outdated: the caller believed it recorded). It is FAILED_PRECONDITION naming v2 and
    writes nothing, on the grouped path and on the one-call path (an idempotency key); a
    refusal on v1 is still recorded (an opt-out is never refused), a grant on v2 counts."""
    await publish_notice(stubs, "privacy", "Version 1.")
    await put_purpose(stubs, "newsletter", notice_id="privacy")
    await publish_notice(stubs, "privacy", "Version 2.", requires_reconsent=True)
    identity = types_pb2.SubjectIdentity(email=f"floor-{keyed}@example.fr")
    metadata = (*stubs.metadata, ("idempotency-key", f"floor-{keyed}")) if keyed else stubs.metadata

    def request(*choices: consent_pb2.ConsentChoice) -> consent_pb2.RecordConsentRequest:
        return consent_pb2.RecordConsentRequest(
            subject=identity, choices=choices, source=types_pb2.SOURCE_PORTAL
        )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stubs.consent.RecordConsent(
            request(grant(target("newsletter"), notice_version=1)), metadata=metadata
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "choices[0].notice_version" in str(raised.value.details())
    assert "version 2 asks everyone for consent again" in str(raised.value.details())
    nothing = await check(stubs, by_email(identity.email), target("newsletter"))
    assert (nothing.decision, nothing.reason) == (DENY, consent_pb2.REASON_NO_RECORD)

    refusal = consent_pb2.ConsentChoice(
        target=target("newsletter"), state=types_pb2.CONSENT_STATE_REFUSED, notice_version=1
    )
    refused = await stubs.consent.RecordConsent(request(refusal), metadata=stubs.metadata)
    assert refused.events[0].notice_version == 1
    await record(stubs, identity, grant(target("newsletter"), notice_version=2))
    assert (await check(stubs, by_email(identity.email), target("newsletter"))).decision == ALLOW


@pytest.mark.parametrize("other", ["", "terms"], ids=["notice-removed", "notice-replaced"])
async def test_a_purposes_notice_never_changes(stubs: Stubs, other: str) -> None:
    """A grant on v1 outdated by v2 (requires_reconsent) was ALLOW again once PutPurpose left
    the notice out (a client updating the description) or named another notice: a check
    compares a grant's version with the purpose's notice. Once set, a purpose's notice never
    changes: FAILED_PRECONDITION, and the grant stays outdated."""
    await publish_notice(stubs, "privacy", "Version 1.")
    await publish_notice(stubs, "terms", "Conditions.")
    await put_purpose(stubs, "newsletter", notice_id="privacy")
    identity = types_pb2.SubjectIdentity(email="bound@example.fr")
    await record(stubs, identity, grant(target("newsletter"), notice_version=1))
    await publish_notice(stubs, "privacy", "Version 2.", requires_reconsent=True)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await put_purpose(stubs, "newsletter", notice_id=other)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "bound to notice 'privacy'" in str(raised.value.details())
    outdated = await check(stubs, by_email("bound@example.fr"), target("newsletter"))
    assert (outdated.decision, outdated.reason) == (DENY, consent_pb2.REASON_NOTICE_OUTDATED)
    again = await put_purpose(stubs, "newsletter", notice_id="privacy", max_validity_days=30)
    assert (again.notice_id, again.max_validity_days) == ("privacy", 30)


async def test_unknown_notice_version_is_invalid_argument(stubs: Stubs) -> None:
    """Recording on a notice version that was never published is INVALID_ARGUMENT naming
    choices[0].notice_version, and so is leaving the version out."""
    await publish_notice(stubs, "privacy", "Texte.")
    await put_purpose(stubs, "newsletter", notice_id="privacy")
    identity = types_pb2.SubjectIdentity(email="version@example.fr")
    for version in (7, 0):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await record(stubs, identity, grant(target("newsletter"), notice_version=version))
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "choices[0].notice_version" in str(raised.value.details())
        status = rpc_status.from_call(raised.value)
        assert status is not None
        bad_request = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(bad_request)
        assert bad_request.field_violations[0].field == "choices[0].notice_version"
    # A refusal naming no version is a "no" all the same: never refused for want of it (a CRM
    # that keeps no notice versions lost it, probe BI); one naming an unknown version is not.
    refused = await record(stubs, identity, refuse(target("newsletter")))
    assert [e.state for e in refused.events] == [types_pb2.CONSENT_STATE_REFUSED]
    denied = await check(stubs, by_email("version@example.fr"), target("newsletter"))
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_REFUSED)
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await record(stubs, identity, refuse(target("newsletter"), notice_version=7))
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_grant_expires_after_the_purpose_maximum(stubs: Stubs, clock: TestClock) -> None:
    """With max_validity_days=365, a grant at T is ALLOW at T+365d-1s and DENY expired at
    T+365d, with valid_until = T+365d."""
    await put_purpose(stubs, "newsletter", max_validity_days=365)
    clock.pinned = T1
    granted = await record(
        stubs, types_pb2.SubjectIdentity(email="expiry@example.fr"), grant(target("newsletter"))
    )
    end = T1 + timedelta(days=365)
    assert granted.events[0].valid_until.ToDatetime(tzinfo=UTC) == end
    ref = by_email("expiry@example.fr")

    clock.pinned = end - timedelta(seconds=1)
    last_second = await check(stubs, ref, target("newsletter"))
    assert (last_second.decision, last_second.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    assert last_second.valid_until.ToDatetime(tzinfo=UTC) == end

    shown = await current(stubs, ref)
    assert [c.state for c in shown.consents] == [types_pb2.CONSENT_STATE_GRANTED]

    clock.pinned = end
    expired = await check(stubs, ref, target("newsletter"))
    assert (expired.decision, expired.reason) == (DENY, consent_pb2.REASON_EXPIRED)
    assert expired.event_id == granted.events[0].event_id
    # The portal's view says so too (it showed GRANTED while every check said expired).
    lapsed = await current(stubs, ref)
    assert [c.state for c in lapsed.consents] == [types_pb2.CONSENT_STATE_EXPIRED]
    assert lapsed.consents[0].event_id == granted.events[0].event_id


async def test_requested_validity_is_clamped_to_the_purpose_maximum(
    stubs: Stubs, clock: TestClock
) -> None:
    """A caller may ask for a shorter validity than the purpose allows, never a longer one."""
    await put_purpose(stubs, "newsletter", max_validity_days=30)
    await put_purpose(stubs, "offers", max_validity_days=30)
    clock.pinned = T1
    recorded = await record(
        stubs,
        types_pb2.SubjectIdentity(email="clamp@example.fr"),
        grant(target("newsletter"), valid_until=T1 + timedelta(days=10)),
        grant(target("offers"), valid_until=T1 + timedelta(days=400)),
    )
    ends = [e.valid_until.ToDatetime(tzinfo=UTC) for e in recorded.events]
    assert ends == [T1 + timedelta(days=10), T1 + timedelta(days=30)]


async def test_a_write_is_never_stamped_before_the_fact_it_follows(
    stubs: Stubs, clock: TestClock
) -> None:
    """A write's time was taken before it waited its turn, and a host clock behind stamped it
    so: a withdrawal dated before the grant it withdrew. `as_of` reads the history by time, so
    it answered ALLOW at instants after the withdrawal (a probe: 17 % of as_of answers differed
    from the live check at the same instant). An event is stamped no earlier than the newest
    fact of its target (or of every target), and as_of agrees with the order of the history."""
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(email="stamped@example.fr")
    ref = by_email("stamped@example.fr")
    t2 = T1 + timedelta(days=2)
    clock.pinned = t2
    granted = await record(stubs, identity, grant(target("newsletter")))
    clock.pinned = T1  # this host is two days behind the one that granted
    withdrawn = await withdraw(stubs, ref, target("newsletter"))
    clock.pinned = None
    assert withdrawn.events[0].recorded_at.ToDatetime(UTC) == t2
    assert granted.events[0].recorded_at.ToDatetime(UTC) == t2
    after = await check(stubs, ref, target("newsletter"), as_of=t2 + timedelta(seconds=1))
    assert (after.decision, after.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    assert after.event_id == withdrawn.events[0].event_id
