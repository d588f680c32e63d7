"""RightsService, AuditService and RetentionService through the generated stubs, as a DPO's
tools would call them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    consent_pb2,
    cookies_pb2,
    retention_pb2,
    retention_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from structlog.testing import capture_logs

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.deadline_watch import say_deadlines
from consentd.domain.canonical import canonical
from consentd.domain.months import add_months
from consentd.domain.rights import WORDS_ERASED
from consentd.domain.tenancy import Scope, Tenant
from consentd.store.tables import audit_entries, audit_queue
from consentd.telemetry.metrics import Metrics
from tests.conftest import Stubs, TestClock, bearer, command_env, owner
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    LEGITIMATE_INTEREST,
    by_email,
    check,
    error_info,
    grant,
    put_purpose,
    record,
    stamp,
    target,
    withdraw,
)
from tests.e2e.security_helpers import logged_payloads, register_portal

PERSON = types_pb2.SubjectIdentity(email="Lea@Example.fr", phone="+33622334455")


class RightsStubs:
    def __init__(self, channel: grpc.aio.Channel, stubs: Stubs) -> None:
        self.rights = rights_pb2_grpc.RightsServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.retention = retention_pb2_grpc.RetentionServiceStub(channel)
        self.metadata = stubs.metadata


@pytest.fixture
def dpo(channel: grpc.aio.Channel, stubs: Stubs) -> RightsStubs:
    return RightsStubs(channel, stubs)


async def _person(stubs: Stubs, role: int = types_pb2.PROCESSING_ROLE_UNSPECIFIED) -> str:
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "b2b", LEGITIMATE_INTEREST)
    request = consent_pb2.RecordConsentRequest(
        subject=PERSON,
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_PORTAL,
        processing_role=role,  # type: ignore[arg-type]
    )
    return (await stubs.consent.RecordConsent(request, metadata=stubs.metadata)).subject_id


async def _export(dpo: RightsStubs, ref: types_pb2.SubjectRef) -> dict[str, Any]:
    response = await dpo.rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=ref), metadata=dpo.metadata
    )
    assert response.schema == "consentd.subject-export/1"
    document: dict[str, Any] = json.loads(response.document_json)
    return document


async def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value.code()


async def test_export_shows_identity_history_and_the_processing_role(
    stubs: Stubs, dpo: RightsStubs, app: App, tenant: Tenant
) -> None:
    """The export is machine-readable JSON with the identifiers in clear, the history, and the
    controller-or-processor role of each consent."""
    subject_id = await _person(stubs, types_pb2.PROCESSING_ROLE_CONTROLLER)
    document = await _export(dpo, by_email("lea@example.fr"))
    assert document["subject"]["subject_id"] == subject_id
    assert sorted(i["value"] for i in document["identity"]) == ["+33622334455", "lea@example.fr"]
    assert [e["processing_role"] for e in document["consent_history"]] == ["controller"]
    assert document["current_consents"][0]["state"] == "granted"
    assert document["rights_requests"] == []
    # Probe CD: an access answered left no trace. Its digest is logged, never its content.
    (payload,) = await logged_payloads(app, tenant, "subject.exported")
    digest = hashlib.sha256(canonical(document)).hexdigest()
    assert (payload["document_sha256"], payload["subject_id"]) == (digest, subject_id)
    assert "lea@example.fr" not in json.dumps(payload)


async def test_an_event_recorded_without_ip_or_user_agent_exports_them_empty(
    stubs: Stubs, dpo: RightsStubs
) -> None:
    """subject-export.md: `ip_address` / `user_agent` are "" when none was given; a
    withdrawal's evidence held its reference alone (probe WA), its keys missing."""
    await _person(stubs)
    await withdraw(stubs, by_email("lea@example.fr"), target("newsletter"))
    document = await _export(dpo, by_email("lea@example.fr"))
    withdrawn = document["consent_history"][-1]
    assert withdrawn["state"] == "withdrawn"
    assert withdrawn["evidence"] == {"reference": "", "ip_address": "", "user_agent": ""}


async def test_erase_then_checks_deny_and_the_chain_verifies(
    stubs: Stubs, dpo: RightsStubs, app: App, tenant: Tenant
) -> None:
    """EraseSubject: the email and phone are DENY erased afterwards, even for a legitimate-
    interest purpose; VerifyAuditChain is ok. Erased again by id, it answers when, and the log
    holds one erasure (probe CF: two)."""
    await _person(stubs)
    erased = await dpo.rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_email("lea@example.fr"), actor="dpo"),
        metadata=dpo.metadata,
    )
    assert erased.identifiers_suppressed == 2
    again = await dpo.rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(
            subject=types_pb2.SubjectRef(subject_id=erased.subject_id), actor="dpo"
        ),
        metadata=dpo.metadata,
    )
    assert (again.erased_at, again.identifiers_suppressed) == (erased.erased_at, 0)
    assert await _logged(app, tenant.tenant_id, "subject.erased") == 1
    for ref in (by_email("LEA@example.fr"), types_pb2.SubjectRef(phone="06 22 33 44 55")):
        for purpose in ("newsletter", "b2b"):
            answer = await check(stubs, ref, target(purpose))
            assert (answer.decision, answer.reason) == (DENY, consent_pb2.REASON_ERASED)
    # A write naming the erased subject by its id (one that waited behind the erasure, or came
    # after it) wrote onto it: the id answered ALLOW or WITHDRAWN again (a probe raced 16
    # writers with the erasure). Refused now, nothing written: the subject stays erased.
    by_id = types_pb2.SubjectRef(subject_id=erased.subject_id)
    late = stubs.consent.WithdrawConsent(
        consent_pb2.WithdrawConsentRequest(subject=by_id, all=True, source=types_pb2.SOURCE_API),
        metadata=stubs.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await late
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value.details()
    assert "the person was erased" in (refused.value.details() or "")
    assert error_info(refused.value).reason == "SUBJECT_ERASED"  # it carried no details at all
    assert (await check(stubs, by_id, target("newsletter"))).reason == consent_pb2.REASON_ERASED
    # A rights request filed by the erased id was taken and could be completed with nothing to
    # act on (found by a probe): refused, saying when the subject was erased.
    filed = dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_id
        ),
        metadata=dpo.metadata,
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await filed
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "the subject was erased at" in (refused.value.details() or "")
    report = await dpo.audit.VerifyAuditChain(
        audit_pb2.VerifyAuditChainRequest(), metadata=dpo.metadata
    )
    assert report.ok
    assert report.bad_seq == 0


