"""A withdrawal of every purpose on one channel (WithdrawConsent `all` with `channel`): a reply
"STOP" to a text message stops every text, of every purpose and scope, legitimate-interest ones
and those added later, and nothing on the other channels (migration 0036)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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

from tests.conftest import Stubs
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    LEGITIMATE_INTEREST,
    by_email,
    check,
    current,
    error_info,
    grant,
    put_purpose,
    record,
    refuse,
    stamp,
    target,
)
from tests.e2e.security_helpers import fails

SMS, EMAIL = types_pb2.CHANNEL_SMS, types_pb2.CHANNEL_EMAIL
FAILED = grpc.StatusCode.FAILED_PRECONDITION
PARTNERS = types_pb2.PARTY_SCOPE_PARTNERS


async def _stop(
    stubs: Stubs, email: str, channel: types_pb2.Channel.ValueType = SMS
) -> consent_pb2.WithdrawConsentResponse:
    request = consent_pb2.WithdrawConsentRequest(
        subject=by_email(email),
        all=True,
        channel=channel,
        source=types_pb2.SOURCE_API,
        actor="sms-gateway",
    )
    return await stubs.consent.WithdrawConsent(request, metadata=stubs.metadata)


async def _answers(stubs: Stubs, email: str, *targets: types_pb2.ConsentTarget) -> list[tuple]:
    found = [await check(stubs, by_email(email), t) for t in targets]
    return [(a.decision, a.reason) for a in found]


WITHDRAWN = (DENY, consent_pb2.REASON_WITHDRAWN)
GRANTED = (ALLOW, consent_pb2.REASON_GRANTED)
INTEREST = (ALLOW, consent_pb2.REASON_LEGITIMATE_INTEREST)
# A "no" to a legitimate-interest purpose is an objection to it.
OBJECTED = (DENY, consent_pb2.REASON_OBJECTED)


async def test_a_stop_on_one_channel_denies_every_purpose_on_it_and_nothing_else(
    stubs: Stubs, campaign: campaign_pb2_grpc.CampaignServiceStub
) -> None:
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers", LEGITIMATE_INTEREST)
    email = "stop-sms@example.fr"
    person = types_pb2.SubjectIdentity(email=email, phone="+33612345678")
    await record(
        stubs,
        person,
        grant(target("newsletter", SMS)),
        grant(target("newsletter", SMS, PARTNERS)),
        grant(target("newsletter", EMAIL)),
    )

    stopped = await _stop(stubs, email)

    everything = stopped.events[0]
    assert (everything.applies_to_all, everything.target) == (
        True,
        types_pb2.ConsentTarget(channel=SMS),
    )
    # Each grant on the channel is withdrawn one by one too (the current state lists them).
    assert sorted((e.target.purpose, e.target.scope) for e in stopped.events[1:]) == [
        ("newsletter", types_pb2.PARTY_SCOPE_FIRST_PARTY),
        ("newsletter", PARTNERS),
    ]
    await put_purpose(stubs, "later", LEGITIMATE_INTEREST)
    assert await _answers(
        stubs,
        email,
        target("newsletter", SMS),
        target("newsletter", SMS, PARTNERS),
        target("offers", SMS),
        target("later", SMS),
    ) == [WITHDRAWN, WITHDRAWN, OBJECTED, OBJECTED]
    assert await _answers(
        stubs, email, target("newsletter", EMAIL), target("offers", EMAIL), target("later", EMAIL)
    ) == [GRANTED, INTEREST, INTEREST]
    state = await current(stubs, by_email(email))
    stop_row = [c for c in state.consents if c.applies_to_all]
    assert [(c.target.channel, c.state) for c in stop_row] == [
        (SMS, types_pb2.CONSENT_STATE_WITHDRAWN)
    ]

    # A bulk check and the suppression list of a purpose on that channel say the same.
    batch = await campaign.BatchCheckConsent(
        campaign_pb2.BatchCheckConsentRequest(
            target=target("offers", SMS), recipients=[by_email(email)]
        ),
        metadata=stubs.metadata,
    )
    assert (batch.answers[0].decision, batch.answers[0].reason) == OBJECTED
    export = campaign.ExportSuppressionList(
        campaign_pb2.ExportSuppressionListRequest(target=target("offers", SMS)),
        metadata=stubs.metadata,
    )
    listed = [e async for page in export for e in page.entries]
    # A text's suppression list is of phone numbers.
    assert [e.reason for e in listed] == [consent_pb2.REASON_OBJECTED]
    mail_export = campaign.ExportSuppressionList(
        campaign_pb2.ExportSuppressionListRequest(target=target("offers", EMAIL)),
        metadata=stubs.metadata,
    )
    assert [e async for page in mail_export for e in page.entries] == []

    # The person says yes to texts again: that purpose counts from then on, the others do not.
    await record(stubs, person, grant(target("newsletter", SMS)))
    assert await _answers(stubs, email, target("newsletter", SMS), target("offers", SMS)) == [
        GRANTED,
        OBJECTED,
    ]


async def test_a_late_grant_decided_before_the_stop_is_superseded_on_that_channel_only(
    stubs: Stubs,
) -> None:
    """A CRM syncing a "yes" the person gave before texting STOP: superseded on SMS, recorded
    on e-mail."""
    await put_purpose(stubs, "newsletter")
    email = "stop-late@example.fr"
    stopped = await _stop(stubs, email)
    at = stopped.events[0].recorded_at.ToDatetime(tzinfo=UTC)
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email),
        choices=[grant(target("newsletter", SMS)), grant(target("newsletter", EMAIL))],
        source=types_pb2.SOURCE_API,
        decided_at=stamp(at - timedelta(minutes=5)),
    )
    synced = await stubs.consent.RecordConsent(request, metadata=stubs.metadata)
    assert list(synced.superseded) == [target("newsletter", SMS)]
    assert [e.target for e in synced.events] == [target("newsletter", EMAIL)]
    assert await _answers(stubs, email, target("newsletter", SMS), target("newsletter", EMAIL)) == [
        WITHDRAWN,
        GRANTED,
    ]


async def test_a_stop_everywhere_covers_a_channel_and_not_the_other_way(stubs: Stubs) -> None:
    """Withdrawing everything stands for a channel's stop (asked again through the portal
    path it changes nothing); a channel's stop is not a stop everywhere."""
    await put_purpose(stubs, "newsletter")
    await record(
        stubs, types_pb2.SubjectIdentity(email="both@example.fr"), grant(target("newsletter"))
    )
    await _stop(stubs, "both@example.fr", EMAIL)
    assert await _answers(
        stubs, "both@example.fr", target("newsletter", EMAIL), target("newsletter", SMS)
    ) == [WITHDRAWN, (DENY, consent_pb2.REASON_NO_RECORD)]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"channel": SMS, "targets": [target("newsletter", SMS)]}, "channel"),
        ({"all": True, "channel": 99}, "channel"),
    ],
    ids=["without-all", "unknown-channel"],
)
async def test_a_channel_needs_all_and_a_known_channel(
    stubs: Stubs, request_fields: dict, field: str
) -> None:
    await put_purpose(stubs, "newsletter")
    request = consent_pb2.WithdrawConsentRequest(
        subject=by_email("bad-stop@example.fr"), source=types_pb2.SOURCE_API, **request_fields
    )
    error = await fails(stubs.consent.WithdrawConsent(request, metadata=stubs.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(field)
    assert await _answers(stubs, "bad-stop@example.fr", target("newsletter", SMS)) == [
        (DENY, consent_pb2.REASON_NO_RECORD)
    ]


async def _synced(
    stubs: Stubs, email: str, *choices: consent_pb2.ConsentChoice, key: str = ""
) -> consent_pb2.RecordConsentResponse:
    """What a CRM sync sends: SOURCE_API, no decided_at."""
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email), choices=choices, source=types_pb2.SOURCE_API
    )
    keyed = (("idempotency-key", key),) if key else ()
    return await stubs.consent.RecordConsent(request, metadata=(*stubs.metadata, *keyed))


