"""Idempotent writes: an `idempotency-key` in the metadata makes a write run once per tenant and
caller; a retry gets the first response, a different request under the same key is refused."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    catalog_pb2,
    consent_pb2,
    cookies_pb2,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.rights import MAX_CODE_ATTEMPTS
from consentd.domain.tenancy import Scope, Tenant
from consentd.store.tables import audit_entries, audit_queue, idempotency_keys
from tests.conftest import Stubs, TestClock, bearer, owner
from tests.e2e.helpers import by_email, grant, history, put_purpose, refuse, target
from tests.e2e.security_helpers import fails, issue, row_counts

KEY = "idempotency-key"
EMAIL = "retry@example.fr"
IDENTITY = types_pb2.SubjectIdentity(email=EMAIL)


def _keyed(stubs: Stubs, key: str) -> tuple[tuple[str, str], ...]:
    return (*stubs.metadata, (KEY, key))


def _record_request(*choices: consent_pb2.ConsentChoice) -> consent_pb2.RecordConsentRequest:
    return consent_pb2.RecordConsentRequest(
        subject=IDENTITY,
        choices=choices or (grant(target("newsletter")),),
        source=types_pb2.SOURCE_API,
        actor="retrying client",
    )


async def _record(stubs: Stubs, key: str, *choices: consent_pb2.ConsentChoice) -> Any:
    return await stubs.consent.RecordConsent(_record_request(*choices), metadata=_keyed(stubs, key))


async def _events(stubs: Stubs) -> list[Any]:
    return list((await history(stubs, by_email(EMAIL), page_size=500)).events)


def _violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    found: list[str] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found.extend(v.field for v in bad_request.field_violations)
    return found


@pytest.fixture(autouse=True)
async def _purposes(stubs: Stubs) -> None:
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")


async def test_retry_returns_the_first_response_and_writes_once(stubs: Stubs) -> None:
    """The same key with the same RecordConsent returns the same response (same event ids),
    even after the state changed meanwhile; history shows one event."""
    first = await _record(stubs, "order-1")
    second = await _record(stubs, "order-1")
    assert second == first
    assert [e.event_id for e in second.events] == [e.event_id for e in first.events]
    assert len(await _events(stubs)) == 1

    await stubs.consent.RecordConsent(
        _record_request(refuse(target("newsletter"))), metadata=stubs.metadata
    )
    assert await _record(stubs, "order-1") == first
    assert len(await _events(stubs)) == 2  # the refusal; the retry added nothing


async def test_same_key_different_request_is_invalid(
    stubs: Stubs, app: App, tenant: Tenant
) -> None:
    """The same key with a different request, or with another write RPC, is INVALID_ARGUMENT
    naming `idempotency-key`, and writes nothing."""
    await _record(stubs, "order-2")
    before = await row_counts(app, tenant.tenant_id)
    calls = [
        _record(stubs, "order-2", grant(target("offers"))),
        stubs.consent.WithdrawConsent(
            consent_pb2.WithdrawConsentRequest(
                subject=by_email(EMAIL), all=True, source=types_pb2.SOURCE_API, actor="retry"
            ),
            metadata=_keyed(stubs, "order-2"),
        ),
    ]
    for call in calls:
        error = await fails(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert str(error.details()).startswith(f"{KEY}:")
        assert _violations(error) == [KEY]
    assert await row_counts(app, tenant.tenant_id) == before


async def test_fifty_concurrent_retries_execute_once(
    stubs: Stubs, app: App, tenant: Tenant
) -> None:
    """50 concurrent calls with one key: one event, 50 identical responses."""
    responses = await asyncio.gather(*(_record(stubs, "burst") for _ in range(50)))
    assert len({r.SerializeToString(deterministic=True) for r in responses}) == 1
    assert len(responses[0].events) == 1
    assert len(await _events(stubs)) == 1
    counts = await row_counts(app, tenant.tenant_id)
    assert counts["consent_events"] == 1
    assert counts["subjects"] == 1


async def test_key_length_is_limited(stubs: Stubs, app: App, tenant: Tenant) -> None:
    """A key of 256 characters is INVALID_ARGUMENT naming `idempotency-key` and writes nothing;
    255 characters are accepted."""
    error = await fails(_record(stubs, "k" * 256))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [KEY]
    assert (await row_counts(app, tenant.tenant_id))["consent_events"] == 0
    first = await _record(stubs, "k" * 255)
    assert await _record(stubs, "k" * 255) == first


@pytest.mark.parametrize("key", ["", " ", " k", "k "])
async def test_a_blank_or_padded_key_is_invalid_and_writes_nothing(
    stubs: Stubs, app: App, tenant: Tenant, key: str
) -> None:
    """A single space was a key (probe V); a proxy that trims header values would make " k"
    another."""
    error = await fails(_record(stubs, key))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == [KEY]
    assert (await row_counts(app, tenant.tenant_id))["consent_events"] == 0


async def test_two_keys_on_one_call_are_invalid_and_write_nothing(
    stubs: Stubs, app: App, tenant: Tenant
) -> None:
    """Two `idempotency-key` entries were taken as the last one: a retry carrying only the
    first wrote the consent twice. Now INVALID_ARGUMENT naming the key, nothing written."""
    metadata = (*_keyed(stubs, "first"), (KEY, "second"))
    error = await fails(stubs.consent.RecordConsent(_record_request(), metadata=metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "more than once" in str(error.details())
    assert _violations(error) == [KEY]
    assert (await row_counts(app, tenant.tenant_id))["consent_events"] == 0


async def test_keys_are_scoped_to_the_caller(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant
) -> None:
    """The same key from another API key of the same tenant is independent: it executes again
    (new event ids) and each caller's retries replay its own response."""
    other = replace(stubs, metadata=bearer(await issue(admin, tenant, Scope.WRITE.value)))
    mine = await _record(stubs, "shared")
    theirs = await _record(other, "shared")
    assert {e.event_id for e in mine.events}.isdisjoint({e.event_id for e in theirs.events})
    assert len(await _events(stubs)) == 2
    assert await _record(stubs, "shared") == mine
    assert await _record(other, "shared") == theirs
    assert len(await _events(stubs)) == 2