async def test_an_objection_for_a_contact_point_nobody_recorded_is_kept(
    stubs: Stubs, dpo: RightsStubs
) -> None:
    """RecordObjection for an address never seen was NOT_FOUND, and the legitimate-interest
    check stayed ALLOW: the person's objection was lost (a withdrawal keeps it). It makes the
    subject and the check is DENY objected; an unknown subject id is still NOT_FOUND."""
    await put_purpose(stubs, "b2b", LEGITIMATE_INTEREST)
    ref = by_email("never-seen-objects@example.fr")
    assert (await check(stubs, ref, target("b2b"))).reason == consent_pb2.REASON_LEGITIMATE_INTEREST
    made = await dpo.rights.RecordObjection(
        rights_pb2.RecordObjectionRequest(subject=ref), metadata=dpo.metadata
    )
    assert made.subject_id
    objected = await check(stubs, ref, target("b2b"))
    assert (objected.decision, objected.reason) == (DENY, consent_pb2.REASON_OBJECTED)
    unknown = types_pb2.SubjectRef(subject_id=str(uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await dpo.rights.RecordObjection(
            rights_pb2.RecordObjectionRequest(subject=unknown), metadata=dpo.metadata
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_restrict_object_and_rectify(stubs: Stubs, dpo: RightsStubs) -> None:
    """Restriction is DENY restricted until lifted; an objection is DENY objected; rectifying
    the email moves the subject to the new address."""
    await _person(stubs)
    ref = by_email("lea@example.fr")
    await dpo.rights.RestrictProcessing(
        rights_pb2.RestrictProcessingRequest(subject=ref), metadata=dpo.metadata
    )
    assert (await check(stubs, ref, target("newsletter"))).reason == consent_pb2.REASON_RESTRICTED
    await dpo.rights.RestrictProcessing(
        rights_pb2.RestrictProcessingRequest(subject=ref, lift=True), metadata=dpo.metadata
    )
    await dpo.rights.RecordObjection(
        rights_pb2.RecordObjectionRequest(subject=ref), metadata=dpo.metadata
    )
    assert (await check(stubs, ref, target("b2b"))).reason == consent_pb2.REASON_OBJECTED
    await dpo.rights.RectifyContact(
        rights_pb2.RectifyContactRequest(
            subject=ref, kind=rights_pb2.CONTACT_KIND_EMAIL, value="lea@nouveau.fr", actor="s1"
        ),
        metadata=dpo.metadata,
    )
    document = await _export(dpo, by_email("lea@nouveau.fr"))
    assert [c["action"] for c in document["contact_history"]] == ["removed", "added"]
    bad_kind = dpo.rights.RectifyContact(
        rights_pb2.RectifyContactRequest(subject=ref, value="x"), metadata=dpo.metadata
    )
    assert await _code(bad_kind) == grpc.StatusCode.INVALID_ARGUMENT
    unknown = dpo.rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_email("nobody@example.fr")),
        metadata=dpo.metadata,
    )
    assert await _code(unknown) == grpc.StatusCode.NOT_FOUND


async def _logged(app: App, tenant_id: UUID, action: str) -> int:
    """The tenant's log entries of `action`, queued or integrated (one snapshot)."""
    counted = [
        sa.select(sa.func.count())
        .where(table.c.tenant_id == tenant_id, table.c.action == action)
        .scalar_subquery()
        for table in (audit_entries, audit_queue)
    ]
    async with owner(app).connect() as conn:
        total: int = (await conn.execute(sa.select(counted[0] + counted[1]))).scalar_one()
    return total


async def test_rectifying_to_an_address_held_changes_only_the_others(
    stubs: Stubs, dpo: RightsStubs, app: App, tenant: Tenant
) -> None:
    """Probe CA: RectifyContact naming the address the subject holds (in any case) wrote a
    removal and an addition of it into the person's history each time, changes that never
    happened (and restarted its holding). It takes away the subject's other addresses only, and
    is no change at all (no history, no audit entry) when there are none."""
    await _person(stubs)
    crm = types_pb2.SubjectIdentity(external_id="crm-1", email="lea@example.fr")
    await record(stubs, crm, grant(target("newsletter")))
    second = types_pb2.SubjectIdentity(external_id="crm-1", email="lea@second.fr")
    await record(stubs, second, grant(target("newsletter")))
    rectify = rights_pb2.RectifyContactRequest(
        subject=types_pb2.SubjectRef(external_id="crm-1"),
        kind=rights_pb2.CONTACT_KIND_EMAIL,
        actor="s1",
    )
    for value in ("LEA@example.fr", "lea@example.fr"):
        rectify.value = value
        await dpo.rights.RectifyContact(rectify, metadata=dpo.metadata)
    document = await _export(dpo, by_email("lea@example.fr"))
    assert [c["action"] for c in document["contact_history"]] == ["removed"]
    assert await _logged(app, tenant.tenant_id, "subject.contact_rectified") == 1
    assert (await check(stubs, by_email("lea@example.fr"), target("newsletter"))).decision == ALLOW
    gone = await check(stubs, by_email("lea@second.fr"), target("newsletter"))
    assert (gone.decision, gone.subject_id) == (DENY, "")


async def test_a_rights_request_from_receipt_to_done(stubs: Stubs, dpo: RightsStubs) -> None:
    """Submit, attest identity, start, extend once, complete; get and list it; bad ids and a
    missing proof are INVALID_ARGUMENT, a second extension FAILED_PRECONDITION."""
    await _person(stubs)
    submitted = await dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_PORT,
            subject=by_email("lea@example.fr"),
            send_code_to=rights_pb2.CONTACT_KIND_EMAIL,
        ),
        metadata=dpo.metadata,
    )
    assert not submitted.code_sent  # no SMTP relay here: the identity is attested below
    request_id = submitted.request.request_id
    assert submitted.request.state == rights_pb2.RIGHTS_REQUEST_STATE_RECEIVED
    no_proof = dpo.rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(request_id=request_id), metadata=dpo.metadata
    )
    assert await _code(no_proof) == grpc.StatusCode.INVALID_ARGUMENT
    wrong = dpo.rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(request_id=request_id, code="12345x"),
        metadata=dpo.metadata,
    )
    assert await _code(wrong) == grpc.StatusCode.INVALID_ARGUMENT
    resent = await dpo.rights.ResendVerificationCode(
        rights_pb2.ResendVerificationCodeRequest(
            request_id=request_id, send_code_to=rights_pb2.CONTACT_KIND_PHONE
        ),
        metadata=dpo.metadata,
    )
    assert not resent.code_sent
    confirmed = await dpo.rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by="dpo"),
        metadata=dpo.metadata,
    )
    assert confirmed.request.verification_method == "operator:dpo"
    assert confirmed.request.HasField("due_at")
    await dpo.rights.StartRightsRequest(
        rights_pb2.StartRightsRequestRequest(request_id=request_id), metadata=dpo.metadata
    )
    # Free text outlives an erasure (request, audit log): addresses and numbers never stay.
    extend = rights_pb2.ExtendRightsRequestRequest(
        request_id=request_id, months=2, reason="plusieurs demandes de lea@example.fr"
    )
    extended = await dpo.rights.ExtendRightsRequest(extend, metadata=dpo.metadata)
    assert extended.request.HasField("extended_due_at")
    # No relay here: the person was not told by consentd, and the request says so.
    assert not extended.request.HasField("person_told_at")
    assert extended.request.extension_reason == "plusieurs demandes de (email)"
    again = dpo.rights.ExtendRightsRequest(extend, metadata=dpo.metadata)
    assert await _code(again) == grpc.StatusCode.FAILED_PRECONDITION
    empty = dpo.rights.CompleteRightsRequest(
        rights_pb2.CompleteRightsRequestRequest(request_id=request_id, actor="d"),
        metadata=dpo.metadata,
    )
    assert await _code(empty) == grpc.StatusCode.INVALID_ARGUMENT  # what was done is required
    # Done only once the person's data was handed over (probe FD: closed with nothing given).
    complete = rights_pb2.CompleteRightsRequestRequest(
        request_id=request_id, outcome="x", actor="d"
    )
    with pytest.raises(grpc.aio.AioRpcError) as unanswered:
        await dpo.rights.CompleteRightsRequest(complete, metadata=dpo.metadata)
    assert unanswered.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "a portability request is answered by the person's data" in str(
        unanswered.value.details()
    )
    await dpo.rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=by_email("lea@example.fr")), metadata=dpo.metadata
    )
    done = await dpo.rights.CompleteRightsRequest(
        rights_pb2.CompleteRightsRequestRequest(
            request_id=request_id, outcome="sent, called 06 12 34 56 78", actor="lea@example.fr"
        ),
        metadata=dpo.metadata,
    )
    assert done.request.state == rights_pb2.RIGHTS_REQUEST_STATE_DONE
    got = await dpo.rights.GetRightsRequest(
        rights_pb2.GetRightsRequestRequest(request_id=request_id), metadata=dpo.metadata
    )
    assert got.request.outcome == "sent, called (phone)"
    listed = await dpo.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(state=rights_pb2.RIGHTS_REQUEST_STATE_DONE),
        metadata=dpo.metadata,
    )
    assert [r.request_id for r in listed.requests] == [request_id]
    overdue = await dpo.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(overdue_only=True), metadata=dpo.metadata
    )
    assert list(overdue.requests) == []
    other = await dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("lea@example.fr")
        ),
        metadata=dpo.metadata,
    )
    refused = await dpo.rights.RefuseRightsRequest(
        rights_pb2.RefuseRightsRequestRequest(
            request_id=other.request.request_id, reason="identité non vérifiable"
        ),
        metadata=dpo.metadata,
    )
    assert refused.request.state == rights_pb2.RIGHTS_REQUEST_STATE_REFUSED
    # Not as consentd wrote it (uuid.UUID took the urn, braces and a full-width digit, which
    # found the request: probe WA); its 32 hex digits, in upper case, are the same id.
    written = refused.request.request_id
    for bad in ("nope", f"urn:uuid:{written}", f"{{{written}}}", "\uff16" + written[1:]):
        bad_id = dpo.rights.GetRightsRequest(
            rights_pb2.GetRightsRequestRequest(request_id=bad), metadata=dpo.metadata
        )
        assert await _code(bad_id) == grpc.StatusCode.INVALID_ARGUMENT, bad
    for same in (written.upper(), written.replace("-", "")):
        got = await dpo.rights.GetRightsRequest(
            rights_pb2.GetRightsRequestRequest(request_id=same), metadata=dpo.metadata
        )
        assert got.request.request_id == written
    no_contact = dpo.rights.ResendVerificationCode(
        rights_pb2.ResendVerificationCodeRequest(request_id=request_id), metadata=dpo.metadata
    )
    assert await _code(no_contact) == grpc.StatusCode.INVALID_ARGUMENT


