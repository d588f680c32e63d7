"""Only a caller that speaks for the person lifts their objection or takes back an address
erased at their request: any consent:write key could say SOURCE_PORTAL, and a CRM sync's key
saying so made the objector's and the erased person's checks ALLOW (probe X). A key with
consent:attest (a portal backend, a support desk) or admin may; a plain write key's grant in
person is a system's there, and stays an ordinary grant everywhere else."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import grpc
import pytest
from consent.v1 import consent_pb2, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import by_email, check, error_info, grant, put_purpose, record, target
from tests.e2e.security_helpers import issue

NEWSLETTER = target("newsletter")
IN_PERSON = (types_pb2.SOURCE_PORTAL, types_pb2.SOURCE_BANNER, types_pb2.SOURCE_SUPPORT)


async def _keys(stubs: Stubs, admin: AdminUseCases, tenant: Tenant) -> tuple[Stubs, Stubs]:
    """Stubs with a plain write key (a CRM sync's), and with a write + attest key (a portal's)."""
    crm = await issue(admin, tenant, Scope.WRITE.value, Scope.CHECK.value)
    portal = await issue(admin, tenant, Scope.WRITE.value, Scope.ATTEST.value)
    return replace(stubs, metadata=bearer(crm)), replace(stubs, metadata=bearer(portal))


async def _grant(
    stubs: Stubs, email: str, source: types_pb2.Source.ValueType, keyed: str = ""
) -> consent_pb2.RecordConsentResponse:
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=email), choices=[grant(NEWSLETTER)], source=source
    )
    extra = (("idempotency-key", keyed),) if keyed else ()
    return await stubs.consent.RecordConsent(request, metadata=(*stubs.metadata, *extra))


async def _refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION, raised.value.details()
    assert "consent:attest" in str(raised.value.details())
    return raised.value


@pytest.mark.parametrize("erased", [False, True], ids=["objected", "objected then erased"])
async def test_a_write_key_saying_portal_does_not_lift_an_objection(
    app: App, stubs: Stubs, admin: AdminUseCases, tenant: Tenant, erased: bool
) -> None:
    await put_purpose(stubs, "newsletter")
    email = "objector@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    principal = Principal(tenant=tenant, caller="dpo", scopes=frozenset({Scope.ADMIN}))
    await app.rights.object(principal, normalise_email(email))
    if erased:
        await app.rights.erase(principal, normalise_email(email), "dpo")
    crm, portal = await _keys(stubs, admin, tenant)
    code = "CONTACT_POINT_ERASED" if erased else "OBJECTION_IN_FORCE"
    for source in IN_PERSON:
        for keyed in ("", f"sync-{source}"):  # the grouped path and the one-call path
            refused = await _refused(_grant(crm, email, source, keyed))
            assert error_info(refused).reason == code
    denied = await check(stubs, by_email(email), NEWSLETTER)
    assert denied.decision == consent_pb2.DECISION_DENY
    await _grant(portal, email, types_pb2.SOURCE_PORTAL)
    allowed = await check(stubs, by_email(email), NEWSLETTER)
    assert allowed.decision == consent_pb2.DECISION_ALLOW


async def test_a_write_key_saying_portal_is_an_ordinary_grant_elsewhere(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant
) -> None:
    """No objection, no closed address: the plain key's grant in person is kept as it said."""
    await put_purpose(stubs, "newsletter")
    crm, portal = await _keys(stubs, admin, tenant)
    written = await _grant(crm, "newcomer@example.fr", types_pb2.SOURCE_BANNER)
    assert written.events[0].source == types_pb2.SOURCE_BANNER
    # The event says its caller did not speak for the person; the portal's says it did.
    assert (written.events[0].HasField("attested"), written.events[0].attested) == (True, False)
    vouched = await _grant(portal, "newcomer@example.fr", types_pb2.SOURCE_PORTAL)
    assert vouched.events[0].attested
    allowed = await check(stubs, by_email("newcomer@example.fr"), NEWSLETTER)
    assert allowed.decision == consent_pb2.DECISION_ALLOW


async def test_a_write_key_saying_portal_does_not_take_back_an_erased_address(
    app: App, stubs: Stubs, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Probe Y: an erased address handed to another customer (RectifyContact), then a plain
    write key's PORTAL grant for that customer's phone, and the CRM's grant for the address was
    taken: "came back in person" read the stored source only. Each event now keeps whether its
    caller speaks for the person; the portal's grant does take the address back, when it is
    a grant of e-mail (probe BN: one for the phone took the address back too)."""
    await put_purpose(stubs, "newsletter")
    dpo = Principal(tenant=tenant, caller="dpo", scopes=frozenset({Scope.ADMIN}))
    old, phone = "erased-then-handed@example.fr", "+33698765401"
    await record(stubs, types_pb2.SubjectIdentity(email=old), grant(NEWSLETTER))
    await app.rights.erase(dpo, normalise_email(old), "dpo")
    sms = target("newsletter", types_pb2.CHANNEL_SMS)
    await record(stubs, types_pb2.SubjectIdentity(phone=phone), grant(sms))
    held = await stubs.consent.GetSubjectConsents(
        consent_pb2.GetSubjectConsentsRequest(subject=types_pb2.SubjectRef(phone=phone)),
        metadata=stubs.metadata,
    )
    await app.rights.rectify(dpo, UUID(held.subject_id), normalise_email(old), "support")
    crm, portal = await _keys(stubs, admin, tenant)
    by_phone = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(phone=phone),
        choices=[grant(sms)],
        source=types_pb2.SOURCE_PORTAL,
    )
    await crm.consent.RecordConsent(by_phone, metadata=crm.metadata)  # an ordinary grant
    refused = await _refused(_grant(crm, old, types_pb2.SOURCE_API))
    assert error_info(refused).reason == "CONTACT_POINT_ERASED"
    assert (await check(stubs, by_email(old), NEWSLETTER)).decision == consent_pb2.DECISION_DENY
    await portal.consent.RecordConsent(by_phone, metadata=portal.metadata)
    refused = await _refused(_grant(crm, old, types_pb2.SOURCE_API))
    assert error_info(refused).reason == "CONTACT_POINT_ERASED"
    in_person = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(phone=phone),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_PORTAL,
    )
    await portal.consent.RecordConsent(in_person, metadata=portal.metadata)
    await _grant(crm, old, types_pb2.SOURCE_API)
    allowed = await check(stubs, by_email(old), NEWSLETTER)
    assert allowed.decision == consent_pb2.DECISION_ALLOW
    # The person's export says which grant in person came from a caller speaking for them.
    document = await app.rights.export(dpo, UUID(held.subject_id))
    said = [(e["source"], e["attested"]) for e in document["consent_history"]]
    assert said == [
        ("portal", True),
        ("portal", False),
        ("portal", True),
        ("portal", True),
        ("api", False),
    ]
