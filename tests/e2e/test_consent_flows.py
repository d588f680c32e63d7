"""Consent flows as a customer sees them: record, withdraw, check, current state and history."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json

import grpc
from consent.v1 import consent_pb2, types_pb2

from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import (
    ALLOW,
    CONSENT,
    DENY,
    EMAIL,
    FIRST,
    GRANTED,
    LEGITIMATE_INTEREST,
    PARTNERS,
    REFUSED,
    SMS,
    VOICE,
    WITHDRAWN,
    by_email,
    by_id,
    check,
    current,
    grant,
    history,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)
from tests.e2e.security_helpers import fails

CHANNELS = [value for value in types_pb2.Channel.values() if value]
SCOPES = [value for value in types_pb2.PartyScope.values() if value]


async def test_grant_allows_withdrawal_and_refusal_deny(stubs: Stubs) -> None:
    """A grant is ALLOW granted; a withdrawal DENY withdrawn; a refusal DENY refused."""
    await put_purpose(stubs, "newsletter")
    email, sms = target("newsletter", EMAIL), target("newsletter", SMS)
    subject = types_pb2.SubjectIdentity(email="camille@example.fr")
    recorded = await record(stubs, subject, grant(email), refuse(sms))
    ref = by_email("camille@example.fr")

    allowed = await check(stubs, ref, email)
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    assert allowed.event_id == recorded.events[0].event_id
    assert allowed.subject_id == recorded.subject_id
    assert allowed.lawful_basis == CONSENT
    refused = await check(stubs, ref, sms)
    assert (refused.decision, refused.reason) == (DENY, consent_pb2.REASON_REFUSED)
    assert refused.event_id == recorded.events[1].event_id

    withdrawn = await withdraw(stubs, ref, email)
    denied = await check(stubs, ref, email)
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    assert denied.event_id == withdrawn.events[0].event_id


async def test_legitimate_interest_allows_until_objection(stubs: Stubs) -> None:
    """A legitimate-interest purpose is ALLOW with no record (even for an unknown subject) and
    DENY objected once that target is withdrawn; other targets stay ALLOW."""
    await put_purpose(stubs, "prospecting", LEGITIMATE_INTEREST)
    email, voice = target("prospecting", EMAIL), target("prospecting", VOICE)

    unknown = await check(stubs, by_email("nobody@example.fr"), email)
    assert (unknown.decision, unknown.reason) == (ALLOW, consent_pb2.REASON_LEGITIMATE_INTEREST)
    assert (unknown.event_id, unknown.subject_id) == ("", "")
    assert unknown.lawful_basis == LEGITIMATE_INTEREST

    objection = await withdraw(stubs, by_email("pro@example.fr"), email)
    ref = by_id(objection.subject_id)
    objected = await check(stubs, ref, email)
    assert (objected.decision, objected.reason) == (DENY, consent_pb2.REASON_OBJECTED)
    assert objected.event_id == objection.events[0].event_id
    still = await check(stubs, ref, voice)
    assert (still.decision, still.reason) == (ALLOW, consent_pb2.REASON_LEGITIMATE_INTEREST)


async def test_unknown_subject_on_consent_purpose_is_no_record(stubs: Stubs) -> None:
    """Consent purpose + unknown subject (by contact point or by id) is DENY no_record, no error."""
    await put_purpose(stubs, "newsletter")
    unknown_refs = [
        by_email("ghost@example.fr"),
        types_pb2.SubjectRef(phone="+33698765432"),
        types_pb2.SubjectRef(external_id="crm-ghost"),
        by_id("00000000-0000-4000-8000-000000000000"),
    ]
    for ref in unknown_refs:
        answer = await check(stubs, ref, target("newsletter"))
        assert (answer.decision, answer.reason) == (DENY, consent_pb2.REASON_NO_RECORD)
        assert (answer.event_id, answer.subject_id) == ("", "")


async def test_withdraw_everything_denies_every_target_until_regranted(stubs: Stubs) -> None:
    """`all: true` denies every channel and scope of consent purposes (granted before or not)
    and of legitimate-interest purposes; a later specific re-grant is ALLOW again."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    await put_purpose(stubs, "prospecting", LEGITIMATE_INTEREST)
    granted = [target("newsletter"), target("newsletter", SMS, PARTNERS), target("offers")]
    subject = types_pb2.SubjectIdentity(email="stop@example.fr")
    recorded = await record(stubs, subject, *(grant(t) for t in granted))
    ref = by_id(recorded.subject_id)

    stop = await withdraw(stubs, ref, everything=True)
    assert [e.applies_to_all for e in stop.events].count(True) == 1
    assert {e.state for e in stop.events} == {WITHDRAWN}
    assert {(e.target.purpose, e.target.channel, e.target.scope) for e in stop.events} >= {
        (t.purpose, t.channel, t.scope) for t in granted
    }
    for purpose, channel, scope in itertools.product(
        ["newsletter", "offers", "prospecting"], CHANNELS, SCOPES
    ):
        answer = await check(stubs, ref, target(purpose, channel, scope))
        assert answer.decision == DENY, (purpose, channel, scope)
        expected = consent_pb2.REASON_OBJECTED if purpose == "prospecting" else None
        assert answer.reason == (expected or consent_pb2.REASON_WITHDRAWN)

    regrant = await record(stubs, subject, grant(target("newsletter")))
    again = await check(stubs, ref, target("newsletter"))
    assert (again.decision, again.event_id) == (ALLOW, regrant.events[0].event_id)
    assert (await check(stubs, ref, target("newsletter", SMS, PARTNERS))).decision == DENY
    assert (await check(stubs, ref, target("prospecting"))).decision == DENY