async def test_code_sent_is_false_when_no_smtp_relay_is_configured(
    stubs: Stubs, dpo: RightsStubs
) -> None:
    """Without an SMTP relay (the service under test has none) no code reaches the person:
    SubmitRightsRequest and ResendVerificationCode answer code_sent false for the subject's
    email and phone alike, as for a contact point not on record (it answered true)."""
    await _person(stubs)
    for kind in (rights_pb2.CONTACT_KIND_EMAIL, rights_pb2.CONTACT_KIND_PHONE):
        submitted = await dpo.rights.SubmitRightsRequest(
            rights_pb2.SubmitRightsRequestRequest(
                kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
                subject=by_email("lea@example.fr"),
                send_code_to=kind,
            ),
            metadata=dpo.metadata,
        )
        assert not submitted.code_sent
        resent = await dpo.rights.ResendVerificationCode(
            rights_pb2.ResendVerificationCodeRequest(
                request_id=submitted.request.request_id, send_code_to=kind
            ),
            metadata=dpo.metadata,
        )
        assert not resent.code_sent


async def test_checkpoints_are_signed_proof(stubs: Stubs, dpo: RightsStubs) -> None:
    """A checkpoint's signed message verifies with the published public key (any Ed25519
    implementation will do); an empty chain has no checkpoint to sign."""
    await _person(stubs)
    made = await dpo.audit.CreateAuditCheckpoint(
        audit_pb2.CreateAuditCheckpointRequest(), metadata=dpo.metadata
    )
    listed = await dpo.audit.ListAuditCheckpoints(
        audit_pb2.ListAuditCheckpointsRequest(), metadata=dpo.metadata
    )
    assert [c.seq for c in listed.checkpoints] == [made.checkpoint.seq]
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(listed.public_key))
    checkpoint = listed.checkpoints[0]
    public.verify(bytes.fromhex(checkpoint.signature), checkpoint.signed_message.encode())
    assert json.loads(checkpoint.signed_message)["hash"] == checkpoint.entry_hash


