"""The person's own writes on the browser port (what the preference centre calls): a portal
token withdraws its own consent over Connect from an allowed origin, with the withdrawal in
force for native gRPC checks when the answer arrives; another origin, another person or a
wider key from a page is refused and changes nothing. Two clicks on one confirmation link race:
exactly one confirms."""

from __future__ import annotations

import asyncio
import json

import grpc
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import ALLOW, DENY, check, grant, put_purpose, record, target, withdraw
from tests.e2e.mailbox import Mailbox, token_of
from tests.e2e.security_helpers import register_portal
from tests.e2e.test_browser_port import SHOP, allow_origin, auth, http, prefix

WITHDRAW = "/consent.v1.ConsentService/WithdrawConsent"
NEWSLETTER = {
    "purpose": "newsletter",
    "channel": "CHANNEL_EMAIL",
    "scope": "PARTY_SCOPE_FIRST_PARTY",
}


def _withdraw_body(external_id: str) -> dict[str, object]:
    return {
        "subject": {"externalId": external_id},
        "targets": [NEWSLETTER],
        "source": "SOURCE_PORTAL",
        "actor": "self",
    }


async def test_a_portal_token_withdraws_over_connect_only_from_an_allowed_origin(
    http_port: int, tenant: Tenant, stubs: Stubs, admin: AdminUseCases
) -> None:
    """Allowed origin: 200 and the native check is DENY withdrawn; another origin, or another
    person's subject: refused, and the consent is still ALLOW."""
    await put_purpose(stubs, "newsletter")
    for person in ("crm-ana", "crm-bob"):
        await record(
            stubs, types_pb2.SubjectIdentity(external_id=person), grant(target("newsletter"))
        )
    await allow_origin(stubs, SHOP)
    portal = await register_portal(admin, tenant)
    path = f"{prefix(tenant)}{WITHDRAW}"
    ana = portal.token("crm-ana")
    bob_ref = types_pb2.SubjectRef(external_id="crm-bob")
    ana_ref = types_pb2.SubjectRef(external_id="crm-ana")

    for body, headers, code in (
        (_withdraw_body("crm-ana"), auth(ana, Origin="https://evil.example"), "permission_denied"),
        (_withdraw_body("crm-bob"), auth(ana, Origin=SHOP), "permission_denied"),
    ):
        status, _, answer = await http(http_port, path, body, headers)
        assert (status, json.loads(answer)["code"]) == (403, code)
    for ref in (ana_ref, bob_ref):
        assert (await check(stubs, ref, target("newsletter"))).decision == ALLOW

    status, headers, answer = await http(
        http_port, path, _withdraw_body("crm-ana"), auth(ana, Origin=SHOP)
    )
    assert status == 200, answer
    assert headers["access-control-allow-origin"] == SHOP
    denied = await check(stubs, ana_ref, target("newsletter"))
    assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_WITHDRAWN)
    assert (await check(stubs, bob_ref, target("newsletter"))).decision == ALLOW


async def test_two_clicks_on_one_link_confirm_once(
    mailing: Stubs, mail: tuple[Mailbox, int]
) -> None:
    """Concurrent ConfirmConsent with one token: one OK with the grant, one FAILED_PRECONDITION,
    and exactly one granted event recorded."""
    purpose = catalog_pb2.Purpose(
        purpose_id="newsletter",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        requires_confirmation=True,
    )
    await mailing.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=mailing.metadata
    )
    address = "race@example.fr"
    await record(mailing, types_pb2.SubjectIdentity(email=address), grant(target("newsletter")))
    (message,) = await mail[0].wait_for(address)
    request = consent_pb2.ConfirmConsentRequest(token=token_of(message))

    outcomes = await asyncio.gather(
        mailing.consent.ConfirmConsent(request, metadata=mailing.metadata),
        mailing.consent.ConfirmConsent(request, metadata=mailing.metadata),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, consent_pb2.ConfirmConsentResponse)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1
    assert len(won[0].events) == 1
    assert [e.code() for e in lost] == [grpc.StatusCode.FAILED_PRECONDITION]
    history = await mailing.consent.ListConsentHistory(
        consent_pb2.ListConsentHistoryRequest(subject=types_pb2.SubjectRef(email=address)),
        metadata=mailing.metadata,
    )
    assert [e.state for e in history.events] == [
        types_pb2.CONSENT_STATE_GRANTED,
        types_pb2.CONSENT_STATE_PENDING,
    ]


