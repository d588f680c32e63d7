"""The self-service portal acts for one person with a signed token (ES256): it may read and
withdraw that person's consents only, may not record or change the catalogue, and every token
that is not exactly right (audience, issuer, expiry, key, algorithm, tenant) is UNAUTHENTICATED."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any
from uuid import uuid4

import grpc
import jwt
import pytest
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2
from structlog.testing import capture_logs

from consentd.app import token_refusals
from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import (
    by_id,
    current,
    grant,
    history,
    put_purpose,
    record,
    target,
    withdraw,
)
from tests.e2e.security_helpers import (
    Portal,
    answer_of,
    es256_key_pair,
    fails,
    hs256_token,
    register_portal,
    row_counts,
    unsigned_token,
)

JEANNE = "crm-jeanne"
PAUL = "crm-paul"


def _ref(external_id: str) -> types_pb2.SubjectRef:
    return types_pb2.SubjectRef(external_id=external_id)


@dataclass(frozen=True)
class People:
    """Subject ids of the two people."""

    jeanne: str
    paul: str


@pytest.fixture
async def people(stubs: Stubs) -> People:
    """Two people of the tenant with a grant each, recorded with the admin key."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    ids = []
    for external_id, email in ((JEANNE, "jeanne@example.fr"), (PAUL, "paul@example.fr")):
        identity = types_pb2.SubjectIdentity(external_id=external_id, email=email)
        written = await record(
            stubs, identity, grant(target("newsletter")), grant(target("offers"))
        )
        ids.append(written.subject_id)
    return People(*ids)


@pytest.fixture
async def portal(admin: AdminUseCases, tenant: Tenant) -> Portal:
    return await register_portal(admin, tenant)


def _as(stubs: Stubs, token: str) -> Stubs:
    return replace(stubs, metadata=bearer(token))


async def test_portal_reads_and_withdraws_its_own_subject(
    stubs: Stubs, portal: Portal, people: People
) -> None:
    """A portal token for Jeanne reads her consents and history and withdraws them, naming her
    by external id or by subject id."""
    jeanne = _as(stubs, portal.token(JEANNE))
    for ref in (_ref(JEANNE), by_id(people.jeanne)):
        consents = await current(jeanne, ref)
        assert consents.subject_id == people.jeanne
        assert len(consents.consents) == 2
        events = await history(jeanne, ref)
        assert {e.subject_id for e in events.events} == {people.jeanne}
    withdrawn = await withdraw(jeanne, _ref(JEANNE), target("newsletter"))
    assert withdrawn.subject_id == people.jeanne
    withdrawn = await withdraw(jeanne, by_id(people.jeanne), target("offers"))
    assert withdrawn.subject_id == people.jeanne
    states = {c.target.purpose: c.state for c in (await current(stubs, _ref(JEANNE))).consents}
    assert states == {
        "newsletter": types_pb2.CONSENT_STATE_WITHDRAWN,
        "offers": types_pb2.CONSENT_STATE_WITHDRAWN,
    }


async def test_a_portal_withdrawing_again_records_nothing_new(
    stubs: Stubs, portal: Portal, people: People
) -> None:
    """A portal token replayed in a loop appended an event and a log entry per withdrawal (200
    a second, slowing other tenants' writes). Withdrawing what is withdrawn already answers
    with the withdrawal that stands and records nothing; a grant since is withdrawn again."""
    jeanne = _as(stubs, portal.token(JEANNE))
    first = await withdraw(jeanne, _ref(JEANNE), everything=True)
    assert first.events[0].target.purpose == ""  # "everything"
    (newsletter,) = [e for e in first.events if e.target.purpose == "newsletter"]
    for _ in range(3):
        again = await withdraw(jeanne, _ref(JEANNE), everything=True)
        assert [e.event_id for e in again.events] == [first.events[0].event_id]
        one = await withdraw(jeanne, _ref(JEANNE), target("newsletter"))
        assert [e.event_id for e in one.events] == [newsletter.event_id]
    events = (await history(stubs, _ref(JEANNE))).events
    assert len(events) == 2 + len(first.events)  # the two grants, the first withdrawal
    identity = types_pb2.SubjectIdentity(external_id=JEANNE)
    await record(stubs, identity, grant(target("offers")))
    fresh = await withdraw(jeanne, _ref(JEANNE), everything=True)
    assert first.events[0].event_id not in {e.event_id for e in fresh.events}
    assert "offers" in {e.target.purpose for e in fresh.events}