async def test_breach_scope_of_the_callers_tenant(stubs: Stubs, dpo: RightsStubs) -> None:
    """A window around the writes reports the subject and the categories it touched, the
    cookie choices and the log entries not yet chained by the sequencer included (a report
    taken in the second after a write missed its entry); a window before them touches nothing;
    another tenant is PERMISSION_DENIED (a key scopes only its own tenant); since is
    required."""
    now = datetime.now(UTC)
    await _person(stubs)
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id=uuid4().hex,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        policy_revision=1,
    )
    await stubs.cookies.RecordCookieChoice(choice, metadata=stubs.metadata)
    request = audit_pb2.ScopeBreachRequest(
        since=stamp(now - timedelta(minutes=5)), until=stamp(now + timedelta(minutes=5))
    )
    scope = (await dpo.audit.ScopeBreach(request, metadata=dpo.metadata)).tenants[0]
    assert (scope.subjects_touched, scope.subjects_held) == (1, 1)
    assert scope.categories["cookie_choices"] == 1
    # The person's consents, contact points and choice, and the tenant's set-up, are all in the
    # log, chained or still queued: at least one entry per consent and the choice.
    assert scope.categories["audit_log"] >= scope.categories["consent_records"] + 1
    assert {"consent_records", "contact_points"} <= set(scope.categories)
    earlier = audit_pb2.ScopeBreachRequest(
        since=stamp(now - timedelta(days=2)), until=stamp(now - timedelta(days=1))
    )
    quiet = (await dpo.audit.ScopeBreach(earlier, metadata=dpo.metadata)).tenants[0]
    assert (quiet.subjects_touched, dict(quiet.categories)) == (0, {})
    request.tenants.append("someone-else")
    assert await _code(dpo.audit.ScopeBreach(request, metadata=dpo.metadata)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    missing = dpo.audit.ScopeBreach(audit_pb2.ScopeBreachRequest(), metadata=dpo.metadata)
    assert await _code(missing) == grpc.StatusCode.INVALID_ARGUMENT


async def test_breach_subjects_are_listed_by_id_a_page_at_a_time(
    stubs: Stubs, dpo: RightsStubs
) -> None:
    """ListBreachSubjects names exactly the subjects ScopeBreach counts, in id order, with the
    categories touched for each and the erased ones marked; a page token is its window's only;
    a window before the writes names nobody."""
    now = datetime.now(UTC)
    await put_purpose(stubs, "newsletter")
    ids = []
    for n in range(5):
        person = types_pb2.SubjectIdentity(email=f"touched-{n}@example.fr")
        request = consent_pb2.RecordConsentRequest(
            subject=person, choices=[grant(target("newsletter"))], source=types_pb2.SOURCE_API
        )
        ids.append((await stubs.consent.RecordConsent(request, metadata=stubs.metadata)).subject_id)
    erased = await dpo.rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_email("touched-3@example.fr"), actor="dpo"),
        metadata=dpo.metadata,
    )
    since, until = stamp(now - timedelta(minutes=5)), stamp(now + timedelta(minutes=5))
    listed: list[audit_pb2.BreachSubject] = []
    token, pages = "", 0
    while True:
        page = await dpo.audit.ListBreachSubjects(
            audit_pb2.ListBreachSubjectsRequest(
                since=since, until=until, page_size=2, page_token=token
            ),
            metadata=dpo.metadata,
        )
        listed.extend(page.subjects)
        pages += 1
        if not (token := page.next_page_token):
            break
        other = audit_pb2.ListBreachSubjectsRequest(
            since=since, until=stamp(now + timedelta(minutes=6)), page_token=token
        )
        assert await _code(dpo.audit.ListBreachSubjects(other, metadata=dpo.metadata)) == (
            grpc.StatusCode.INVALID_ARGUMENT
        )
    assert [s.subject_id for s in listed] == sorted(ids)
    assert pages == 3
    for subject in listed:
        assert {"consent_records", "contact_points", "audit_log"} <= set(subject.categories)
        assert list(subject.categories) == sorted(subject.categories)
        assert subject.HasField("erased_at") == (subject.subject_id == erased.subject_id)
    scope = await dpo.audit.ScopeBreach(
        audit_pb2.ScopeBreachRequest(since=since, until=until), metadata=dpo.metadata
    )
    assert scope.tenants[0].subjects_touched == len(listed)
    quiet = await dpo.audit.ListBreachSubjects(
        audit_pb2.ListBreachSubjectsRequest(
            since=stamp(now - timedelta(days=2)), until=stamp(now - timedelta(days=1))
        ),
        metadata=dpo.metadata,
    )
    assert (list(quiet.subjects), quiet.next_page_token) == ([], "")
    too_big = audit_pb2.ListBreachSubjectsRequest(since=since, until=until, page_size=5_001)
    assert await _code(dpo.audit.ListBreachSubjects(too_big, metadata=dpo.metadata)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


async def test_retention_settings_round_trip(dpo: RightsStubs, tenant: Tenant) -> None:
    """Contract end, legal hold (with its reason, without any address or number in it: the
    retention job prints it; probe AO) and storage extension are stored as given; a hold without
    a reason, or a purged_at from the caller, is INVALID_ARGUMENT."""
    ended = datetime(2027, 3, 31, tzinfo=UTC)
    settings = retention_pb2.RetentionSettings(
        contract_ended_at=stamp(ended),
        legal_hold=True,
        legal_hold_reason="contentieux c/ jean@example.fr 06 12 34 56 78",
        storage_extension=True,
    )
    await dpo.retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=settings), metadata=dpo.metadata
    )
    got = await dpo.retention.GetRetentionSettings(
        retention_pb2.GetRetentionSettingsRequest(), metadata=dpo.metadata
    )
    assert got.settings.contract_ended_at.ToDatetime(tzinfo=UTC) == ended
    assert (got.settings.legal_hold_reason, got.settings.storage_extension) == (
        "contentieux c/ (email) (phone)",
        True,
    )
    assert not got.settings.HasField("purge_due_at")  # under a legal hold: never
    # A put is whole: one without the hold lifts it, and the operator's log says so (probe AS:
    # a partial update scheduled the tenant's purge without a word).
    lifted = retention_pb2.RetentionSettings(contract_ended_at=stamp(ended))
    with capture_logs() as logs:
        await dpo.retention.PutRetentionSettings(
            retention_pb2.PutRetentionSettingsRequest(settings=lifted), metadata=dpo.metadata
        )
        await dpo.retention.PutRetentionSettings(
            retention_pb2.PutRetentionSettingsRequest(settings=lifted), metadata=dpo.metadata
        )
    # This tenant's warnings: an earlier test's cancelled stream may log a little later.
    warnings = [e for e in logs if e["log_level"] == "warning" and e.get("tenant") == tenant.slug]
    assert [e["event"] for e in warnings] == ["legal_hold_lifted"]
    for bad in (
        retention_pb2.RetentionSettings(legal_hold=True),
        retention_pb2.RetentionSettings(purged_at=stamp(ended)),
        retention_pb2.RetentionSettings(purge_due_at=stamp(ended)),
    ):
        call = dpo.retention.PutRetentionSettings(
            retention_pb2.PutRetentionSettingsRequest(settings=bad), metadata=dpo.metadata
        )
        assert await _code(call) == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_contract_end_put_in_the_past_still_leaves_its_month(
    app: App, tenant: Tenant, dpo: RightsStubs
) -> None:
    """An admin key put the contract's end 32 days in the past and the next run purged the
    tenant: no month of reversibility (probe R). The purge is due a month after the end was
    recorded, GetRetentionSettings says when, and a run now keeps the tenant."""
    before = datetime.now(UTC)
    settings = retention_pb2.RetentionSettings(contract_ended_at=stamp(before - timedelta(days=32)))
    await dpo.retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=settings), metadata=dpo.metadata
    )
    got = await dpo.retention.GetRetentionSettings(
        retention_pb2.GetRetentionSettingsRequest(), metadata=dpo.metadata
    )
    due = got.settings.purge_due_at.ToDatetime(tzinfo=UTC)
    assert add_months(before, 1) <= due <= add_months(datetime.now(UTC), 1)
    assert app.retention is not None
    report = await app.retention.run()
    assert [t.status for t in report.tenants if t.tenant == tenant.slug] == ["kept"]