async def test_a_portal_withdrawal_keeps_the_browsers_user_agent_not_the_pages(
    http_port: int,
    tenant: Tenant,
    stubs: Stubs,
    admin: AdminUseCases,
    channel: grpc.aio.Channel,
) -> None:
    """The evidence of a person's withdrawal on the browser port is the request's user agent
    and address: a page's body claimed "forged-UA" and it was kept (probe HD)."""
    await put_purpose(stubs, "newsletter")
    await record(
        stubs, types_pb2.SubjectIdentity(external_id="crm-eva"), grant(target("newsletter"))
    )
    await allow_origin(stubs, SHOP)
    portal = await register_portal(admin, tenant)
    body = {
        **_withdraw_body("crm-eva"),
        "evidence": {"ipAddress": "9.9.9.9", "userAgent": "forged-UA"},
    }
    headers = auth(portal.token("crm-eva"), Origin=SHOP, **{"User-Agent": "real-UA/1.0"})
    status, _, answer = await http(http_port, f"{prefix(tenant)}{WITHDRAW}", body, headers)
    assert status == 200, answer
    exported = await rights_pb2_grpc.RightsServiceStub(channel).ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=types_pb2.SubjectRef(external_id="crm-eva")),
        metadata=stubs.metadata,
    )
    history = json.loads(exported.document_json)["consent_history"]
    (withdrawal,) = (e for e in history if e["state"] == "withdrawn")
    assert withdrawal["evidence"]["user_agent"] == "real-UA/1.0"
    assert withdrawal["evidence"]["ip_address"] == "127.0.0.1"


async def test_a_link_still_valid_after_the_erasure_finds_nobody_and_makes_nobody(
    http_port: int,
    tenant: Tenant,
    stubs: Stubs,
    admin: AdminUseCases,
    channel: grpc.aio.Channel,
) -> None:
    """The person erased, their portal link still valid: a withdrawal of everything made a new
    subject holding their external id again, and an erasure request filed a new request for
    it; the page read "no consent recorded" with every button on (probe HD). Each call is
    NOT_FOUND (SUBJECT_ERASED), which the page says as "we no longer hold data in your name",
    and nothing is made."""
    await put_purpose(stubs, "newsletter")
    person = types_pb2.SubjectRef(external_id="crm-carol")
    await record(
        stubs, types_pb2.SubjectIdentity(external_id="crm-carol"), grant(target("newsletter"))
    )
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=person), metadata=stubs.metadata
    )
    await allow_origin(stubs, SHOP)
    headers = auth((await register_portal(admin, tenant)).token("crm-carol"), Origin=SHOP)
    regrant = {
        "subject": {"externalId": "crm-carol"},
        "choices": [{"target": NEWSLETTER, "state": "CONSENT_STATE_GRANTED"}],
        "source": "SOURCE_PORTAL",
    }
    calls = (
        # "Accepter à nouveau" on a page loaded before the erasure made them anew (probe HH).
        ("/consent.v1.ConsentService/RecordConsent", regrant),
        (
            WITHDRAW,
            {"subject": {"externalId": "crm-carol"}, "all": True, "source": "SOURCE_PORTAL"},
        ),
        (
            "/consent.v1.RightsService/SubmitRightsRequest",
            {"subject": {"externalId": "crm-carol"}, "kind": "RIGHTS_REQUEST_KIND_ERASE"},
        ),
        ("/consent.v1.ConsentService/GetSubjectConsents", {"subject": {"externalId": "crm-carol"}}),
    )
    for method, body in calls:
        status, _, answer = await http(http_port, f"{prefix(tenant)}{method}", body, headers)
        refused = json.loads(answer)
        assert (status, refused["code"]) == (404, "not_found"), (method, answer)
        assert "erased on" in refused["message"], method
    listed = await rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(), metadata=stubs.metadata
    )
    assert list(listed.requests) == []
    held = await stubs.consent.GetSubjectConsents(
        consent_pb2.GetSubjectConsentsRequest(subject=person), metadata=stubs.metadata
    )
    assert (held.subject_id, list(held.consents)) == ("", [])