def _then(key: str, step: str) -> str:
    """Another idempotency key for a later call (none when the first had none)."""
    return f"{key}-{step}" if key else ""


@pytest.mark.parametrize("key", ["", "sync-1"], ids=["grouped", "one-call"])
async def test_a_systems_grant_does_not_lift_a_stop_only_the_person_does(
    stubs: Stubs, key: str
) -> None:
    """A person texts STOP; the next CRM sync's grant of an SMS target made a check ALLOW at
    once (probe BF). It is refused (STOP_IN_FORCE, nothing written) like one over an objection,
    e-mail is untouched, and once the person grants one target in person, the CRM's grants of
    that target count again, of the others not."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    email = f"stopped-{key or 'grouped'}@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(target("newsletter", SMS)))
    await _stop(stubs, email)
    error = await fails(_synced(stubs, email, grant(target("newsletter", SMS)), key=key))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(error).reason == "STOP_IN_FORCE"
    # Who recorded the stop, not "the person withdrew" (the gateway did, for them; probe HC).
    assert "everything on this channel was withdrawn (source api)" in (error.details() or "")
    assert await _answers(stubs, email, target("newsletter", SMS)) == [WITHDRAWN]
    mail = await _synced(stubs, email, grant(target("newsletter", EMAIL)), key=_then(key, "mail"))
    assert len(mail.events) == 1
    # The person says yes to the newsletter by text again, in person: that target only.
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(target("newsletter", SMS)))
    again = await _synced(stubs, email, grant(target("newsletter", SMS)), key=_then(key, "2"))
    assert len(again.events) == 1
    other = await fails(_synced(stubs, email, grant(target("offers", SMS)), key=_then(key, "3")))
    assert error_info(other).reason == "STOP_IN_FORCE"
    assert await _answers(stubs, email, target("newsletter", SMS), target("offers", SMS)) == [
        GRANTED,
        (DENY, consent_pb2.REASON_WITHDRAWN),
    ]


@pytest.mark.parametrize("key", ["", "own-1"], ids=["grouped", "one-call"])
async def test_a_systems_grant_does_not_lift_the_persons_own_withdrawal(
    stubs: Stubs, key: str
) -> None:
    """Probe CD: a person unsubscribed from one newsletter (the portal, the one-click link);
    a second later the CRM's nightly sync granted it again, accepted, and checks said ALLOW.
    A "no" the person said themselves is lifted by the person only: the sync's grant is
    refused (STOP_IN_FORCE, nothing written), listed in `superseded` beside a choice that is
    recorded, and counts again once the person grants in person. A system's own "no" a
    system may still lift."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    email = f"own-no-{key or 'grouped'}@example.fr"
    news, offers = target("newsletter", EMAIL), target("offers", EMAIL)
    await _synced(stubs, email, grant(news), grant(offers), key=_then(key, "0"))
    await stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=by_email(email), targets=[news], source=types_pb2.SOURCE_PORTAL
        ),
        metadata=stubs.metadata,
    )
    error = await fails(_synced(stubs, email, grant(news), key=key))
    assert (error.code(), error_info(error).reason) == (FAILED, "STOP_IN_FORCE")
    assert "the person withdrew this themselves (portal)" in (error.details() or "")
    mixed = await _synced(stubs, email, grant(news), refuse(offers), key=_then(key, "mixed"))
    assert [e.state for e in mixed.events] == [types_pb2.CONSENT_STATE_REFUSED]
    assert list(mixed.superseded) == [news]
    assert await _answers(stubs, email, news) == [WITHDRAWN]
    # The CRM's own refusal of the offers, the CRM may lift.
    lifted = await _synced(stubs, email, grant(offers), key=_then(key, "lifted"))
    assert len(lifted.events) == 1
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(news))
    again = await _synced(stubs, email, grant(news), key=_then(key, "again"))
    assert len(again.events) == 1
    assert await _answers(stubs, email, news, offers) == [GRANTED, GRANTED]