def _cursor(token: str) -> object:
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["c"]


def _token(cursor: str, scope: str, tenant: Tenant, *, covered: bool = True) -> str:
    """A history token as the service makes them (app/paging.py), forged: its list (the
    tenant, `scope`: the subject id and the purpose filter) and its cursor kept as a digest
    (`covered` False: the list alone, as before probe DA)."""
    text = f"{tenant.tenant_id}\x00{scope}" + (f'\x00"{cursor}"' if covered else "")
    tag = hashlib.sha256(text.encode()).hexdigest()[:16]
    body = {"k": "history", "c": cursor, "s": tag}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_history_is_newest_first_paginated_and_filtered(stubs: Stubs, tenant: Tenant) -> None:
    """History lists every change newest first; page_size 2 over 5 events gives 3 pages with
    no duplicate and an empty last token; `purpose` keeps only that purpose's events."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    subject = types_pb2.SubjectIdentity(external_id="crm-7")
    first = await record(stubs, subject, grant(target("newsletter")))
    ref = by_id(first.subject_id)
    ids = [first.events[0].event_id]
    ids += [e.event_id for e in (await record(stubs, subject, grant(target("offers")))).events]
    ids += [
        e.event_id for e in (await record(stubs, subject, refuse(target("newsletter", SMS)))).events
    ]
    ids += [e.event_id for e in (await withdraw(stubs, ref, target("newsletter"))).events]
    ids += [e.event_id for e in (await record(stubs, subject, grant(target("newsletter")))).events]
    newest_first = list(reversed(ids))

    everything = await history(stubs, ref)
    assert [e.event_id for e in everything.events] == newest_first
    assert everything.next_page_token == ""
    stamps = [e.recorded_at.ToDatetime() for e in everything.events]
    assert stamps == sorted(stamps, reverse=True)

    pages: list[consent_pb2.ListConsentHistoryResponse] = []
    token = ""
    while True:
        page = await history(stubs, ref, page_size=2, page_token=token)
        pages.append(page)
        token = page.next_page_token
        if not token:
            break
    assert [len(p.events) for p in pages] == [2, 2, 1]
    assert [e.event_id for p in pages for e in p.events] == newest_first
    # A token holds the last event id of its page (seen already), not the database's sequence,
    # which every tenant's writes advance; another subject's event as cursor lists nothing.
    cursors = [_cursor(p.next_page_token) for p in pages[:-1]]
    assert cursors == [pages[0].events[-1].event_id, pages[1].events[-1].event_id]
    other = await record(
        stubs, types_pb2.SubjectIdentity(external_id="crm-8"), grant(target("newsletter"))
    )
    foreign = _token(other.events[0].event_id, f"{first.subject_id}|", tenant)
    assert list((await history(stubs, ref, page_token=foreign)).events) == []
    # A token whose cursor was altered (its digest covered the list alone) read as the end of
    # the list, silently (probe DA): it is refused.
    altered = _token(pages[1].events[-1].event_id, f"{first.subject_id}|", tenant, covered=False)
    error = await fails(history(stubs, ref, page_token=altered))
    assert (error.code(), "altered" in str(error.details())) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        True,
    )
    # A token continues its own list only: another person's, or another filter's, is refused
    # (read as a page of this list, it ended it early and silently).
    mine = pages[0].next_page_token
    elsewhere = [
        history(stubs, by_id(other.subject_id), page_size=2, page_token=mine),
        history(stubs, ref, page_size=2, page_token=mine, purpose="offers"),
    ]
    for call in elsewhere:
        error = await fails(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "was issued for another list" in str(error.details())
    by_crm = types_pb2.SubjectRef(external_id="crm-7")
    same_person = await history(stubs, by_crm, page_size=2, page_token=mine)
    assert [e.event_id for e in same_person.events] == newest_first[2:4]

    offers = await history(stubs, ref, purpose="offers")
    assert [e.event_id for e in offers.events] == [ids[1]]
    assert {e.target.purpose for e in (await history(stubs, ref, purpose="newsletter")).events} == {
        "newsletter"
    }


async def test_subject_consents_show_current_state_per_target(stubs: Stubs) -> None:
    """GetSubjectConsents has one row per target with its latest state and event."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    subject = types_pb2.SubjectIdentity(email="state@example.fr")
    recorded = await record(
        stubs, subject, grant(target("newsletter")), refuse(target("newsletter", SMS))
    )
    await record(stubs, subject, grant(target("offers")))
    withdrawn = await withdraw(stubs, by_email("state@example.fr"), target("offers"))

    state = await current(stubs, by_email("state@example.fr"))
    assert state.subject_id == recorded.subject_id
    rows = {(c.target.purpose, c.target.channel): (c.state, c.event_id) for c in state.consents}
    assert rows == {
        ("newsletter", EMAIL): (GRANTED, recorded.events[0].event_id),
        ("newsletter", SMS): (REFUSED, recorded.events[1].event_id),
        ("offers", EMAIL): (WITHDRAWN, withdrawn.events[0].event_id),
    }
    assert all(c.target.scope == FIRST and not c.applies_to_all for c in state.consents)

    unknown = await current(stubs, by_email("nobody@example.fr"))
    assert (unknown.subject_id, list(unknown.consents)) == ("", [])


async def test_one_subject_is_found_by_each_identifier(stubs: Stubs) -> None:
    """A subject recorded with external id, email and phone is the same subject by each of them
    (email and phone compared after normalisation)."""
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(
        external_id="crm-42", email="Anne.Durand@Example.FR", phone="+33612345678"
    )
    recorded = await record(stubs, identity, grant(target("newsletter")))
    refs = [
        types_pb2.SubjectRef(external_id="crm-42"),
        by_email("anne.durand@example.fr"),
        types_pb2.SubjectRef(phone="+33612345678"),
        types_pb2.SubjectRef(phone="06 12 34 56 78"),
        by_id(recorded.subject_id),
    ]
    for ref in refs:
        answer = await check(stubs, ref, target("newsletter"))
        assert (answer.decision, answer.subject_id) == (ALLOW, recorded.subject_id), ref

    by_phone_only = await record(
        stubs, types_pb2.SubjectIdentity(phone="0612345678"), refuse(target("newsletter", SMS))
    )
    assert by_phone_only.subject_id == recorded.subject_id