async def test_a_portal_token_opts_its_own_person_back_in_and_no_one_else(
    http_port: int, tenant: Tenant, stubs: Stubs, admin: AdminUseCases
) -> None:
    """The preference centre could only take consent back (probe GG). A portal token records
    its person's grant, named as the token names them: in person (source portal, whatever the
    body says), so it lifts their own withdrawal; naming another person, or adding an address
    to their record, is refused and writes nothing."""
    await put_purpose(stubs, "newsletter")
    ana = types_pb2.SubjectRef(external_id="crm-ana-again")
    await record(
        stubs, types_pb2.SubjectIdentity(external_id="crm-ana-again"), grant(target("newsletter"))
    )
    await withdraw(stubs, ana, target("newsletter"))
    await allow_origin(stubs, SHOP)
    headers = auth((await register_portal(admin, tenant)).token("crm-ana-again"), Origin=SHOP)
    path = f"{prefix(tenant)}/consent.v1.ConsentService/RecordConsent"
    choice = {"target": NEWSLETTER, "state": "CONSENT_STATE_GRANTED"}
    for subject in (
        {"externalId": "crm-bob-again"},
        {"externalId": "crm-ana-again", "email": "attacker@example.fr"},
        {"email": "ana@example.fr"},
    ):
        body = {"subject": subject, "choices": [choice], "source": "SOURCE_API", "actor": "self"}
        status, _, answer = await http(http_port, path, body, headers)
        assert (status, json.loads(answer)["code"]) == (403, "permission_denied"), subject
        assert (await check(stubs, ana, target("newsletter"))).decision == DENY
    body = {"subject": {"externalId": "crm-ana-again"}, "choices": [choice], "source": "SOURCE_API"}
    status, _, answer = await http(http_port, path, body, headers)
    assert status == 200, answer
    allowed = await check(stubs, ana, target("newsletter"))
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    (event,) = json.loads(answer)["events"]
    assert event["source"] == "SOURCE_PORTAL"


async def test_a_portal_grant_racing_the_erasure_never_makes_the_person_anew(
    http_port: int,
    tenant: Tenant,
    stubs: Stubs,
    admin: AdminUseCases,
    channel: grpc.aio.Channel,
) -> None:
    """Probe HJ: the erased person's check ran in a transaction of its own, before the write:
    a grant racing the erasure passed it, then found nobody holding the external id and made a
    new subject (16 people in 18). The check runs in the write's transaction, under the lock
    the erasure takes: each grant lands on the person before the erasure (then erased with
    them) or is NOT_FOUND after it; nobody holds the id afterwards."""
    await put_purpose(stubs, "newsletter")
    await allow_origin(stubs, SHOP)
    portal = await register_portal(admin, tenant)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    path = f"{prefix(tenant)}/consent.v1.ConsentService/RecordConsent"
    for n in range(5):
        person = f"crm-racer-{n}"
        ref = types_pb2.SubjectRef(external_id=person)
        await record(
            stubs, types_pb2.SubjectIdentity(external_id=person), grant(target("newsletter"))
        )
        headers = auth(portal.token(person), Origin=SHOP)
        body = {
            "subject": {"externalId": person},
            "choices": [{"target": NEWSLETTER, "state": "CONSENT_STATE_GRANTED"}],
            "source": "SOURCE_PORTAL",
        }
        erasure = rights.EraseSubject(
            rights_pb2.EraseSubjectRequest(subject=ref), metadata=stubs.metadata
        )
        grants = [http(http_port, path, body, headers) for _ in range(8)]
        answers = await asyncio.gather(erasure, *grants)
        assert all(status in (200, 400, 404) for status, _, _ in answers[1:]), answers[1:]
        held = await stubs.consent.GetSubjectConsents(
            consent_pb2.GetSubjectConsentsRequest(subject=ref), metadata=stubs.metadata
        )
        assert held.subject_id == "", (person, held)
        denied = await check(stubs, ref, target("newsletter"))
        assert (denied.decision, denied.reason) == (DENY, consent_pb2.REASON_ERASED), person