@pytest.mark.parametrize("key", ["", "mirror-1"], ids=["grouped", "one-call"])
async def test_a_systems_own_no_does_not_clear_the_way_over_the_persons(
    stubs: Stubs, key: str
) -> None:
    """Probe CE: after the person unsubscribed in person, a CRM mirroring it (its own
    withdrawal, or a refusal) replaced their "no" as the current fact, and its next grant was
    taken: ALLOW. The person's latest word on the target decides, whatever a system wrote
    since."""
    await put_purpose(stubs, "newsletter")
    email = f"mirror-{key or 'grouped'}@example.fr"
    news = target("newsletter", EMAIL)
    await _synced(stubs, email, grant(news), key=_then(key, "0"))
    await stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=by_email(email), targets=[news], source=types_pb2.SOURCE_PORTAL
        ),
        metadata=stubs.metadata,
    )
    await stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=by_email(email), targets=[news], source=types_pb2.SOURCE_API
        ),
        metadata=stubs.metadata,
    )
    await _synced(stubs, email, refuse(news), key=_then(key, "refused"))
    error = await fails(_synced(stubs, email, grant(news), key=key))
    assert (error.code(), error_info(error).reason) == (FAILED, "STOP_IN_FORCE")
    assert "the person withdrew this themselves (portal)" in (error.details() or "")
    assert await _answers(stubs, email, news) == [(DENY, consent_pb2.REASON_REFUSED)]