async def test_cli_checkpoint_and_breach_scope(
    database_url: str, owner_url: str, tenant: Tenant, stubs: Stubs, dpo: RightsStubs
) -> None:
    """`consentd audit checkpoint` prints a proof; `consentd breach scope` the tenant's scope;
    `consentd breach subjects` which subjects, as CSV."""
    person = await _person(stubs)
    slug = tenant.slug
    env = command_env(database_url, owner_url)

    def run(*args: str) -> dict[str, Any]:
        argv = [sys.executable, "-m", "consentd", *args]
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    proof = await asyncio.to_thread(run, "audit", "checkpoint", "--tenant", slug)
    assert proof["format"] == "consentd-audit-checkpoint/1"
    now = datetime.now(UTC)
    window = ["--since", (now - timedelta(hours=1)).isoformat()]
    window += ["--until", (now + timedelta(hours=1)).isoformat(), "--tenant", slug]
    scope = await asyncio.to_thread(run, "breach", "scope", *window)
    assert scope["tenants"][0]["subjects_touched"] == 1
    # Named twice, counted once (it was listed twice, and totals summed it twice: probe XB).
    twice = await asyncio.to_thread(run, "breach", "scope", *window, "--tenant", slug)
    assert twice["tenants"] == scope["tenants"]
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "consentd", "breach", "subjects", *window],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header == "subject_id,erased_at,categories"
    subject_id, erased_at, categories = row.split(",")
    assert (subject_id, erased_at) == (person, "")
    assert "consent_records" in categories.split()