async def test_a_request_filed_through_the_portal_is_verified_by_its_token(
    stubs: Stubs, portal: Portal, people: People, channel: grpc.aio.Channel
) -> None:
    """The preference centre filed requests with a code mailed to the person, who had nowhere
    to enter it (ConfirmIdentity is the operators'): they stayed RECEIVED until an operator
    attested. The portal token names the person: the request is verified by it, no code sent,
    and the DPO can start it."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    filed = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_PORT,
            subject=_ref(JEANNE),
            send_code_to=rights_pb2.CONTACT_KIND_EMAIL,
        ),
        metadata=bearer(portal.token(JEANNE)),
    )
    assert not filed.code_sent
    assert filed.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED
    assert filed.request.verification_method == "portal_token"
    assert filed.request.subject_id == people.jeanne
    started = await rights.StartRightsRequest(
        rights_pb2.StartRightsRequestRequest(request_id=filed.request.request_id),
        metadata=stubs.metadata,
    )
    assert started.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IN_PROGRESS
    # Clicked again while it is open: the same request (three clicks made three, each with
    # its deadline, two left open after the first was done).
    again = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_PORT, subject=_ref(JEANNE)
        ),
        metadata=bearer(portal.token(JEANNE)),
    )
    assert again.request.request_id == filed.request.request_id
    assert again.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IN_PROGRESS
    listed = await rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(), metadata=stubs.metadata
    )
    assert [r.request_id for r in listed.requests] == [filed.request.request_id]


async def test_portal_cannot_touch_another_person(
    app: App, stubs: Stubs, portal: Portal, people: People, tenant: Tenant
) -> None:
    """Naming Paul (by email, external id or subject id) with Jeanne's token is
    PERMISSION_DENIED on every RPC, changes nothing, and answers exactly as for a subject id
    that exists nowhere (so the denial reveals nothing about Paul)."""
    jeanne = _as(stubs, portal.token(JEANNE))
    before = await row_counts(app, tenant.tenant_id)
    paul_refs = [
        types_pb2.SubjectRef(email="paul@example.fr"),
        _ref(PAUL),
        by_id(people.paul),
        by_id(str(uuid4())),
    ]
    answers: dict[str, list[Any]] = {"current": [], "history": [], "withdraw": [], "all": []}
    for ref in paul_refs:
        calls = {
            "current": current(jeanne, ref),
            "history": history(jeanne, ref),
            "withdraw": withdraw(jeanne, ref, target("newsletter")),
            "all": withdraw(jeanne, ref, everything=True),
        }
        for name, call in calls.items():
            error = await fails(call)
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED, (name, ref)
            answers[name].append(answer_of(error))
    for name, found in answers.items():
        assert found[2] == found[3], f"{name}: Paul's id answers unlike an unknown id"
    assert await row_counts(app, tenant.tenant_id) == before
    paul = await current(stubs, _ref(PAUL))
    assert {c.state for c in paul.consents} == {types_pb2.CONSENT_STATE_GRANTED}


async def test_portal_cannot_record_or_change_the_catalogue(
    stubs: Stubs, portal: Portal, people: People
) -> None:
    """A portal token may not RecordConsent for anyone but its own person named as the token
    names them (it opts them back in: the preference centre), nor PutPurpose."""
    jeanne = _as(stubs, portal.token(JEANNE))
    own_and_more = types_pb2.SubjectIdentity(external_id=JEANNE, email="other@example.fr")
    calls = [
        record(jeanne, own_and_more, grant(target("newsletter"))),
        record(jeanne, types_pb2.SubjectIdentity(external_id=PAUL), grant(target("newsletter"))),
        put_purpose(jeanne, "hijack"),
        jeanne.catalog.PublishNotice(
            catalog_pb2.PublishNoticeRequest(notice_id="n", content="x"), metadata=jeanne.metadata
        ),
        jeanne.consent.CheckConsent(
            consent_pb2.CheckConsentRequest(subject=_ref(JEANNE), target=target("newsletter")),
            metadata=jeanne.metadata,
        ),
    ]
    for call in calls:
        assert (await fails(call)).code() == grpc.StatusCode.PERMISSION_DENIED


async def test_bad_portal_tokens_are_unauthenticated(
    stubs: Stubs,
    admin: AdminUseCases,
    portal: Portal,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wrong audience or issuer, expired, longer than 24 hours from its `iat` or from now, times
    that are not numbers, signed by another key, `alg: none`, HS256 keyed with
    the public key, a tenant claim naming another tenant (even one trusting the same issuer
    name), missing claims: all get the one UNAUTHENTICATED answer of no credentials."""
    other = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    # The other tenant trusts an issuer of the same name and audience, with its own key.
    other_portal = await register_portal(admin, other, portal.issuer, portal.audience)
    stranger = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    claims = portal.claims(JEANNE)
    other_private, _ = es256_key_pair()
    tokens = {
        "wrong audience": portal.token(JEANNE, aud="someone-else"),
        "no audience match in a list": portal.token(JEANNE, aud=["a", "b"]),
        "wrong issuer": portal.token(JEANNE, iss="https://evil.example"),
        "expired": portal.token(JEANNE, exp=int(time.time()) - 120),
        "valid for more than a day": portal.token(JEANNE, exp=int(time.time()) + 2 * 86400),
        # Probes P and R: 30 days long, good in its last day; `exp` as a JSON string.
        "issued 30 days before its last hour": portal.token(
            JEANNE, iat=int(time.time()) - 30 * 86400, exp=int(time.time()) + 3600
        ),
        "exp a string": portal.token(JEANNE, exp=str(int(time.time()) + 3600)),
        "iat a string": portal.token(JEANNE, iat=str(int(time.time()))),
        # Probe AN: the C library refused it with OSError, answered as a lost database.
        "iat -2**63": portal.token(JEANNE, iat=-(2**63)),
        "iat before 1970": portal.token(JEANNE, iat=-1),
        "another key": jwt.encode(claims, other_private, algorithm="ES256"),
        "alg none": unsigned_token(claims, {"alg": "none", "typ": "JWT"}),
        "alg none with signature": unsigned_token(claims, {"alg": "none"}, b"sig"),
        "HS256 with the public key": hs256_token(claims, portal.public_pem.encode()),
        "tid of a tenant trusting the issuer name": portal.token(JEANNE, tid=str(other.tenant_id)),
        "tid of a tenant without issuer": portal.token(JEANNE, tid=str(stranger.tenant_id)),
        "tid not a uuid": portal.token(JEANNE, tid="acme"),
        # One spelling of the tenant's id: the canonical one (probe AN).
        "tid in upper case": portal.token(JEANNE, tid=claims["tid"].upper()),
        "tid as a urn": portal.token(JEANNE, tid=f"urn:uuid:{claims['tid']}"),
        "tid without dashes": portal.token(JEANNE, tid=claims["tid"].replace("-", "")),
        "tid as a number": portal.token(JEANNE, tid=12),
        "empty subject": portal.token(JEANNE, sub=""),
        "signed by the other tenant for this tenant": other_portal.token(JEANNE, tid=claims["tid"]),
        **{
            f"no {name}": portal.token_without(name, JEANNE)
            for name in ("exp", "aud", "iss", "sub", "tid")
        },
        "tampered subject": _tamper(portal.token(JEANNE), portal.token(PAUL)),
    }
    no_credentials = answer_of(await fails(current(replace(stubs, metadata=()), _ref(JEANNE))))
    assert no_credentials[0] == grpc.StatusCode.UNAUTHENTICATED
    await current(_as(stubs, portal.token(JEANNE)), _ref(JEANNE))  # a good token works
    monkeypatch.setattr(token_refusals, "_said", {})
    with capture_logs() as logs:
        answers = {
            name: answer_of(await fails(current(_as(stubs, token), _ref(JEANNE))))
            for name, token in tokens.items()
        }
    assert {name: a for name, a in answers.items() if a != no_credentials} == {}
    # The operator is told why, the caller is not (probe AJ), never a claim's value.
    reasons = {e["reason"] for e in logs if e["event"] == "portal_token_refused"}
    assert {
        "InvalidAudienceError",
        "ExpiredSignatureError",
        "lifetime_over_24_hours",
        "tid_not_the_tenant_uuid",
        "no_tid_or_iss_claim",
        "no_such_issuer_for_tid",
        "InvalidSignatureError",
        "algorithm_not_es256_or_rs256",
        "sub_not_an_external_id",  # the empty subject (probe FE: said "InvalidInput")
    } <= reasons, reasons
    assert not any("acme" in str(e) or JEANNE in str(e) for e in logs)