async def test_a_stop_the_person_lifted_stays_lifted_under_a_systems_no(stubs: Stubs) -> None:
    """Probe CG: the person stopped every e-mail, then granted one newsletter in person; the
    CRM's bounce handling refused it, and the CRM's next grant was STOP_IN_FORCE for good: the
    stop read as standing again once the system's "no" replaced the person's grant. The
    person's grant after the stop lifts it for that target, whatever a system wrote since."""
    await put_purpose(stubs, "newsletter")
    email = "lifted-stop@example.fr"
    news = target("newsletter", EMAIL)
    await _synced(stubs, email, grant(news))
    await _stop(stubs, email, EMAIL)
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(news))
    await _synced(stubs, email, refuse(news), key="bounce-1")
    regranted = await _synced(stubs, email, grant(news), key="regrant-1")
    assert len(regranted.events) == 1
    assert await _answers(stubs, email, news) == [GRANTED]


async def test_a_stop_everywhere_is_lifted_by_the_person_only_too(stubs: Stubs) -> None:
    """The same for a withdrawal of everything on every channel."""
    await put_purpose(stubs, "newsletter")
    email = "everything@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(target("newsletter")))
    await stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=by_email(email), all=True, source=types_pb2.SOURCE_PORTAL
        ),
        metadata=stubs.metadata,
    )
    error = await fails(_synced(stubs, email, grant(target("newsletter"))))
    assert "everything on every channel was withdrawn (source portal)" in (error.details() or "")


@pytest.mark.parametrize("key", ["", "mixed-1"], ids=["grouped", "one-call"])
@pytest.mark.parametrize("block", ["stop", "objection"])
async def test_a_no_beside_a_blocked_grant_is_recorded(
    stubs: Stubs, channel: grpc.aio.Channel, key: str, block: str
) -> None:
    """A CRM call refusing e-mail and granting SMS after the person's STOP (or objection)
    failed whole: the refusal was lost with the grant (probe BG). The refusal is recorded, the
    blocked grant listed in `superseded`; a call of blocked grants only is still refused."""
    await put_purpose(stubs, "offers")
    email = f"mixed-{block}-{key or 'grouped'}@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(target("offers", EMAIL)))
    if block == "stop":
        await _stop(stubs, email)
    else:
        await rights_pb2_grpc.RightsServiceStub(channel).RecordObjection(
            rights_pb2.RecordObjectionRequest(subject=by_email(email)), metadata=stubs.metadata
        )
    mixed = await _synced(
        stubs, email, refuse(target("offers", EMAIL)), grant(target("offers", SMS)), key=key
    )
    assert [(e.target, e.state) for e in mixed.events] == [
        (target("offers", EMAIL), types_pb2.CONSENT_STATE_REFUSED)
    ]
    assert list(mixed.superseded) == [target("offers", SMS)]
    assert (await check(stubs, by_email(email), target("offers", EMAIL))).reason in (
        consent_pb2.REASON_REFUSED,
        consent_pb2.REASON_OBJECTED,
    )
    only = await fails(_synced(stubs, email, grant(target("offers", SMS)), key=_then(key, "2")))
    assert only.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize("key", ["", "moved-1"], ids=["grouped", "one-call"])