async def test_a_portal_token_exports_and_files_requests_for_its_own_subject_only(
    admin: AdminUseCases, tenant: Tenant, stubs: Stubs, dpo: RightsStubs
) -> None:
    """subject:self may export its own subject and file its own rights request; naming another
    subject is PERMISSION_DENIED, and erasure stays the DPO's (admin)."""
    await _person(stubs)
    own = types_pb2.SubjectRef(external_id="portal-person-1")
    mine = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(external_id="portal-person-1"),
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_PORTAL,
    )
    await stubs.consent.RecordConsent(mine, metadata=stubs.metadata)
    portal = await register_portal(admin, tenant)
    me = bearer(portal.token("portal-person-1"))
    exported = await dpo.rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=own), metadata=me
    )
    assert json.loads(exported.document_json)["identity"][0]["value"] == "portal-person-1"
    access = rights_pb2.SubmitRightsRequestRequest(
        kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=own
    )
    await dpo.rights.SubmitRightsRequest(access, metadata=me)
    other = by_email("lea@example.fr")
    assert (
        await _code(
            dpo.rights.ExportSubject(rights_pb2.ExportSubjectRequest(subject=other), metadata=me)
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    access.subject.CopyFrom(other)
    assert await _code(dpo.rights.SubmitRightsRequest(access, metadata=me)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    erase = rights_pb2.EraseSubjectRequest(subject=own)
    assert await _code(dpo.rights.EraseSubject(erase, metadata=me)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


async def test_requests_due_within_days_are_listed_before_they_are_late(
    dpo: RightsStubs, clock: TestClock
) -> None:
    """Peer comparison: only requests already late could be listed; a DPO plans the week with
    what falls due in it."""
    now = datetime.now(UTC)
    received = {"late": now - timedelta(days=40), "soon": now - timedelta(days=25), "new": now}
    ids = {}
    for name, at in received.items():
        clock.pinned = at
        filed = await dpo.rights.SubmitRightsRequest(
            rights_pb2.SubmitRightsRequestRequest(
                kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email(f"{name}@example.fr")
            ),
            metadata=dpo.metadata,
        )
        ids[filed.request.request_id] = name
    clock.pinned = None

    async def listed(**asked: Any) -> list[str]:
        found = await dpo.rights.ListRightsRequests(
            rights_pb2.ListRightsRequestsRequest(**asked), metadata=dpo.metadata
        )
        return sorted(ids[r.request_id] for r in found.requests if r.request_id in ids)

    assert await listed(due_within_days=7) == ["late", "soon"]
    assert await listed(overdue_only=True) == ["late"]
    assert await listed(due_within_days=90) == ["late", "new", "soon"]
    assert await listed() == ["late", "new", "soon"]
    too_far = dpo.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(due_within_days=91), metadata=dpo.metadata
    )
    assert await _code(too_far) == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_extension_nobody_was_told_of_leaves_the_first_due_date(
    dpo: RightsStubs, clock: TestClock
) -> None:
    """Extended with no relay to tell the person, a request past its first due date said "not
    overdue" for two more months (probe BF; GDPR art. 12(3): an extension counts once the
    person is told, within the first month). It is overdue, listed so; an operator who told the
    person themselves says so (`person_told`) and the extended date counts."""
    clock.pinned = datetime.now(UTC) - timedelta(days=40)
    ids = []
    for name in ("untold", "called"):
        filed = await dpo.rights.SubmitRightsRequest(
            rights_pb2.SubmitRightsRequestRequest(
                kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email(f"{name}@example.fr")
            ),
            metadata=dpo.metadata,
        )
        ids.append(filed.request.request_id)
    untold, called = ids
    clock.pinned += timedelta(days=20)
    for request_id, told in ((untold, False), (called, True)):
        extended = await dpo.rights.ExtendRightsRequest(
            rights_pb2.ExtendRightsRequestRequest(
                request_id=request_id, months=2, reason="complexe", person_told=told
            ),
            metadata=dpo.metadata,
        )
        assert extended.request.HasField("person_told_at") is told
    clock.pinned = None
    answers = {}
    for request_id in ids:
        got = await dpo.rights.GetRightsRequest(
            rights_pb2.GetRightsRequestRequest(request_id=request_id), metadata=dpo.metadata
        )
        answers[request_id] = got.request.overdue
    assert answers == {untold: True, called: False}
    overdue = await dpo.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(overdue_only=True), metadata=dpo.metadata
    )
    assert untold in [r.request_id for r in overdue.requests]
    assert called not in [r.request_id for r in overdue.requests]
    # Told too late (after the first month): recorded, and the extension still does not count.
    late = await dpo.rights.RecordPersonTold(
        rights_pb2.RecordPersonToldRequest(request_id=untold), metadata=dpo.metadata
    )
    assert (late.request.HasField("person_told_at"), late.request.overdue) == (True, True)


async def _log_size(app: App, tenant: Tenant) -> int:
    """The tenant's audit entries, integrated or still queued."""
    async with owner(app).connect() as conn:
        query = sa.text(
            "SELECT (SELECT count(*) FROM audit_entries WHERE tenant_id = :t)"
            " + (SELECT count(*) FROM audit_queue WHERE tenant_id = :t)"
        )
        size: int = (await conn.execute(query, {"t": tenant.tenant_id})).scalar_one()
    return size


async def test_a_call_made_after_the_extension_is_recorded(
    app: App, tenant: Tenant, dpo: RightsStubs, clock: TestClock
) -> None:
    """With no relay the log said "tell the person another way", and nothing recorded that the
    operator did (probe BG): RecordPersonTold does, within the first month, and the extension
    counts from then; again it answers as it is, and writes nothing more to the log; a request
    never extended has nothing to tell."""
    clock.pinned = datetime.now(UTC) - timedelta(days=40)
    filed = await dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("phoned@example.fr")
        ),
        metadata=dpo.metadata,
    )
    request_id = filed.request.request_id
    nothing = dpo.rights.RecordPersonTold(
        rights_pb2.RecordPersonToldRequest(request_id=request_id), metadata=dpo.metadata
    )
    assert await _code(nothing) == grpc.StatusCode.FAILED_PRECONDITION
    clock.pinned += timedelta(days=10)
    await dpo.rights.ExtendRightsRequest(
        rights_pb2.ExtendRightsRequestRequest(request_id=request_id, months=2, reason="complexe"),
        metadata=dpo.metadata,
    )
    clock.pinned += timedelta(days=5)
    told = await dpo.rights.RecordPersonTold(
        rights_pb2.RecordPersonToldRequest(request_id=request_id), metadata=dpo.metadata
    )
    at = told.request.person_told_at.ToDatetime(tzinfo=UTC)
    clock.pinned = None
    logged = await _log_size(app, tenant)
    again = await dpo.rights.RecordPersonTold(
        rights_pb2.RecordPersonToldRequest(request_id=request_id), metadata=dpo.metadata
    )
    assert again.request.person_told_at.ToDatetime(tzinfo=UTC) == at
    assert await _log_size(app, tenant) == logged
    assert again.request.overdue is False