def _tamper(token: str, donor: str) -> str:
    """Jeanne's header and signature around Paul's claims."""
    head, _, signature = token.split(".")
    return f"{head}.{donor.split('.')[1]}.{signature}"


async def test_a_persons_withdrawal_over_a_systems_is_recorded(
    stubs: Stubs, portal: Portal, people: People
) -> None:
    """Probe CH: a system's withdrawal of the newsletter was current (bounce handling); the
    person's own withdrawal from the preference centre answered with it and recorded nothing,
    and the CRM's next grant was ALLOW. The person's is recorded over a system's, and stands."""
    jeanne = _as(stubs, portal.token(JEANNE))
    news = target("newsletter")
    bounce = consent_pb2.WithdrawConsentRequest(
        subject=_ref(JEANNE), targets=[news], source=types_pb2.SOURCE_API
    )
    await stubs.consent.WithdrawConsent(bounce, metadata=stubs.metadata)
    mine = await withdraw(jeanne, _ref(JEANNE), news)
    assert [e.source for e in mine.events] == [types_pb2.SOURCE_PORTAL]
    again = await withdraw(jeanne, _ref(JEANNE), news)
    assert [e.event_id for e in again.events] == [mine.events[0].event_id]
    await _crm_grant_refused(stubs, news)


async def test_a_portal_withdrawal_is_the_persons_whatever_source_it_names(
    stubs: Stubs, portal: Portal, people: People
) -> None:
    """Probe EA: a portal token's withdrawal naming SOURCE_IMPORT was recorded as a system's
    "no", and a CRM's grant then undid it (ALLOW). A portal token is the person: SOURCE_PORTAL,
    and the CRM's grant is refused."""
    jeanne = _as(stubs, portal.token(JEANNE))
    news = target("newsletter")
    mine = await jeanne.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(
            subject=_ref(JEANNE), targets=[news], source=types_pb2.SOURCE_IMPORT, actor="sync"
        ),
        metadata=jeanne.metadata,
    )
    assert [e.source for e in mine.events] == [types_pb2.SOURCE_PORTAL]
    await _crm_grant_refused(stubs, news)


async def _crm_grant_refused(stubs: Stubs, news: types_pb2.ConsentTarget) -> None:
    """A CRM's grant of `news` to Jeanne (SOURCE_API) is refused: her "no" stands."""
    crm = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id=JEANNE),
        choices=[grant(news)],
        source=types_pb2.SOURCE_API,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.consent.RecordConsent(crm, metadata=stubs.metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