async def test_a_number_left_under_a_stop_is_taken_back_by_a_person_only(
    stubs: Stubs, channel: grpc.aio.Channel, key: str
) -> None:
    """A person texts STOP, then moves to a new number (RectifyContact): the next CRM sync's
    grant for the old number made a new subject and a check of it said ALLOW (probe BI), while
    after an objection it is refused. The STOP stays on the number it was sent from
    (OBJECTION_IN_FORCE, nothing written); the e-mail address they left with a STOP on SMS only
    is not closed by it."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    old, email = f"+3361234{5670 + len(key)}", f"moved-{key or 'grouped'}@example.fr"
    person = types_pb2.SubjectIdentity(email=email, phone=old)
    made = await record(stubs, person, grant(target("newsletter", SMS)))
    await _stop(stubs, email)
    for kind, value in (
        (rights_pb2.CONTACT_KIND_PHONE, f"+3369876{5430 + len(key)}"),
        (rights_pb2.CONTACT_KIND_EMAIL, f"new-{email}"),
    ):
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=types_pb2.SubjectRef(subject_id=made.subject_id), kind=kind, value=value
            ),
            metadata=stubs.metadata,
        )
    sms = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(phone=old),
        choices=[grant(target("newsletter", SMS))],
        source=types_pb2.SOURCE_API,
    )
    keyed = (("idempotency-key", key),) if key else ()
    error = await fails(stubs.consent.RecordConsent(sms, metadata=(*stubs.metadata, *keyed)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(error).reason == "OBJECTION_IN_FORCE"
    assert "a STOP" in (error.details() or "")
    denied = await check(stubs, types_pb2.SubjectRef(phone=old), target("newsletter", SMS))
    assert denied.decision == DENY
    # The old address: the STOP was on SMS, the CRM's e-mail grant for it is taken.
    mail = await _synced(stubs, email, grant(target("newsletter", EMAIL)), key=_then(key, "mail"))
    assert len(mail.events) == 1


def _crm(external_id: str, *choices: consent_pb2.ConsentChoice) -> consent_pb2.RecordConsentRequest:
    return consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=external_id),
        choices=choices,
        source=types_pb2.SOURCE_API,
    )


@pytest.mark.parametrize("key", ["", "given-1"], ids=["grouped", "one-call"])
async def test_a_customer_given_a_number_left_under_a_stop_keeps_its_other_channels_and_its_no(
    stubs: Stubs, channel: grpc.aio.Channel, key: str
) -> None:
    """A number left under a STOP given to another customer (RectifyContact): the CRM's sync of
    that customer by external id with a grant and a refusal failed whole (the "no" lost), and
    an e-mail grant was refused though a phone does not reach e-mail (probe BL). Only the
    grants of the channels the number reaches are refused (listed in `superseded` beside
    what is recorded; alone, FAILED_PRECONDITION); the refusal and the e-mail grant stand."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    tag = key or "grouped"
    number, first, customer = f"+3361111{2220 + len(key)}", f"p1-{tag}", f"p2-{tag}"
    keyed = (("idempotency-key", key),) if key else ()
    earlier = types_pb2.SubjectIdentity(external_id=first, phone=number)
    made = await record(stubs, earlier, grant(target("newsletter", SMS)))
    stop = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(phone=number),
        all=True,
        channel=SMS,
        source=types_pb2.SOURCE_API,
    )
    await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    for subject, value in ((made.subject_id, f"+3369999{1110 + len(key)}"), (None, number)):
        ref = types_pb2.SubjectRef(subject_id=subject) if subject else None
        if ref is None:
            await stubs.consent.RecordConsent(
                _crm(customer, grant(target("offers", EMAIL))), metadata=stubs.metadata
            )
            ref = types_pb2.SubjectRef(external_id=customer)
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=ref, kind=rights_pb2.CONTACT_KIND_PHONE, value=value
            ),
            metadata=stubs.metadata,
        )
    mail = _crm(customer, grant(target("newsletter", EMAIL)), refuse(target("offers", EMAIL)))
    written = await stubs.consent.RecordConsent(mail, metadata=(*stubs.metadata, *keyed))
    assert (len(written.events), list(written.superseded)) == (2, [])
    mixed = _crm(customer, grant(target("newsletter", SMS)), refuse(target("offers", SMS)))
    kept = await stubs.consent.RecordConsent(mixed, metadata=(*stubs.metadata, *_more(keyed)))
    assert [e.state for e in kept.events] == [types_pb2.CONSENT_STATE_REFUSED]
    assert list(kept.superseded) == [target("newsletter", SMS)]
    alone = await fails(
        stubs.consent.RecordConsent(
            _crm(customer, grant(target("newsletter", SMS))), metadata=stubs.metadata
        )
    )
    assert error_info(alone).reason == "OBJECTION_IN_FORCE"
    by_customer = types_pb2.SubjectRef(external_id=customer)
    answers = [
        (await check(stubs, by_customer, t)).decision
        for t in (target("newsletter", EMAIL), target("offers", EMAIL), target("offers", SMS))
    ]
    assert answers == [ALLOW, DENY, DENY]
    by_number = await check(stubs, types_pb2.SubjectRef(phone=number), target("newsletter", SMS))
    assert by_number.decision == DENY


def _more(keyed: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, f"{v}-2") for k, v in keyed)