async def test_keys_are_scoped_to_the_tenant(stubs: Stubs, admin: AdminUseCases) -> None:
    """The same key and request in another tenant executes there, independently."""
    other_tenant = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    other = replace(stubs, metadata=bearer(await issue(admin, other_tenant, Scope.ADMIN.value)))
    await put_purpose(other, "newsletter")
    mine = await _record(stubs, "cross-tenant")
    theirs = await _record(other, "cross-tenant")
    assert mine.subject_id != theirs.subject_id
    assert len(await _events(other)) == 1


async def test_failed_write_does_not_use_up_the_key(stubs: Stubs) -> None:
    """A write that fails (unknown purpose) stores nothing under its key: once the purpose
    exists, the same key and request execute."""
    error = await fails(_record(stubs, "after-fix", grant(target("later"))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    await put_purpose(stubs, "later")
    done = await _record(stubs, "after-fix", grant(target("later")))
    assert len(done.events) == 1


async def test_put_purpose_replays_its_first_response(stubs: Stubs) -> None:
    """PutPurpose is a write too: a retry with the key answers `created` like the first call,
    where a call without key would say it was not created."""
    request = catalog_pb2.PutPurposeRequest(
        purpose=catalog_pb2.Purpose(
            purpose_id="replayed", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
        )
    )
    first = await stubs.catalog.PutPurpose(request, metadata=_keyed(stubs, "purpose-1"))
    again = await stubs.catalog.PutPurpose(request, metadata=_keyed(stubs, "purpose-1"))
    plain = await stubs.catalog.PutPurpose(request, metadata=stubs.metadata)
    assert first.created
    assert again == first
    assert not plain.created


async def test_read_rpcs_ignore_the_key(stubs: Stubs) -> None:
    """A check carrying a key already used is answered afresh, not replayed."""
    check = consent_pb2.CheckConsentRequest(subject=by_email(EMAIL), target=target("newsletter"))
    before = await stubs.consent.CheckConsent(check, metadata=_keyed(stubs, "read-1"))
    assert before.decision == consent_pb2.DECISION_DENY
    await stubs.consent.RecordConsent(_record_request(), metadata=stubs.metadata)
    after = await stubs.consent.CheckConsent(check, metadata=_keyed(stubs, "read-1"))
    assert after.decision == consent_pb2.DECISION_ALLOW


async def test_keys_are_kept_a_day(
    stubs: Stubs, app: App, tenant: Tenant, clock: TestClock
) -> None:
    """A stored key lives at least 24 hours: a retry 23 h 59 min later still replays; after
    its expiry the key may be used afresh."""
    first = await _record(stubs, "daily")
    query = sa.select(idempotency_keys.c.created_at, idempotency_keys.c.expires_at).where(
        idempotency_keys.c.tenant_id == tenant.tenant_id, idempotency_keys.c.key == "daily"
    )
    async with owner(app).connect() as conn:
        created_at, expires_at = (await conn.execute(query)).one()
    assert expires_at - created_at >= timedelta(hours=24)

    clock.pinned = datetime.now(UTC) + timedelta(hours=23, minutes=59)
    assert await _record(stubs, "daily") == first
    clock.pinned = expires_at + timedelta(minutes=1)
    later = await _record(stubs, "daily")
    assert later.events[0].event_id != first.events[0].event_id


async def _audit_entries(app: App, tenant: Tenant) -> int:
    """Every fact a write leaves is in the audit log: queued or integrated, counted by the owner
    in one statement (one snapshot: counted apart, an entry the sequencer integrated between the
    two counts was missed, and the test failed about once in eight runs)."""
    counts = [
        sa.select(sa.func.count()).where(table.c.tenant_id == tenant.tenant_id).scalar_subquery()
        for table in (audit_entries, audit_queue)
    ]
    async with owner(app).connect() as conn:
        counted: int = (await conn.execute(sa.select(counts[0] + counts[1]))).scalar_one()
        return counted


async def test_every_kind_of_write_replays_under_its_key(
    stubs: Stubs, channel: grpc.aio.Channel, app: App, tenant: Tenant
) -> None:
    """A withdrawal, a cookie choice, a cookie policy, an erasure and a checkpoint, each sent
    twice under one key: the second answer is the first and leaves no fact and no audit entry
    more (a choice alone would go through the grouped path; under a key it writes alone)."""
    await _record(stubs, "before-all")
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    audit = audit_pb2_grpc.AuditServiceStub(channel)
    withdraw = consent_pb2.WithdrawConsentRequest(
        subject=by_email(EMAIL), all=True, source=types_pb2.SOURCE_API, actor="retry"
    )
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id=uuid4().hex,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_REFUSE_ALL,
        policy_revision=1,
    )
    policy = cookies_pb2.PutCookiePolicyRequest(
        policy=cookies_pb2.CookiePolicy(refusal_validity_months=6)
    )
    erase = rights_pb2.EraseSubjectRequest(subject=by_email(EMAIL), actor="dpo")
    calls = [
        (stubs.consent.WithdrawConsent, withdraw),
        (stubs.cookies.RecordCookieChoice, choice),
        (stubs.cookies.PutCookiePolicy, policy),
        (rights.EraseSubject, erase),
        (audit.CreateAuditCheckpoint, audit_pb2.CreateAuditCheckpointRequest()),
    ]
    for number, (rpc, request) in enumerate(calls):
        key = f"every-{number}"
        first = await rpc(request, metadata=_keyed(stubs, key))
        facts = await row_counts(app, tenant.tenant_id), await _audit_entries(app, tenant)
        assert await rpc(request, metadata=_keyed(stubs, key)) == first, rpc
        assert (await row_counts(app, tenant.tenant_id), await _audit_entries(app, tenant)) == facts


INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def test_wrong_codes_count_under_a_key(stubs: Stubs, channel: grpc.aio.Channel) -> None:
    """A wrong one-time code is a try that counts even when the call carries a key (the key
    stays unused: its retry is refused again and counts again), so a key never buys more tries:
    after MAX_CODE_ATTEMPTS wrong codes the request needs a new code. A code that is not six
    digits is refused without counting: no code sent was ever one."""
    await _record(stubs, "person")
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
            subject=by_email(EMAIL),
            send_code_to=rights_pb2.CONTACT_KIND_EMAIL,
        ),
        metadata=stubs.metadata,
    )
    assert not submitted.code_sent  # no SMTP relay here: a code is kept, but reaches no one
    # A made code is 1 in a million "000000": this test would then fail once in a million runs.
    wrong = rights_pb2.ConfirmIdentityRequest(request_id=submitted.request.request_id, code="0" * 6)
    for _ in range(MAX_CODE_ATTEMPTS):
        # Probe CA: an empty code (a client's bug) used up a try; nothing not six digits does.
        for malformed, said in (("", "code: is required"), ("12 345", "code: is not the 6")):
            refused = await fails(
                rights.ConfirmIdentity(
                    rights_pb2.ConfirmIdentityRequest(
                        request_id=submitted.request.request_id, code=malformed
                    ),
                    metadata=stubs.metadata,
                )
            )
            assert (refused.code(), said in str(refused.details())) == (INVALID, True)
        error = await fails(rights.ConfirmIdentity(wrong, metadata=_keyed(stubs, "same-try")))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = await fails(rights.ConfirmIdentity(wrong, metadata=_keyed(stubs, "same-try")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "too many wrong codes" in str(error.details())


async def test_an_erasure_leaves_no_answer_to_replay(
    stubs: Stubs, channel: grpc.aio.Channel, app: App, tenant: Tenant
) -> None:
    """Answers stored for replay named the person after their erasure: a retry of the grant
    got GRANTED with the subject id, a retry of the visitor's cookie choice its visitor id,
    VALID (the probe found the e-mail's evidence in the cache). After EraseSubject, both keys
    answer FAILED_PRECONDITION, write nothing, and no stored answer names the subject or the
    visitor; another person's key still replays."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    granted = await _record(stubs, "grant-then-erased")
    visitor = uuid4().hex
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id=visitor,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        policy_revision=1,
    )
    await stubs.cookies.RecordCookieChoice(choice, metadata=_keyed(stubs, "visit-then-erased"))
    await stubs.cookies.LinkVisitor(
        cookies_pb2.LinkVisitorRequest(visitor_id=visitor, subject=by_email(EMAIL)),
        metadata=stubs.metadata,
    )
    other = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email="someone-else@example.fr"),
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_API,
    )
    kept = await stubs.consent.RecordConsent(other, metadata=_keyed(stubs, "another-person"))

    erase = rights_pb2.EraseSubjectRequest(subject=by_email(EMAIL), actor="dpo")
    await rights.EraseSubject(erase, metadata=stubs.metadata)
    facts = await row_counts(app, tenant.tenant_id)
    for retry in (
        _record(stubs, "grant-then-erased"),
        stubs.cookies.RecordCookieChoice(choice, metadata=_keyed(stubs, "visit-then-erased")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await retry
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "was erased after it" in str(raised.value.details())
    assert await row_counts(app, tenant.tenant_id) == facts
    async with owner(app).connect() as conn:
        stored = (
            await conn.execute(
                sa.select(idempotency_keys.c.response).where(
                    idempotency_keys.c.tenant_id == tenant.tenant_id
                )
            )
        ).scalars()
        answers = list(stored)
    assert not [a for a in answers if granted.subject_id.encode() in a or visitor.encode() in a]
    # Nor is their request's fingerprint kept (it names them; probe TC).
    assert await _fingerprints(app, "grant-then-erased", "visit-then-erased") == [b"", b""]
    again = await stubs.consent.RecordConsent(other, metadata=_keyed(stubs, "another-person"))
    assert again == kept


async def test_an_erasure_keeps_the_answers_of_others_that_spell_its_visitor_id(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe UA: a browser's visitor id is its own text: `weekly_newsletter` erased, as a
    substring, the stored answers of everyone granting a purpose of that name, and their
    retries were told their person was erased. Only the visitor's own choice's answer goes."""
    await put_purpose(stubs, "weekly_newsletter")
    others = []
    for n in range(3):
        request = consent_pb2.RecordConsentRequest(
            subject=types_pb2.SubjectIdentity(email=f"reader-{n}@example.fr"),
            choices=[grant(target("weekly_newsletter"))],
            source=types_pb2.SOURCE_API,
        )
        key = f"reader-{n}"
        others.append(
            (request, key, await stubs.consent.RecordConsent(request, metadata=_keyed(stubs, key)))
        )
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id="weekly_newsletter",
        method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        policy_revision=1,
    )
    await stubs.cookies.RecordCookieChoice(choice, metadata=_keyed(stubs, "the-visitor"))
    linked = await stubs.cookies.LinkVisitor(
        cookies_pb2.LinkVisitorRequest(visitor_id="weekly_newsletter", subject=by_email(EMAIL)),
        metadata=stubs.metadata,
    )
    # Probe WA: the erased person's id written by another caller within text (an actor) named
    # nobody; its answer was erased too. (A field that is exactly the id is taken as theirs.)
    naming = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email="someone-else@example.fr"),
        choices=[grant(target("weekly_newsletter"))],
        source=types_pb2.SOURCE_API,
        actor=f"crm sync for {linked.subject_id}",
    )
    first = await stubs.consent.RecordConsent(naming, metadata=_keyed(stubs, "actor-names-id"))
    others.append((naming, "actor-names-id", first))
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    erase = rights_pb2.EraseSubjectRequest(subject=by_email(EMAIL), actor="dpo")
    await rights.EraseSubject(erase, metadata=stubs.metadata)
    for request, key, first in others:
        assert await stubs.consent.RecordConsent(request, metadata=_keyed(stubs, key)) == first
    error = await fails(
        stubs.cookies.RecordCookieChoice(choice, metadata=_keyed(stubs, "the-visitor"))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def _fingerprints(app: App, *keys: str) -> list[bytes]:
    async with owner(app).connect() as conn:
        found = await conn.execute(
            sa.select(idempotency_keys.c.request_sha256)
            .where(idempotency_keys.c.key.in_(keys))
            .order_by(idempotency_keys.c.key)
        )
        return [bytes(f) for f in found.scalars()]


async def test_a_requests_fingerprint_is_keyed_and_an_unkeyed_one_still_replays(
    stubs: Stubs, app: App
) -> None:
    """Probe TC: the stored fingerprint was a plain SHA-256 of the request, which names the
    person: from a dump, a phone number came back by trying the numbering plan (0.4 s). It is
    an HMAC under a key of the service secret; a key stored before (a plain SHA-256, within its
    24 h across an upgrade) still replays its answer."""
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(phone="+33611223344"),
        choices=[grant(target("newsletter", types_pb2.CHANNEL_SMS))],
        source=types_pb2.SOURCE_API,
    )
    first = await stubs.consent.RecordConsent(request, metadata=_keyed(stubs, "phone-once"))
    method = "/consent.v1.ConsentService/RecordConsent"
    plain = hashlib.sha256(
        method.encode() + b"\0" + request.SerializeToString(deterministic=True)
    ).digest()
    [stored] = await _fingerprints(app, "phone-once")
    assert (len(stored), stored == plain) == (32, False)
    async with owner(app).begin() as conn:
        await conn.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.key == "phone-once")
            .values(request_sha256=plain)
        )
    again = await stubs.consent.RecordConsent(request, metadata=_keyed(stubs, "phone-once"))
    assert again == first


async def test_an_erasure_keeps_the_answers_of_another_person_on_the_same_browser(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """Probe DY: a browser linked to A, then to B, B's keyed cookie choice; erasing A wiped
    every stored answer naming the visitor, and B's retry was told B was erased. Only the
    answers of a visitor nobody is known by any more go."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    visitor = uuid4().hex
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id=visitor,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_REFUSE_ALL,
        policy_revision=1,
    )
    for person in ("a-shared@example.fr", "b-shared@example.fr"):
        link = cookies_pb2.LinkVisitorRequest(visitor_id=visitor, subject=by_email(person))
        await stubs.cookies.LinkVisitor(link, metadata=stubs.metadata)
        first = await stubs.cookies.RecordCookieChoice(
            choice, metadata=_keyed(stubs, f"shared-{person}")
        )
    erase = rights_pb2.EraseSubjectRequest(subject=by_email("a-shared@example.fr"), actor="dpo")
    await rights.EraseSubject(erase, metadata=stubs.metadata)
    again = await stubs.cookies.RecordCookieChoice(
        choice, metadata=_keyed(stubs, "shared-b-shared@example.fr")
    )
    assert again == first