async def test_requests_near_or_past_their_deadline_are_said_in_the_log(
    app: App, stubs: Stubs, dpo: RightsStubs, tenant: Tenant
) -> None:
    """Probe BS: nothing reminded anyone of a request's deadline (an operator polled
    ListRightsRequests or missed the month). While serving, every quarter hour: a warning per
    tenant with open requests past their deadline, an info for those due within 7 days; the
    tenant's slug and counts only. Done or refused requests are not counted."""
    await _person(stubs)
    for kind in (rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, rights_pb2.RIGHTS_REQUEST_KIND_PORT):
        await dpo.rights.SubmitRightsRequest(
            rights_pb2.SubmitRightsRequestRequest(kind=kind, subject=by_email("lea@example.fr")),
            metadata=dpo.metadata,
        )
    closed = await dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("lea@example.fr")
        ),
        metadata=dpo.metadata,
    )
    await dpo.rights.RefuseRightsRequest(
        rights_pb2.RefuseRightsRequestRequest(
            request_id=closed.request.request_id, reason="demande en double"
        ),
        metadata=dpo.metadata,
    )
    now = datetime.now(UTC)
    metrics = Metrics()
    with capture_logs() as logs:
        await say_deadlines(owner(app), now + timedelta(days=40), metrics)
        # ...and a series to alert on: the log was the only signal (probe HG). Of every tenant
        # (the tests' other tenants share the database): at least this one's two.
        overdue = metrics.registry.get_sample_value(
            "consentd_rights_requests_open", {"deadline": "overdue"}
        )
        assert overdue is not None
        assert overdue >= 2
        await say_deadlines(owner(app), now + timedelta(days=25))
        await say_deadlines(owner(app), now)
    mine = [e for e in logs if e.get("tenant") == tenant.slug]
    assert [(e["event"], e["log_level"]) for e in mine] == [
        ("rights_requests_overdue", "warning"),
        ("rights_requests_due_soon", "info"),
    ]
    assert (mine[0]["overdue"], mine[1]["due_within_7_days"]) == (2, 2)
    assert "lea@example.fr" not in repr(logs)


async def test_an_erase_request_done_keeps_no_words_of_the_operator(
    stubs: Stubs, dpo: RightsStubs
) -> None:
    """Probe DM: the operator's attestation ("checked ID card no ...") stayed on the erase
    request that erased the person: the row was written after the erasure scrubbed it. Probe
    DX: the reason of an extension and the outcomes ("erased Jeanne Dupont"), on it and on the
    person's earlier requests, stayed in clear too."""
    await put_purpose(stubs, "newsletter")
    person = types_pb2.SubjectIdentity(email="idcard@example.fr")
    await record(stubs, person, grant(target("newsletter")))
    earlier = await _answered(dpo, rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, "sent to J. Dupont")
    submitted = await dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ERASE, subject=by_email("idcard@example.fr")
        ),
        metadata=dpo.metadata,
    )
    request_id = submitted.request.request_id
    confirmed = await dpo.rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(
            request_id=request_id, attested_by="Paul checked ID card no 12AB34567"
        ),
        metadata=dpo.metadata,
    )
    assert confirmed.request.verification_method.startswith("operator:Paul")
    await dpo.rights.ExtendRightsRequest(
        rights_pb2.ExtendRightsRequestRequest(
            request_id=request_id, months=1, reason="Mme Dupont sent three", person_told=True
        ),
        metadata=dpo.metadata,
    )
    await dpo.rights.StartRightsRequest(
        rights_pb2.StartRightsRequestRequest(request_id=request_id), metadata=dpo.metadata
    )
    done = await dpo.rights.CompleteRightsRequest(
        rights_pb2.CompleteRightsRequestRequest(
            request_id=request_id, outcome="erased Jeanne Dupont", actor="dpo"
        ),
        metadata=dpo.metadata,
    )
    got = await dpo.rights.GetRightsRequest(
        rights_pb2.GetRightsRequestRequest(request_id=request_id), metadata=dpo.metadata
    )
    assert (done.request.verification_method, got.request.verification_method) == (
        "operator",
        "operator",
    )
    for said in (done.request, got.request):
        assert (said.extension_reason, said.outcome) == (WORDS_ERASED, WORDS_ERASED)
    before = await dpo.rights.GetRightsRequest(
        rights_pb2.GetRightsRequestRequest(request_id=earlier), metadata=dpo.metadata
    )
    assert (before.request.verification_method, before.request.outcome) == (
        "operator",
        WORDS_ERASED,
    )


