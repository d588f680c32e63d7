"""A person's own "no" to one target stays on the contact point they leave (migration 0048).

Probe DJ: a person refused the newsletter in person, the operator moved them to a new address
(RectifyContact), and a CRM's grant of the newsletter for the old address made a new subject and
a check ALLOW: only an objection, an erasure or a STOP closed a contact point to systems. Now the
earlier holder's own "no" closes it for that target: a system's grant of it is superseded (alone,
FAILED_PRECONDITION STOP_IN_FORCE), the record's other choices are written, and only whoever
holds the address now, in person, takes the target back."""

from __future__ import annotations

from dataclasses import replace

import grpc
import pytest
from consent.v1 import consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    check,
    error_info,
    grant,
    put_purpose,
    record,
    refuse,
    target,
)
from tests.e2e.security_helpers import fails, issue

NEWSLETTER, OFFERS = target("newsletter"), target("offers")
PARTNERS_NEWSLETTER = target("newsletter", scope=types_pb2.PARTY_SCOPE_PARTNERS)
KEYED = pytest.mark.parametrize("key", ["", "crm-1"], ids=["grouped", "one-call"])


async def _crm(stubs: Stubs, admin: AdminUseCases, tenant: Tenant) -> Stubs:
    """Stubs with a plain write key: a CRM sync's (its grants are a system's)."""
    key = await issue(admin, tenant, Scope.WRITE.value, Scope.CHECK.value)
    return replace(stubs, metadata=bearer(key))


async def _moved_after_saying_no(stubs: Stubs, channel: grpc.aio.Channel, email: str) -> None:
    """A person who refused the newsletter and the alerts in person (the portal, an admin key)
    and granted the offers, moved to a new address by the operator."""
    for purpose in ("newsletter", "offers", "alerts"):
        await put_purpose(stubs, purpose)
    made = await record(
        stubs,
        types_pb2.SubjectIdentity(email=email),
        refuse(NEWSLETTER),
        grant(OFFERS),
        refuse(target("alerts")),
    )
    ref = types_pb2.SubjectRef(subject_id=made.subject_id)
    await _give_address(stubs, channel, ref, f"new-{email}")


async def _give_address(
    stubs: Stubs, channel: grpc.aio.Channel, subject: types_pb2.SubjectRef, email: str
) -> None:
    """RectifyContact: `subject`'s e-mail address is `email` from now on."""
    await rights_pb2_grpc.RightsServiceStub(channel).RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=subject, kind=rights_pb2.CONTACT_KIND_EMAIL, value=email
        ),
        metadata=stubs.metadata,
    )


def _sync(
    subject: types_pb2.SubjectIdentity, *choices: consent_pb2.ConsentChoice
) -> consent_pb2.RecordConsentRequest:
    return consent_pb2.RecordConsentRequest(
        subject=subject, choices=choices, source=types_pb2.SOURCE_API, actor="crm"
    )


@KEYED
async def test_a_systems_grant_does_not_lift_an_earlier_holders_own_no(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant, key: str
) -> None:
    email = f"left-{key or 'grouped'}@example.fr"
    await _moved_after_saying_no(stubs, channel, email)
    crm = await _crm(stubs, admin, tenant)
    keyed = (("idempotency-key", key),) if key else ()
    address = types_pb2.SubjectIdentity(email=email)
    alone = await fails(
        crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata + keyed)
    )
    assert alone.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(alone).reason == "STOP_IN_FORCE"
    # The target it asked for only: the others are not its business (probe DQ).
    assert "said no to newsletter (email, first_party) themselves" in (alone.details() or "")
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY
    # Beside another grant: that one is written (a new subject), the newsletter superseded.
    again = (("idempotency-key", f"{key}-2"),) if key else ()
    both = await crm.consent.RecordConsent(
        _sync(address, grant(NEWSLETTER), grant(OFFERS)), metadata=crm.metadata + again
    )
    assert [e.target.purpose for e in both.events] == ["offers"]
    assert list(both.superseded) == [NEWSLETTER]
    answers = [(await check(stubs, by_email(email), t)).decision for t in (NEWSLETTER, OFFERS)]
    assert answers == [DENY, ALLOW]
    # Their "yes" in person to another purpose, or to the newsletter from partners, is not one
    # to this newsletter (probe DP: it reopened it to the CRM).
    await record(stubs, address, grant(OFFERS), grant(PARTNERS_NEWSLETTER))
    again = await fails(
        crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)
    )
    assert error_info(again).reason == "STOP_IN_FORCE"
    # Whoever holds the address now takes the newsletter back in person; then a system's
    # grants count as for anyone.
    await record(stubs, address, grant(NEWSLETTER))
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW
    await crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)