async def test_a_systems_grant_from_before_a_number_was_given_does_not_lift_its_stop(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """The CRM's SMS grant for a customer, then RectifyContact giving them a number its earlier
    holder had left under a STOP: a check of the number said ALLOW (probe BL), while the other
    order is refused. A fact from before the number was theirs says nothing of it: DENY until
    the customer grants with it, in person."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    number, customer = "+33611113330", "p2-grant-first"
    sms = target("newsletter", SMS)
    made = await record(stubs, types_pb2.SubjectIdentity(phone=number), grant(sms))
    stop = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(phone=number),
        all=True,
        channel=SMS,
        source=types_pb2.SOURCE_API,
    )
    await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(subject_id=made.subject_id),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            value="+33611113339",
        ),
        metadata=stubs.metadata,
    )
    await stubs.consent.RecordConsent(_crm(customer, grant(sms)), metadata=stubs.metadata)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=customer),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            value=number,
        ),
        metadata=stubs.metadata,
    )
    denied = await check(stubs, types_pb2.SubjectRef(phone=number), sms)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    await record(stubs, types_pb2.SubjectIdentity(external_id=customer), grant(sms))
    assert (await check(stubs, types_pb2.SubjectRef(phone=number), sms)).decision == ALLOW


async def test_a_late_grant_decided_while_a_stopped_number_was_vacant_says_nothing_of_it(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe BN: a number left under a STOP and held by nobody; a customer's grant by text,
    decided then and synced after RectifyContact gave them the number, read ALLOW (on time it
    read DENY). Superseded for the channels the number reaches. And a sign-up naming a new
    address with a closed number nobody holds: its e-mail grant is written (the number does
    not reach e-mail), its SMS one superseded (it was every channel)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    number, customer, sms = "+33611114440", "cust-vacant", target("newsletter", SMS)
    made = await record(stubs, types_pb2.SubjectIdentity(phone=number), grant(sms))
    stop = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(phone=number),
        all=True,
        channel=SMS,
        source=types_pb2.SOURCE_API,
    )
    await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(subject_id=made.subject_id),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            remove=True,
        ),
        metadata=stubs.metadata,
    )
    signup = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email="new-signup@example.fr", phone=number),
        choices=[grant(target("newsletter", EMAIL)), grant(sms)],
        source=types_pb2.SOURCE_API,
    )
    signed = await stubs.consent.RecordConsent(signup, metadata=stubs.metadata)
    assert ([e.target for e in signed.events], list(signed.superseded)) == (
        [target("newsletter", EMAIL)],
        [sms],
    )
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(subject_id=signed.subject_id),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            remove=True,
        ),
        metadata=stubs.metadata,
    )
    await record(
        stubs, types_pb2.SubjectIdentity(external_id=customer), grant(target("newsletter", EMAIL))
    )
    decided = datetime.now(UTC)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=customer),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            value=number,
        ),
        metadata=stubs.metadata,
    )
    late = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=customer),
        choices=[grant(sms)],
        source=types_pb2.SOURCE_PORTAL,
        decided_at=stamp(decided),
    )
    answer = await stubs.consent.RecordConsent(late, metadata=stubs.metadata)
    assert (list(answer.events), list(answer.superseded)) == ([], [sms])
    assert (await check(stubs, types_pb2.SubjectRef(phone=number), sms)).decision == DENY


async def _close(
    stubs: Stubs, rights: rights_pb2_grpc.RightsServiceStub, how: str, subject_id: str
) -> None:
    """The number's first holder closes it: a STOP, everything withdrawn, an objection, an
    erasure; then (unless erased) the number is taken from them."""
    person = types_pb2.SubjectRef(subject_id=subject_id)
    if how in ("stop", "everything"):
        await stubs.consent.WithdrawConsent(
            consent_pb2.WithdrawConsentRequest(
                subject=person,
                all=True,
                channel=SMS if how == "stop" else types_pb2.CHANNEL_UNSPECIFIED,
                source=types_pb2.SOURCE_API,
            ),
            metadata=stubs.metadata,
        )
    elif how == "objection":
        await rights.RecordObjection(
            rights_pb2.RecordObjectionRequest(subject=person), metadata=stubs.metadata
        )
    else:
        await rights.EraseSubject(
            rights_pb2.EraseSubjectRequest(subject=person, actor="dpo"), metadata=stubs.metadata
        )
        return
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=person, kind=rights_pb2.CONTACT_KIND_PHONE, remove=True
        ),
        metadata=stubs.metadata,
    )


@pytest.mark.parametrize("how", ["stop", "everything", "objection", "erasure"])
async def test_a_customer_checked_by_their_own_keys_is_no_freer_than_the_number_they_were_given(
    stubs: Stubs,
    channel: grpc.aio.Channel,
    campaign: campaign_pb2_grpc.CampaignServiceStub,
    how: str,
) -> None:
    """Probe BO: a CRM grant for a customer, then RectifyContact giving them a number its
    earlier holder had closed: a check of the number read DENY but a check of the customer by
    external id or subject id read ALLOW (unary, batch, stream), and a sender checking by its
    CRM key texted the number. A check of a subject counts the contact points it holds that
    reach the channel asked: DENY on SMS until the customer grants in person; their e-mail
    stays theirs."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    number = f"+3362220{len(how):02d}{ord(how[0]):02d}"[:12]
    customer = f"given-{how}"
    sms, mail = target("newsletter", SMS), target("newsletter", EMAIL)
    first = await record(stubs, types_pb2.SubjectIdentity(phone=number), grant(sms))
    await _close(stubs, rights, how, first.subject_id)
    given = await stubs.consent.RecordConsent(
        _crm(customer, grant(sms), grant(mail)), metadata=stubs.metadata
    )
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=customer),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            value=number,
        ),
        metadata=stubs.metadata,
    )
    keys = [
        types_pb2.SubjectRef(phone=number),
        types_pb2.SubjectRef(external_id=customer),
        types_pb2.SubjectRef(subject_id=given.subject_id),
    ]
    for key in keys:
        assert (await check(stubs, key, sms)).decision == DENY, key
    assert (await check(stubs, keys[1], mail)).decision == ALLOW
    batch = await campaign.BatchCheckConsent(
        campaign_pb2.BatchCheckConsentRequest(target=sms, recipients=keys),
        metadata=stubs.metadata,
    )
    assert [a.decision for a in batch.answers] == [DENY] * 3
    await record(stubs, types_pb2.SubjectIdentity(external_id=customer), grant(sms))
    for key in keys:
        assert (await check(stubs, key, sms)).decision == ALLOW, key