async def _answered(
    dpo: RightsStubs, kind: rights_pb2.RightsRequestKind.ValueType, said: str
) -> str:
    """A request of idcard@'s filed, attested, started and done with `said`: its id."""
    rights, metadata = dpo.rights, dpo.metadata
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(kind=kind, subject=by_email("idcard@example.fr")),
        metadata=metadata,
    )
    request_id = submitted.request.request_id
    attest = rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by="Paul, ID")
    await rights.ConfirmIdentity(attest, metadata=metadata)
    start = rights_pb2.StartRightsRequestRequest(request_id=request_id)
    await rights.StartRightsRequest(start, metadata=metadata)
    await _export(dpo, by_email("idcard@example.fr"))  # what answers it
    done = rights_pb2.CompleteRightsRequestRequest(request_id=request_id, outcome=said, actor="dpo")
    await rights.CompleteRightsRequest(done, metadata=metadata)
    return request_id


async def test_a_support_desk_takes_a_persons_rights_by_phone_without_admin(
    admin: AdminUseCases,
    tenant: Tenant,
    channel: grpc.aio.Channel,
    stubs: Stubs,
    dpo: RightsStubs,
) -> None:
    """Probe GG: a support desk needed an admin key (which also erases anyone, rewrites the
    catalogue, lifts legal holds) to file a caller's request or record their objection, and
    could not list one person's requests. A rights:support key files, identifies, objects and
    lists that person's requests (by contact point or id; one nobody holds lists nothing), and
    is refused erasing and exporting."""
    await _person(stubs)
    key, _ = await admin.issue_key(tenant.slug, [Scope.SUPPORT.value], name="support desk")
    support = RightsStubs(channel, replace(stubs, metadata=bearer(key.token)))
    filed = await support.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ERASE, subject=by_email("lea@example.fr")
        ),
        metadata=support.metadata,
    )
    request_id = filed.request.request_id
    await support.rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by="agent 12"),
        metadata=support.metadata,
    )
    await support.rights.RestrictProcessing(
        rights_pb2.RestrictProcessingRequest(subject=by_email("lea@example.fr")),
        metadata=support.metadata,
    )
    await support.rights.RecordObjection(
        rights_pb2.RecordObjectionRequest(subject=by_email("lea@example.fr")),
        metadata=support.metadata,
    )
    await dpo.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("someone@example.fr")
        ),
        metadata=dpo.metadata,
    )

    async def listed(subject: types_pb2.SubjectRef) -> list[str]:
        answer = await support.rights.ListRightsRequests(
            rights_pb2.ListRightsRequestsRequest(subject=subject), metadata=support.metadata
        )
        return [r.request_id for r in answer.requests]

    assert await listed(by_email("lea@example.fr")) == [request_id]
    assert await listed(types_pb2.SubjectRef(subject_id=filed.request.subject_id)) == [request_id]
    assert await listed(by_email("nobody@example.fr")) == []
    # A page token is its person's list's only, a person nobody holds included (probe GI).
    await support.rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_OBJECT, subject=by_email("lea@example.fr")
        ),
        metadata=support.metadata,
    )
    first = await support.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(subject=by_email("lea@example.fr"), page_size=1),
        metadata=support.metadata,
    )
    assert first.next_page_token
    elsewhere = support.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(
            subject=by_email("nobody@example.fr"), page_token=first.next_page_token
        ),
        metadata=support.metadata,
    )
    assert await _code(elsewhere) == grpc.StatusCode.INVALID_ARGUMENT
    unfiltered = await support.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(page_size=1), metadata=support.metadata
    )
    nobodys = support.rights.ListRightsRequests(
        rights_pb2.ListRightsRequestsRequest(
            subject=by_email("nobody@example.fr"), page_token=unfiltered.next_page_token
        ),
        metadata=support.metadata,
    )
    assert await _code(nobodys) == grpc.StatusCode.INVALID_ARGUMENT  # GJ: it was OK, empty
    for refused in (
        support.rights.EraseSubject(
            rights_pb2.EraseSubjectRequest(subject=by_email("lea@example.fr"), actor="agent"),
            metadata=support.metadata,
        ),
        support.rights.ExportSubject(
            rights_pb2.ExportSubjectRequest(subject=by_email("lea@example.fr")),
            metadata=support.metadata,
        ),
        support.rights.CompleteRightsRequest(
            rights_pb2.CompleteRightsRequestRequest(request_id=request_id, outcome="x", actor="a"),
            metadata=support.metadata,
        ),
        # Probe GH: it lifted a restriction (the DPO's: the person is told first).
        support.rights.RestrictProcessing(
            rights_pb2.RestrictProcessingRequest(subject=by_email("lea@example.fr"), lift=True),
            metadata=support.metadata,
        ),
    ):
        assert await _code(refused) == grpc.StatusCode.PERMISSION_DENIED