@KEYED
async def test_a_customer_given_the_address_is_refused_a_systems_grant_by_another_key(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant, key: str
) -> None:
    """The address given to a CRM customer (RectifyContact): the CRM's grant naming them by
    external id is superseded for the newsletter, and their grant from before they held the
    address says nothing of it."""
    tag = key or "grouped"
    email = f"given-{tag}@example.fr"
    await _moved_after_saying_no(stubs, channel, email)
    crm = await _crm(stubs, admin, tenant)
    customer = types_pb2.SubjectIdentity(external_id=f"cust-{tag}")
    await record(stubs, customer, grant(NEWSLETTER))  # in person, before the address
    await _give_address(stubs, channel, types_pb2.SubjectRef(external_id=f"cust-{tag}"), email)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY
    keyed = (("idempotency-key", key),) if key else ()
    sync = _sync(customer, grant(NEWSLETTER), refuse(OFFERS))
    kept = await crm.consent.RecordConsent(sync, metadata=crm.metadata + keyed)
    assert [e.state for e in kept.events] == [types_pb2.CONSENT_STATE_REFUSED]
    assert list(kept.superseded) == [NEWSLETTER]
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY
    ref = types_pb2.SubjectRef(external_id=f"cust-{tag}")
    assert (await check(stubs, ref, NEWSLETTER)).decision == DENY


async def test_a_no_the_person_took_back_before_leaving_closes_nothing(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Their latest word counts: a "no" they replaced with a "yes" in person before moving
    leaves the address open to the next holder's system grants."""
    email = "changed-mind@example.fr"
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email=email), refuse(NEWSLETTER))
    made = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    ref = types_pb2.SubjectRef(subject_id=made.subject_id)
    await _give_address(stubs, channel, ref, f"other-{email}")
    crm = await _crm(stubs, admin, tenant)
    address = types_pb2.SubjectIdentity(email=email)
    await crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW


async def _stopped_by_crm(stubs: Stubs, crm: Stubs, email: str) -> None:
    """The CRM's own STOP of every e-mail (bounce handling) for the address's holder."""
    stop = consent_pb2.WithdrawConsentRequest(
        subject=by_email(email), all=True, channel=types_pb2.CHANNEL_EMAIL, actor="bounces",
        source=types_pb2.SOURCE_API,
    )  # fmt: skip
    await crm.consent.WithdrawConsent(stop, metadata=crm.metadata)


@pytest.mark.parametrize("then", ["crm-stop", "holder-erased"])
async def test_a_later_closure_of_the_whole_address_keeps_the_earlier_holders_no(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant, then: str
) -> None:
    """Probe DS: a CRM's STOP after the person's own refusal, or the erasure of a holder in
    between, closed the address whole, which the next holder's "yes" to another purpose
    lifted, the earlier holder's "no" to the newsletter with it: ALLOW, off the list."""
    email = f"whole-{then}@example.fr"
    crm = await _crm(stubs, admin, tenant)
    for purpose in ("newsletter", "offers"):
        await put_purpose(stubs, purpose)
    made = await record(stubs, types_pb2.SubjectIdentity(email=email), refuse(NEWSLETTER))
    if then == "crm-stop":
        await _stopped_by_crm(stubs, crm, email)
    await _give_address(
        stubs, channel, types_pb2.SubjectRef(subject_id=made.subject_id), "x-" + email
    )
    if then == "holder-erased":
        between = types_pb2.SubjectIdentity(external_id=f"between-{then}")
        await record(stubs, between, grant(OFFERS))
        await _give_address(
            stubs, channel, types_pb2.SubjectRef(external_id=f"between-{then}"), email
        )
        await rights_pb2_grpc.RightsServiceStub(channel).EraseSubject(
            rights_pb2.EraseSubjectRequest(subject=by_email(email), actor="dpo"),
            metadata=stubs.metadata,
        )
    address = types_pb2.SubjectIdentity(email=email)
    await record(stubs, address, grant(OFFERS))  # the next holder's own "yes" to the offers
    refused = await fails(
        crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)
    )
    assert error_info(refused).reason == "STOP_IN_FORCE"
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY


