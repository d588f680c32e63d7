"""An erased person stays erased through every door (probe V): EraseSubject again by the same
email answers OK with when it was erased (it was NOT_FOUND, so a client that lost the answer
could not tell); LinkVisitor or RecordCookieChoice naming the erased address made a new
subject holding it again, and naming the erased subject's id linked to it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import (
    campaign_pb2,
    campaign_pb2_grpc,
    consent_pb2,
    cookies_pb2,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs, owner
from tests.e2e.helpers import (
    by_email,
    by_id,
    check,
    error_info,
    grant,
    put_purpose,
    record,
    target,
    withdraw,
)

EMAIL = "erased-person@example.fr"
NEWSLETTER = target("newsletter")


async def _erase(
    rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, ref: types_pb2.SubjectRef
) -> rights_pb2.EraseSubjectResponse:
    request = rights_pb2.EraseSubjectRequest(subject=ref, actor="dpo")
    return await rights.EraseSubject(request, metadata=stubs.metadata)


async def _refused(call: object, code: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION, raised.value.details()
    assert error_info(raised.value).reason == code


async def test_an_erased_person_is_not_linked_again_and_erasing_again_says_when(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    written = await record(stubs, types_pb2.SubjectIdentity(email=EMAIL), grant(NEWSLETTER))
    first = await _erase(rights, stubs, by_email(EMAIL))
    assert first.subject_id == written.subject_id

    again = await _erase(rights, stubs, by_email(EMAIL))
    assert (again.subject_id, again.erased_at) == ("", first.erased_at)
    by_id_again = await _erase(rights, stubs, by_id(written.subject_id))
    assert by_id_again.erased_at == first.erased_at
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await _erase(rights, stubs, by_email("never-seen@example.fr"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    visitor = uuid4().hex
    link = cookies_pb2.LinkVisitorRequest(visitor_id=visitor, subject=by_email(EMAIL))
    await _refused(stubs.cookies.LinkVisitor(link, metadata=stubs.metadata), "CONTACT_POINT_ERASED")
    link_id = cookies_pb2.LinkVisitorRequest(visitor_id=visitor, subject=by_id(written.subject_id))
    await _refused(stubs.cookies.LinkVisitor(link_id, metadata=stubs.metadata), "SUBJECT_ERASED")
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id=visitor,
        policy_revision=1,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        subject=by_email(EMAIL),
    )
    await _refused(
        stubs.cookies.RecordCookieChoice(choice, metadata=stubs.metadata), "CONTACT_POINT_ERASED"
    )
    # Nothing was written: no choice for the visitor, no new subject for the address.
    got = await stubs.cookies.GetCookieChoice(
        cookies_pb2.GetCookieChoiceRequest(visitor_id=visitor), metadata=stubs.metadata
    )
    assert got.status == cookies_pb2.COOKIE_CHOICE_STATUS_NONE
    answer = await check(stubs, by_email(EMAIL), NEWSLETTER)
    assert (answer.reason, answer.subject_id) == (consent_pb2.REASON_ERASED, "")


async def test_an_erasure_closes_the_addresses_the_person_held_before(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Moved from an old address to a new one (RectifyContact), then erased: the old address
    was DENY no_record, and the CRM's stale copy of it made a new subject, ALLOW (probe X). It
    is closed as the current one is; an old address someone else holds now stays theirs."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    old, new, passed_on = "old@example.fr", "new@example.fr", "shared@example.fr"
    written = await record(stubs, types_pb2.SubjectIdentity(email=old), grant(NEWSLETTER))
    for value in (passed_on, new):
        await rights.RectifyContact(
            rights_pb2.RectifyContactRequest(
                subject=by_id(written.subject_id), kind=rights_pb2.CONTACT_KIND_EMAIL, value=value
            ),
            metadata=stubs.metadata,
        )
    other = await record(stubs, types_pb2.SubjectIdentity(email=passed_on), grant(NEWSLETTER))
    assert other.subject_id != written.subject_id

    erased = await _erase(rights, stubs, by_email(new))
    assert erased.identifiers_suppressed == 2  # the new address and the old one
    answer = await check(stubs, by_email(old), NEWSLETTER)
    assert (answer.decision, answer.reason) == (
        consent_pb2.DECISION_DENY,
        consent_pb2.REASON_ERASED,
    )
    crm = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=old),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
    )
    await _refused(
        stubs.consent.RecordConsent(crm, metadata=stubs.metadata), "CONTACT_POINT_ERASED"
    )
    theirs = await check(stubs, by_email(passed_on), NEWSLETTER)
    assert (theirs.decision, theirs.subject_id) == (consent_pb2.DECISION_ALLOW, other.subject_id)


async def _withdrawn_then_moved(
    rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, old: str, new: str
) -> None:
    """A person granted at `old`, withdrew, and moved to `new` (RectifyContact)."""
    written = await record(stubs, types_pb2.SubjectIdentity(email=old), grant(NEWSLETTER))
    await withdraw(stubs, by_email(old), NEWSLETTER)
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=by_id(written.subject_id), kind=rights_pb2.CONTACT_KIND_EMAIL, value=new
        ),
        metadata=stubs.metadata,
    )


async def test_no_check_names_an_erased_persons_event(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Withdrawn, moved to a new address, erased: a check of the old address said WITHDRAWN
    naming her withdrawal's event, and `as_of` before the erasure named the event that
    decided; the event's inclusion proof holds her subject id, which ExportSubject opens
    (probe WA). Neither names an event (nor the subject) of an erased or earlier holder."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    old, new = f"was-{uuid4().hex[:8]}@example.fr", f"is-{uuid4().hex[:8]}@example.fr"
    await _withdrawn_then_moved(rights, stubs, old, new)
    before = await check(stubs, by_email(old), NEWSLETTER)
    assert (before.reason, before.event_id) == (consent_pb2.REASON_WITHDRAWN, "")
    moment = datetime.now(UTC)
    erased = await _erase(rights, stubs, by_email(new))
    for address, as_of in ((old, None), (new, None), (old, moment), (new, moment)):
        answer = await check(stubs, by_email(address), NEWSLETTER, as_of)
        assert answer.decision == consent_pb2.DECISION_DENY, (address, as_of)
        assert (answer.event_id, answer.subject_id) == ("", ""), (address, as_of, answer)
    by_subject = await check(stubs, by_id(erased.subject_id), NEWSLETTER, moment)
    assert by_subject.event_id  # named by its id: nothing is linked that was not


async def test_nothing_said_of_an_erased_person_by_address_carries_an_instant(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """The suppression list's `since` of an erased address (and of the address she left) and
    the refusals of a system's grant or a visitor's link naming it gave the erasure's or her
    withdrawal's instant to the microsecond, which the change feed pairs with her subject id
    (probe XA: every one of 24 entries and 12 identifiers matched one subject). They say no
    time; a live person's own entry keeps its time."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    old, new, live = (f"{n}-{uuid4().hex[:8]}@example.fr" for n in ("left", "erased", "live"))
    await _withdrawn_then_moved(rights, stubs, old, new)
    await _erase(rights, stubs, by_email(new))
    await record(stubs, types_pb2.SubjectIdentity(email=live), grant(NEWSLETTER))
    kept = await withdraw(stubs, by_email(live), NEWSLETTER)

    hashed = await campaign.HashContactPoints(
        campaign_pb2.HashContactPointsRequest(
            contact_points=[by_email(a) for a in (old, new, live)]
        ),
        metadata=stubs.metadata,
    )
    digests = [h.digest for h in hashed.hashes]
    export = campaign.ExportSuppressionList(
        campaign_pb2.ExportSuppressionListRequest(target=NEWSLETTER), metadata=stubs.metadata
    )
    entries = {e.digest: e async for page in export for e in page.entries}
    for digest in digests[:2]:
        entry = entries[digest]
        assert (entry.subject_id, entry.event_id, entry.HasField("since")) == ("", "", False)
    own = entries[digests[2]]
    assert (own.event_id, own.since.ToDatetime()) == (
        kept.events[0].event_id,
        kept.events[0].recorded_at.ToDatetime(),
    )

    crm = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=new),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
    )
    link = cookies_pb2.LinkVisitorRequest(visitor_id=uuid4().hex, subject=by_email(new))
    for call in (
        stubs.consent.RecordConsent(crm, metadata=stubs.metadata),
        stubs.cookies.LinkVisitor(link, metadata=stubs.metadata),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert "erased" in (raised.value.details() or "")
        assert not re.search(r"\d{4}-\d{2}-\d{2}", raised.value.details() or "")


async def test_erasures_at_once_by_address_tell_the_id_to_the_one_that_erased(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Six EraseSubject of one person at once, by address: those that found her before the
    first committed answered with her subject id as it had (probe WA), though a repeat by
    address is told when, never who, or NOT_FOUND (looked her up a second time, unlinked by
    then). Exactly one erased and names her; every one says when."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    for round_ in range(5):
        address = f"erased-at-once-{round_}-{uuid4().hex[:6]}@example.fr"
        written = await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
        answers = await asyncio.gather(
            *(_erase(rights, stubs, by_email(address)) for _ in range(6))
        )
        named = [a for a in answers if a.subject_id]
        assert [a.subject_id for a in named] == [written.subject_id], answers
        assert named[0].identifiers_suppressed == 1
        assert {a.erased_at.ToDatetime() for a in answers} == {named[0].erased_at.ToDatetime()}


async def test_a_link_racing_an_erasure_never_lands_on_the_erased_subject(
    app: App, stubs: Stubs, channel: grpc.aio.Channel, tenant: Tenant
) -> None:
    """EraseSubject against concurrent LinkVisitor calls by its id: visitors were left linked
    to the erased subject (the link read `erased_at` before the erasure committed; probe Y).
    Each link either lands before the erasure (and goes with it) or is SUBJECT_ERASED."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    refused: list[str] = []

    async def link(subject_id: str) -> None:
        request = cookies_pb2.LinkVisitorRequest(visitor_id=uuid4().hex, subject=by_id(subject_id))
        try:
            await stubs.cookies.LinkVisitor(request, metadata=stubs.metadata)
        except grpc.aio.AioRpcError as error:
            refused.append(error_info(error).reason)

    for round_ in range(20):
        address = f"racing-{round_}@example.fr"
        written = await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
        who = written.subject_id
        erasing = _erase(rights, stubs, by_id(who))
        await asyncio.gather(
            *(link(who) for _ in range(3)), erasing, *(link(who) for _ in range(5))
        )
    assert set(refused) <= {"SUBJECT_ERASED"}, refused
    query = sa.text(
        "SELECT count(*) FROM cookie_visitors v JOIN subjects s "
        "ON s.tenant_id = v.tenant_id AND s.subject_id = v.subject_id "
        "WHERE v.tenant_id = :t AND s.erased_at IS NOT NULL"
    )
    async with owner(app).connect() as conn:
        assert (await conn.execute(query, {"t": tenant.tenant_id})).scalar_one() == 0


async def test_an_address_erased_again_is_closed_from_its_latest_erasure(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Erase the holder of A, someone takes A back in person, erase them too: A stayed closed
    from the first erasure, so a grant decided between the return and the second erasure
    counted (ALLOW again), and erasing again by A quoted the first time (probe Y)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    address = "passed-on@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    first = await _erase(rights, stubs, by_email(address))
    back = await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    decided_between = back.events[0].recorded_at
    second = await _erase(rights, stubs, by_email(address))
    assert second.erased_at.ToDatetime() > first.erased_at.ToDatetime()
    again = await _erase(rights, stubs, by_email(address))
    assert again.erased_at == second.erased_at
    late = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=address),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_PORTAL,
        decided_at=decided_between,
    )
    written = await stubs.consent.RecordConsent(late, metadata=stubs.metadata)
    assert (list(written.superseded), list(written.events)) == ([NEWSLETTER], [])
    answer = await check(stubs, by_email(address), NEWSLETTER)
    assert (answer.decision, answer.reason) == (
        consent_pb2.DECISION_DENY,
        consent_pb2.REASON_ERASED,
    )


@pytest.mark.parametrize("key", ["", "held-1"], ids=["grouped", "one-call"])
async def test_a_systems_grant_naming_the_holder_otherwise_does_not_take_an_erased_address_back(
    stubs: Stubs, channel: grpc.aio.Channel, key: str
) -> None:
    """An operator gives a customer an address erased at its earlier holder's request
    (RectifyContact): a CRM grant naming the customer by external id only made a check of the
    address ALLOW, while naming the address it is refused (probe BI). Refused alike
    (CONTACT_POINT_ERASED, nothing written) until the customer grants in person; an address
    the customer holds that nobody closed is no reason."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    erased, customer = f"gone-{key or 'grouped'}@example.fr", f"cust-{key or 'grouped'}"
    await record(stubs, types_pb2.SubjectIdentity(email=erased), grant(NEWSLETTER))
    plain = await _sync(stubs, customer, _then(key, "plain"))
    assert len(plain.events) == 1  # nothing closed yet: the CRM's grant is taken
    await _erase(rights, stubs, by_email(erased))
    await rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=types_pb2.SubjectRef(external_id=customer),
            kind=rights_pb2.CONTACT_KIND_EMAIL,
            value=erased,
        ),
        metadata=stubs.metadata,
    )
    await _refused(_sync(stubs, customer, key), "CONTACT_POINT_ERASED")
    denied = await check(stubs, by_email(erased), NEWSLETTER)
    assert denied.decision == consent_pb2.DECISION_DENY
    # The customer says yes in person: from then on the CRM's grants count.
    await record(stubs, types_pb2.SubjectIdentity(external_id=customer), grant(NEWSLETTER))
    again = await _sync(stubs, customer, _then(key, "again"))
    assert len(again.events) == 1
    allowed = await check(stubs, by_email(erased), NEWSLETTER)
    assert allowed.decision == consent_pb2.DECISION_ALLOW


async def _sync(stubs: Stubs, customer: str, key: str) -> consent_pb2.RecordConsentResponse:
    """A CRM's grant (SOURCE_API) naming the customer by external id only."""
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=customer),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
    )
    keyed = (("idempotency-key", key),) if key else ()
    return await stubs.consent.RecordConsent(request, metadata=(*stubs.metadata, *keyed))


def _then(key: str, step: str) -> str:
    return f"{key}-{step}" if key else ""