async def test_a_stop_from_a_number_nobody_knew_joins_the_crm_customer_it_is(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe BO: a STOP texted from an unknown number makes a subject of its own; the CRM knows
    the person by external id, with an SMS grant. Naming both is refused (two subjects) and
    the message said only "send each identifier in a call of its own", which leaves the CRM
    key ALLOW. It names the way: move the number with RectifyContact; the STOP stays on it,
    and the customer checked by their CRM key is DENY on SMS."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    number, customer = "+33622209876", "crm-knows-stop"
    sms = target("newsletter", SMS)
    stop = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(phone=number),
        all=True,
        channel=SMS,
        source=types_pb2.SOURCE_API,
    )
    stopped = await stubs.consent.WithdrawConsent(stop, metadata=stubs.metadata)
    await stubs.consent.RecordConsent(_crm(customer, grant(sms)), metadata=stubs.metadata)
    both = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=customer, phone=number),
        choices=[grant(sms)],
        source=types_pb2.SOURCE_API,
    )
    refused = await fails(stubs.consent.RecordConsent(both, metadata=stubs.metadata))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "RectifyContact" in (refused.details() or "")
    give = rights_pb2.RectifyContactRequest(
        subject=types_pb2.SubjectRef(external_id=customer),
        kind=rights_pb2.CONTACT_KIND_PHONE,
        value=number,
    )
    taken = await fails(rights.RectifyContact(give, metadata=stubs.metadata))
    assert taken.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "remove it from that subject first" in (taken.details() or "")
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(subject_id=stopped.subject_id),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            remove=True,
        ),
        metadata=stubs.metadata,
    )
    await rights.RectifyContact(give, metadata=stubs.metadata)
    for key in (types_pb2.SubjectRef(external_id=customer), types_pb2.SubjectRef(phone=number)):
        assert (await check(stubs, key, sms)).decision == DENY, key


async def test_a_check_of_the_persons_own_number_asks_about_that_number_alone(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe BR: a customer granted SMS in person with their own number; the CRM then linked
    them a second number its earlier holder had left under a STOP. A check of their own number
    read DENY (and it was on the suppression list): a check of one number asks about it alone.
    By external id, which does not say which number a send uses, it is DENY."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    left, own, customer = "+33622207001", "+33622207002", "two-phones"
    sms, mail = target("newsletter", SMS), target("newsletter", EMAIL)
    first = await record(stubs, types_pb2.SubjectIdentity(phone=left), grant(sms))
    await _close(stubs, rights, "stop", first.subject_id)
    await record(stubs, types_pb2.SubjectIdentity(external_id=customer, phone=own), grant(sms))
    linked = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=customer, phone=left),
        choices=[refuse(mail)],
        source=types_pb2.SOURCE_API,
    )
    await stubs.consent.RecordConsent(linked, metadata=stubs.metadata)
    assert (await check(stubs, types_pb2.SubjectRef(phone=own), sms)).decision == ALLOW
    assert (await check(stubs, types_pb2.SubjectRef(phone=left), sms)).decision == DENY
    by_key = await check(stubs, types_pb2.SubjectRef(external_id=customer), sms)
    assert (by_key.decision, by_key.reason) == WITHDRAWN
    # Nor does their e-mail address, which reaches no SMS (probe BT: ALLOW by it).
    address = types_pb2.SubjectIdentity(external_id=customer, email="two-phones@example.fr")
    await stubs.consent.RecordConsent(
        consent_pb2.RecordConsentRequest(
            subject=address, choices=[refuse(mail)], source=types_pb2.SOURCE_API
        ),
        metadata=stubs.metadata,
    )
    by_mail = await check(stubs, types_pb2.SubjectRef(email="two-phones@example.fr"), sms)
    assert (by_mail.decision, by_mail.reason) == WITHDRAWN


