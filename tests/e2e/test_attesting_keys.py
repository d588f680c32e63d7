"""Only a caller that speaks for the person lifts their objection or takes back an address
erased at their request: any consent:write key could say SOURCE_PORTAL, and a CRM sync's key
saying so made the objector's and the erased person's checks ALLOW (probe X). A key with
consent:attest (a portal backend, a support desk) or admin may; a plain write key's grant in
person is a system's there, and stays an ordinary grant everywhere else."""

from __future__ import annotations

from dataclasses import replace

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
    crm, _ = await _keys(stubs, admin, tenant)
    written = await _grant(crm, "newcomer@example.fr", types_pb2.SOURCE_BANNER)
    assert written.events[0].source == types_pb2.SOURCE_BANNER
    allowed = await check(stubs, by_email("newcomer@example.fr"), NEWSLETTER)
    assert allowed.decision == consent_pb2.DECISION_ALLOW