async def test_a_systems_no_after_the_holders_own_yes_does_not_close_the_address_again(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Probe DS: the new holder said yes to the newsletter in person, a CRM's bounce handling
    then said no, and every later CRM grant was refused for good: what counts is the holder's
    own latest word, whatever a system wrote since."""
    email = "bounced@example.fr"
    await _moved_after_saying_no(stubs, channel, email)
    crm = await _crm(stubs, admin, tenant)
    address = types_pb2.SubjectIdentity(email=email)
    await record(stubs, address, grant(NEWSLETTER))
    await crm.consent.RecordConsent(_sync(address, refuse(NEWSLETTER)), metadata=crm.metadata)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY
    await crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW


async def test_an_earlier_holders_own_stop_is_taken_back_target_by_target(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Probe DS: the person withdrew every e-mail themselves, then moved; the next holder's
    "yes" to the offers reopened every purpose to the CRM (their own STOP is lifted target by
    target, and a single refusal of theirs held better than it)."""
    email = "own-stop@example.fr"
    for purpose in ("newsletter", "offers"):
        await put_purpose(stubs, purpose)
    made = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    stop = consent_pb2.WithdrawConsentRequest(
        subject=by_email(email), all=True, channel=types_pb2.CHANNEL_EMAIL,
        source=types_pb2.SOURCE_PORTAL,
    )  # fmt: skip
    await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    await _give_address(
        stubs, channel, types_pb2.SubjectRef(subject_id=made.subject_id), "y-" + email
    )
    crm = await _crm(stubs, admin, tenant)
    address = types_pb2.SubjectIdentity(email=email)
    await record(stubs, address, grant(OFFERS))
    refused = await fails(
        crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)
    )
    assert error_info(refused).reason == "OBJECTION_IN_FORCE"
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == DENY
    await record(stubs, address, grant(NEWSLETTER))
    await crm.consent.RecordConsent(_sync(address, grant(NEWSLETTER)), metadata=crm.metadata)
    assert (await check(stubs, by_email(email), NEWSLETTER)).decision == ALLOW


async def test_an_earlier_holders_own_sms_stop_says_nothing_of_calls(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Probe DU: a STOP to texts the earlier holder of a number sent themselves closed its
    calls target by target too, though they never refused a call: on the STOP's channel target
    by target, on the number's other channels the holder's "yes" to anything takes it back."""
    number, sms, call = "+33612340077", types_pb2.CHANNEL_SMS, types_pb2.CHANNEL_VOICE_CALL
    for purpose in ("newsletter", "offers"):
        await put_purpose(stubs, purpose)
    made = await record(
        stubs, types_pb2.SubjectIdentity(phone=number), grant(target("newsletter", sms))
    )
    stop = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(phone=number), all=True, channel=sms,
        source=types_pb2.SOURCE_PORTAL,
    )  # fmt: skip
    await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    await rights_pb2_grpc.RightsServiceStub(channel).RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(subject_id=made.subject_id),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            value="+33612340078",
        ),
        metadata=stubs.metadata,
    )
    holder = types_pb2.SubjectIdentity(phone=number)
    await record(stubs, holder, grant(target("newsletter", sms)))  # the new holder, in person
    crm = await _crm(stubs, admin, tenant)
    calls = await crm.consent.RecordConsent(
        _sync(holder, grant(target("newsletter", call))), metadata=crm.metadata
    )
    assert [e.target.channel for e in calls.events] == [call]
    refused = await fails(
        crm.consent.RecordConsent(
            _sync(holder, grant(target("offers", sms))), metadata=crm.metadata
        )
    )
    assert error_info(refused).reason == "OBJECTION_IN_FORCE"