async def _give(
    rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, external_id: str, number: str
) -> None:
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=external_id),
            kind=rights_pb2.CONTACT_KIND_PHONE,
            value=number,
        ),
        metadata=stubs.metadata,
    )


async def test_a_customer_back_on_a_number_keeps_the_grant_they_gave_with_it(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe BR: a customer given a number left under a STOP grants in person with it (ALLOW),
    moves to another number, then back: DENY again and the CRM's grant refused, the grant being
    older than the latest holding. What counts is the customer's first holding since the
    number was closed; a STOP of someone who held it in between stays on it."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    number, customer, sms = "+33611114440", "p2-back-and-forth", target("newsletter", SMS)
    first = await record(stubs, types_pb2.SubjectIdentity(phone=number), grant(sms))
    await _close(stubs, rights, "stop", first.subject_id)
    await stubs.consent.RecordConsent(
        _crm(customer, grant(target("newsletter", EMAIL))), metadata=stubs.metadata
    )
    await _give(rights, stubs, customer, number)
    await record(stubs, types_pb2.SubjectIdentity(external_id=customer), grant(sms))
    by_number = types_pb2.SubjectRef(phone=number)
    assert (await check(stubs, by_number, sms)).decision == ALLOW
    for value in ("+33611114449", number):  # away, and back
        await _give(rights, stubs, customer, value)
    assert (await check(stubs, by_number, sms)).decision == ALLOW
    synced = await stubs.consent.RecordConsent(_crm(customer, grant(sms)), metadata=stubs.metadata)
    assert len(synced.events) == 1
    # Away again; someone else holds it and sends a STOP; back: that STOP stays on it.
    await _give(rights, stubs, customer, "+33611114449")
    third = await record(stubs, types_pb2.SubjectIdentity(phone=number), grant(sms))
    await _close(stubs, rights, "stop", third.subject_id)
    await _give(rights, stubs, customer, number)
    denied = await check(stubs, by_number, sms)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    refused = await fails(
        stubs.consent.RecordConsent(_crm(customer, grant(sms)), metadata=stubs.metadata)
    )
    assert error_info(refused).reason == "OBJECTION_IN_FORCE"


@pytest.mark.parametrize("key", ["", "relayed-1"], ids=["grouped", "one-call"])
async def test_a_relayed_objection_to_a_legitimate_interest_purpose_stands_against_a_sync(
    stubs: Stubs, key: str
) -> None:
    """Probe RD (session 38): a CRM relayed a prospect's "stop" (a withdrawal of a
    legitimate-interest purpose, SOURCE_API): checks said `objected`, and the same CRM's next
    nightly sync granting it made them ALLOW again. A "no" to such a purpose is an objection
    (GDPR art. 21), whoever records it: the sync's grant is refused (STOP_IN_FORCE, naming the
    source), dropped beside a choice that is recorded, and the person lifts it in person. A
    consent purpose's own "no" from a system stays the system's to correct."""
    await put_purpose(stubs, "prospecting", LEGITIMATE_INTEREST)
    await put_purpose(stubs, "newsletter")
    email = f"relayed-{key or 'grouped'}@example.fr"
    prospecting, news = target("prospecting", EMAIL), target("newsletter", EMAIL)
    await _synced(stubs, email, grant(prospecting), grant(news), key=_then(key, "0"))
    await stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=by_email(email), targets=[prospecting, news], source=types_pb2.SOURCE_API
        ),
        metadata=stubs.metadata,
    )
    assert await _answers(stubs, email, prospecting) == [OBJECTED]
    error = await fails(_synced(stubs, email, grant(prospecting), key=key))
    assert (error.code(), error_info(error).reason) == (FAILED, "STOP_IN_FORCE")
    assert "an objection to this purpose was recorded (source api)" in (error.details() or "")
    mixed = await _synced(stubs, email, grant(prospecting), grant(news), key=_then(key, "mixed"))
    assert [e.target.purpose for e in mixed.events] == ["newsletter"]
    assert list(mixed.superseded) == [prospecting]
    assert await _answers(stubs, email, prospecting, news) == [OBJECTED, GRANTED]
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(prospecting))
    again = await _synced(stubs, email, grant(prospecting), key=_then(key, "again"))
    assert len(again.events) == 1
    assert await _answers(stubs, email, prospecting) == [INTEREST]
