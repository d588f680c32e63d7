"""Rights requests moved while the person is erased, and filed again through the portal."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from consent.v1 import retention_pb2, retention_pb2_grpc, rights_pb2, rights_pb2_grpc, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import DENY, by_email, check, grant, put_purpose, record, target
from tests.e2e.security_helpers import register_portal

ERASE, ACCESS = rights_pb2.RIGHTS_REQUEST_KIND_ERASE, rights_pb2.RIGHTS_REQUEST_KIND_ACCESS
PAIRS = 12


async def _started(rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, email: str) -> str:
    """An erase request of a new person, verified and in progress."""
    await record(stubs, types_pb2.SubjectIdentity(email=email), grant(target("newsletter")))
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(kind=ERASE, subject=by_email(email)),
        metadata=stubs.metadata,
    )
    request_id = submitted.request.request_id
    await rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by="desk"),
        metadata=stubs.metadata,
    )
    await rights.StartRightsRequest(
        rights_pb2.StartRightsRequestRequest(request_id=request_id), metadata=stubs.metadata
    )
    return request_id


async def _status(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_request_moved_while_its_person_is_erased_never_fails_internal(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe DO: CompleteRightsRequest (erase) or RefuseRightsRequest at the moment of an
    EraseSubject of the same person deadlocked (INTERNAL, 6 calls of 40): the transition locked
    the request, then the subject; the erasure the subject, then its open requests."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    emails = [f"race-{n}@example.fr" for n in range(PAIRS)]
    requests = [await _started(rights, stubs, email) for email in emails]
    calls = []
    for n, (email, request_id) in enumerate(zip(emails, requests, strict=True)):
        move = (
            rights.CompleteRightsRequest(
                rights_pb2.CompleteRightsRequestRequest(request_id=request_id, outcome="erased"),
                metadata=stubs.metadata,
            )
            if n % 2
            else rights.RefuseRightsRequest(
                rights_pb2.RefuseRightsRequestRequest(request_id=request_id, reason="duplicate"),
                metadata=stubs.metadata,
            )
        )
        erase = rights.EraseSubject(
            rights_pb2.EraseSubjectRequest(subject=by_email(email), actor="dpo"),
            metadata=stubs.metadata,
        )
        calls += [_status(move), _status(erase)]
    found = await asyncio.gather(*calls)
    acceptable = {grpc.StatusCode.OK, grpc.StatusCode.FAILED_PRECONDITION}
    assert set(found) <= acceptable, found
    for email in emails:
        answer = await check(stubs, by_email(email), target("newsletter"))
        assert answer.decision == DENY


async def test_a_request_filed_by_the_operator_is_verified_by_the_persons_portal_token(
    admin: AdminUseCases, tenant: Tenant, stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe DO: the person filing through the portal was answered with their open request as
    it stood (RECEIVED: filed by an operator, no code entered), not verified by their token."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    own = types_pb2.SubjectIdentity(external_id="portal-again")
    await record(stubs, own, grant(target("newsletter")))
    ref = types_pb2.SubjectRef(external_id="portal-again")
    access = rights_pb2.SubmitRightsRequestRequest(kind=ACCESS, subject=ref)
    filed = await rights.SubmitRightsRequest(access, metadata=stubs.metadata)
    assert filed.request.state == rights_pb2.RIGHTS_REQUEST_STATE_RECEIVED
    portal = await register_portal(admin, tenant)
    me = bearer(portal.token("portal-again"))
    again = await rights.SubmitRightsRequest(access, metadata=me)
    assert again.request.request_id == filed.request.request_id
    assert again.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED
    assert again.request.verification_method == "portal_token"
    twice = await rights.SubmitRightsRequest(access, metadata=me)
    assert (twice.request.request_id, twice.request.state) == (
        filed.request.request_id,
        rights_pb2.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED,
    )


@pytest.mark.parametrize("reason", ["case 12\nsecond line", "case \u202e21", "a\rb"])
async def test_a_legal_hold_reason_is_one_line(
    stubs: Stubs, channel: grpc.aio.Channel, reason: str
) -> None:
    """Probe DO: line breaks and bidi controls were kept in the reason `consentd retention run`
    prints and the log says, where every other operator's text refuses them."""
    retention = retention_pb2_grpc.RetentionServiceStub(channel)
    settings = retention_pb2.RetentionSettings(legal_hold=True, legal_hold_reason=reason)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await retention.PutRetentionSettings(
            retention_pb2.PutRetentionSettingsRequest(settings=settings), metadata=stubs.metadata
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(raised.value.details()).startswith("settings.legal_hold_reason: must")
    settings.legal_hold_reason = "  case 12  "
    kept = await retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=settings), metadata=stubs.metadata
    )
    assert kept.settings.legal_hold_reason == "case 12"


async def _refused_then_resent(
    rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, *, verified: bool
) -> grpc.aio.AioRpcError:
    """An erase request refused (its identity verified first, or not), then a code asked for."""
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(kind=ERASE, subject=by_email("closed@example.fr")),
        metadata=stubs.metadata,
    )
    request_id = submitted.request.request_id
    if verified:
        await rights.ConfirmIdentity(
            rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by="desk"),
            metadata=stubs.metadata,
        )
    await rights.RefuseRightsRequest(
        rights_pb2.RefuseRightsRequestRequest(request_id=request_id, reason="unfounded"),
        metadata=stubs.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await rights.ResendVerificationCode(
            rights_pb2.ResendVerificationCodeRequest(
                request_id=request_id, send_code_to=rights_pb2.CONTACT_KIND_EMAIL
            ),
            metadata=stubs.metadata,
        )
    return raised.value


async def test_a_code_for_a_refused_request_says_it_is_closed(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe DO: a code asked for a request refused before anyone verified it was told "the
    identity of this request is verified already"; so was one verified, then refused (DQ)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    await record(
        stubs, types_pb2.SubjectIdentity(email="closed@example.fr"), grant(target("newsletter"))
    )
    for verified in (False, True):
        error = await _refused_then_resent(rights, stubs, verified=verified)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error.details() == "this request is refused (closed): no code is needed for it"
