"""Rights requests on real PostgreSQL with the injected clock and a recording notifier: identity
by one-time code, deadlines, the one extension, overdue lists, and an audit entry per step."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from consentd.app import request_log
from consentd.app.commands import CheckConsent
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.canonical import canonical
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.model import Reason
from consentd.domain.rights import RequestKind, RequestState, RightsRequest
from consentd.domain.tenancy import Principal, Scope, Tenant
from consentd.store.tables import audit_entries
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import TEST_SECRET, TestClock, owner
from tests.integration.helpers import (
    NEWSLETTER,
    catalogue,
    email,
    external,
    grant,
    phone,
    principal,
)

T0 = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


class RecordingNotifier:
    """The tests' notifier: keeps every code it was asked to send, and to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[UUID, Identifier, str]] = []
        self.decisions: list[tuple[UUID, Identifier, RequestState]] = []
        self.texts_phones = True  # False: as without an SMS gateway

    def delivers(self, kind: IdentifierKind) -> bool:
        return self.texts_phones or kind is not IdentifierKind.PHONE

    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None:
        self.sent.append((request_id, contact, code))

    async def send_decision(
        self, tenant: Tenant, request: RightsRequest, contact: Identifier
    ) -> None:
        self.decisions.append((request.request_id, contact, request.state))

    def code_for(self, request_id: UUID) -> str:
        return [code for rid, _, code in self.sent if rid == request_id][-1]


@pytest.fixture(scope="module")
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture(scope="module")
async def rights_app(
    database_url: str, owner_url: str, clock: TestClock, notifier: RecordingNotifier
) -> AsyncIterator[App]:
    application = bootstrap(
        Settings(), database_url, TEST_SECRET, clock, owner_url=owner_url, notifier=notifier
    )
    yield application
    await application.aclose()


async def _transitions(
    app: App, tenant: Tenant, by: str | None = None
) -> list[tuple[str | None, str]]:
    await app.sequencer.drain(tenant.tenant_id)  # the entries are queued; integrate them first
    async with owner(app).connect() as conn:
        rows = await conn.execute(
            sa.select(audit_entries.c.payload)
            .where(
                audit_entries.c.tenant_id == tenant.tenant_id,
                audit_entries.c.action == "rights_request.transitioned",
            )
            .order_by(audit_entries.c.seq)
        )
        payloads = [p for (p,) in rows]
    # Who moved each request (probe VA: the log could not say who attested or refused).
    assert by is None or all(p.get("by") == by for p in payloads), payloads
    return [(p["from"], p["to"]) for p in payloads]


async def test_erase_request_from_code_to_done(
    rights_app: App, tenant: Tenant, clock: TestClock, notifier: RecordingNotifier
) -> None:
    """Submitted on Jan 31 with a code to the subject's own email; a wrong code counts a try;
    the right one verifies and sets the due date to Feb 28; completing it erases the subject in
    the same transaction; every step is audited."""
    app = rights_app
    who = principal(tenant)
    clock.pinned = T0 - timedelta(hours=3)
    await catalogue(app, tenant)
    await grant(app, tenant, email("Mia@Example.fr"), phone("0611223344"))
    submitted = await app.requests.submit(
        who, RequestKind.ERASE, email("mia@example.fr"), IdentifierKind.EMAIL
    )
    request_id = submitted.request.request_id
    assert submitted.code_sent
    sent_to = [contact for rid, contact, _ in notifier.sent if rid == request_id]
    assert sent_to == [email("mia@example.fr")]
    code = notifier.code_for(request_id)

    clock.pinned = T0
    with capture_logs() as logged, pytest.raises(InvalidInput, match=r"\(4 tries left\)"):
        await app.requests.confirm_identity(who, request_id, _wrong(notifier, request_id))
    assert (await app.requests.get(who, request_id)).code_attempts == 1
    wrong = [e for e in logged if e["event"] == "rights_code_wrong"]
    assert [(e["request_id"], e["tries"]) for e in wrong] == [(str(request_id), 1)]
    verified = await app.requests.confirm_identity(who, request_id, code)
    assert verified.state is RequestState.IDENTITY_VERIFIED
    assert verified.due_at == datetime(2027, 2, 28, 7, 0, tzinfo=UTC)  # from receipt, T0 - 3 h
    with pytest.raises(FailedPrecondition):
        await app.requests.confirm_identity(who, request_id, code)

    with pytest.raises(FailedPrecondition):
        await app.requests.complete(who, request_id, "erased", "dpo")
    await app.requests.start(who, request_id)
    done = await app.requests.complete(who, request_id, "erased", "dpo")
    assert (done.state, done.closed_at) == (RequestState.DONE, T0)
    check = await app.consents.check_consent(who, CheckConsent(email("mia@example.fr"), NEWSLETTER))
    assert check.verdict.reason is Reason.ERASED
    assert await _transitions(app, tenant, by="test") == [
        (None, "received"),
        ("received", "identity_verified"),
        ("identity_verified", "in_progress"),
        ("in_progress", "done"),
    ]
    assert (await app.audit.verify(tenant)).ok


def _wrong(notifier: RecordingNotifier, request_id: UUID) -> str:
    """Six digits, not the code sent (one that is not six digits is not a try at all)."""
    return f"{(int(notifier.code_for(request_id)) + 1) % 10**6:06d}"


async def test_codes_expire_and_five_wrong_tries_in_all_lock_the_request(
    rights_app: App, tenant: Tenant, clock: TestClock, notifier: RecordingNotifier
) -> None:
    """A code is good for 24 hours; a request for five wrong tries in all: a new code renews
    the time, not the tries (a probe reset them with a resend, again and again, guessing a
    6-digit code), and once they are spent no code is sent: an operator attests."""
    app = rights_app
    who = principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, phone("0611223355"))
    submitted = await app.requests.submit(
        who, RequestKind.ACCESS, phone("0611223355"), IdentifierKind.PHONE
    )
    request_id = submitted.request.request_id
    for _ in range(3):
        with pytest.raises(InvalidInput):
            await app.requests.confirm_identity(who, request_id, _wrong(notifier, request_id))
    assert await app.requests.resend_code(who, request_id, IdentifierKind.PHONE)
    assert not await app.requests.resend_code(who, request_id, IdentifierKind.EMAIL)
    clock.pinned = T0 + timedelta(hours=24, seconds=1)
    with pytest.raises(FailedPrecondition, match="expired"):
        await app.requests.confirm_identity(who, request_id, notifier.code_for(request_id))
    await app.requests.resend_code(who, request_id, IdentifierKind.PHONE)
    verified = await app.requests.confirm_identity(who, request_id, notifier.code_for(request_id))
    assert verified.verification_method == "one_time_code"

    other = await app.requests.submit(
        who, RequestKind.ACCESS, phone("0611223355"), IdentifierKind.PHONE
    )
    other_id = other.request.request_id
    for _ in range(2):
        with pytest.raises(InvalidInput):
            await app.requests.confirm_identity(who, other_id, _wrong(notifier, other_id))
    assert await app.requests.resend_code(who, other_id, IdentifierKind.PHONE)
    for _ in range(3):  # five in all, across two codes
        with pytest.raises(InvalidInput):
            await app.requests.confirm_identity(who, other_id, _wrong(notifier, other_id))
    with pytest.raises(FailedPrecondition, match="an operator must attest"):
        await app.requests.confirm_identity(who, other_id, notifier.code_for(other_id))
    sent = len(notifier.sent)
    with pytest.raises(FailedPrecondition, match="an operator must attest"):
        await app.requests.resend_code(who, other_id, IdentifierKind.PHONE)
    assert len(notifier.sent) == sent  # no code goes out any more


async def test_an_erasure_closes_the_persons_other_requests(
    rights_app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Probe CD: the person's rectification, objection and restriction requests stayed open after
    their erasure, went overdue and were warned about every quarter hour, for ever. The
    erasure closes them in its transaction, each saying why: done once verified, refused
    before (no identity was ever shown); every move logged, the chain verifies."""
    app, who = rights_app, principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, email("z@example.fr"))
    kinds = (RequestKind.RECTIFY, RequestKind.OBJECT, RequestKind.RESTRICT, RequestKind.ERASE)
    ids = {}
    for kind in kinds:
        submitted = await app.requests.submit(who, kind, email("z@example.fr"), None)
        ids[kind] = submitted.request.request_id
    for kind in kinds[1:]:
        await app.requests.attest_identity(who, ids[kind], "dpo")
    for kind in kinds[2:]:
        await app.requests.start(who, ids[kind])
    clock.pinned = T0 + timedelta(days=3)
    await app.requests.complete(who, ids[RequestKind.ERASE], "erased", "dpo")
    after = {kind: await app.requests.get(who, ids[kind]) for kind in kinds}
    assert [after[k].state for k in kinds] == [
        RequestState.REFUSED,
        RequestState.DONE,
        RequestState.DONE,
        RequestState.DONE,
    ]
    assert all("was erased on 2027-02-03" in after[k].outcome for k in kinds[:3])
    clock.pinned = datetime(2027, 6, 1, 10, 0, tzinfo=UTC)
    assert (await app.requests.listed(who, True, None, 0, "")).items == []
    assert (await app.audit.verify(tenant)).ok


async def test_extension_once_before_due_and_the_overdue_list(
    rights_app: App, tenant: Tenant, clock: TestClock
) -> None:
    """An operator attests identity on Jan 31 (due Feb 28); one is extended by two months
    (Apr 28) before the due date, a second extension is refused; on Mar 1 only the other is
    overdue, on Apr 29 both; a refused request is never overdue."""
    app = rights_app
    who = principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, email("o1@example.fr"))
    ids = []
    for kind in (RequestKind.PORT, RequestKind.RECTIFY, RequestKind.OBJECT):
        submitted = await app.requests.submit(who, kind, email("o1@example.fr"), None)
        assert not submitted.code_sent
        await app.requests.attest_identity(who, submitted.request.request_id, "dpo")
        ids.append(submitted.request.request_id)
    late, extended, refused = ids
    clock.pinned = T0 + timedelta(days=20)
    stretched = await app.requests.extend(who, extended, 2, "several requests at once")
    # 11:00 in Paris on 28 February, 11:00 there on 28 April: summer time by then (9:00 UTC).
    assert stretched.extended_due_at == datetime(2027, 4, 28, 9, 0, tzinfo=UTC)
    with pytest.raises(FailedPrecondition, match="one extension"):
        await app.requests.extend(who, extended, 1, "again")
    await app.requests.refuse(who, refused, "manifestly unfounded")

    clock.pinned = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(FailedPrecondition, match="before the first due date"):
        await app.requests.extend(who, late, 1, "too late")
    overdue = await app.requests.listed(who, True, None, 0, "")
    assert [r.request_id for r in overdue.items] == [late]
    clock.pinned = datetime(2027, 4, 29, 10, 0, tzinfo=UTC)
    overdue = await app.requests.listed(who, True, None, 0, "")
    assert {r.request_id for r in overdue.items} == {late, extended}
    refused_only = await app.requests.listed(who, False, RequestState.REFUSED, 0, "")
    assert [r.request_id for r in refused_only.items] == [refused]
    # Probe CD: one answered late read overdue false once closed; it says it was late.
    assert refused_only.items[0].closed_late is False
    await app.requests.start(who, late)
    await app.rights.export(who, email("o1@example.fr"))  # what answers it
    answered = await app.requests.complete(who, late, "ported", "dpo")
    assert (answered.is_overdue(clock()), answered.closed_late) == (False, True)
    # Probe DX: the person's copy left out how they were verified, the first due date once
    # extended, and lateness.
    document = await app.rights.export(who, email("o1@example.fr"))
    entries = {UUID(r["request_id"]): r for r in document["rights_requests"]}
    assert {k: entries[extended][k] for k in ("due_at", "first_due_at")} == {
        "due_at": "2027-04-28T09:00:00.000000Z",
        "first_due_at": "2027-02-28T10:00:00.000000Z",
    }
    assert entries[extended]["identity_verified_by"] == "operator"
    assert entries[extended]["person_told_of_extension_at"] == "2027-02-20T10:00:00.000000Z"
    assert (entries[late]["closed_late"], entries[refused]["closed_late"]) == (True, False)


async def test_an_access_request_is_done_only_once_the_person_was_exported(
    rights_app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Probe FD: an access or portability request was closed done with nothing handed over, on
    time in the log. An export made before it was received does not answer it; one made after
    does, and the completion's log entry names that export's digest."""
    app, who = rights_app, principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, email("asked@example.fr"))
    await app.rights.export(who, email("asked@example.fr"))  # before the request: not its answer
    clock.pinned = T0 + timedelta(days=1)
    submitted = await app.requests.submit(who, RequestKind.ACCESS, email("asked@example.fr"), None)
    request_id = submitted.request.request_id
    await app.requests.attest_identity(who, request_id, "dpo")
    await app.requests.start(who, request_id)
    unanswered = r"an access request .*\(ExportSubject\)"
    with pytest.raises(FailedPrecondition, match=unanswered) as refused:
        await app.requests.complete(who, request_id, "sent", "dpo")
    assert refused.value.code == "NOT_EXPORTED"
    clock.pinned = T0 + timedelta(days=2)
    document = await app.rights.export(who, email("asked@example.fr"))
    done = await app.requests.complete(who, request_id, "sent", "dpo")
    assert done.state is RequestState.DONE
    payload = await _done_entry(app, tenant, request_id)
    assert payload["export_sha256"] == hashlib.sha256(canonical(document)).hexdigest()


async def _done_entry(app: App, tenant: Tenant, request_id: UUID) -> dict[str, Any]:
    """The payload of the log entry that closed the request done."""
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        logged = await conn.execute(
            sa.select(audit_entries.c.payload).where(
                audit_entries.c.tenant_id == tenant.tenant_id,
                audit_entries.c.action == "rights_request.transitioned",
                audit_entries.c.payload["request_id"].astext == str(request_id),
                audit_entries.c.payload["to"].astext == "done",
            )
        )
        (payload,) = logged.scalars()
    return dict(payload)


async def test_an_erasure_waits_for_the_persons_verified_access_request_to_be_answered(
    rights_app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Probe GD: an erasure closed the person's verified access request done with nothing
    handed over (nothing could be afterwards). It is refused, nothing erased, until the person
    was exported; the access request is then done naming that export."""
    app, who = rights_app, principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, email("both@example.fr"))
    ids = {}
    for kind in (RequestKind.ACCESS, RequestKind.ERASE):
        submitted = await app.requests.submit(who, kind, email("both@example.fr"), None)
        ids[kind] = submitted.request.request_id
        await app.requests.attest_identity(who, ids[kind], "dpo")
    await app.requests.start(who, ids[RequestKind.ERASE])
    with pytest.raises(FailedPrecondition, match=r"an access request .*ExportSubject") as refused:
        await app.requests.complete(who, ids[RequestKind.ERASE], "erased", "dpo")
    assert refused.value.code == "ACCESS_UNANSWERED"
    assert (await app.rights.export(who, email("both@example.fr"))).get("subject")
    # Probe IK: one not verified yet was refused by the erasure, the person never told.
    port = await app.requests.submit(who, RequestKind.PORT, email("both@example.fr"), None)
    with pytest.raises(FailedPrecondition, match="identity not verified yet") as unverified:
        await app.requests.complete(who, ids[RequestKind.ERASE], "erased", "dpo")
    assert unverified.value.code == "ACCESS_UNANSWERED"
    await app.requests.refuse(who, port.request.request_id, "identity not shown")
    await app.requests.complete(who, ids[RequestKind.ERASE], "erased", "dpo")
    access = await app.requests.get(who, ids[RequestKind.ACCESS])
    assert access.state is RequestState.DONE
    assert len((await _done_entry(app, tenant, ids[RequestKind.ACCESS]))["export_sha256"]) == 64
    assert (await app.audit.verify(tenant)).ok


async def test_an_unverified_request_is_due_from_receipt_and_listed_overdue(
    rights_app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Submitted Jan 31 and never verified: due Feb 28 (the acknowledged receipt starts the
    month), on the overdue list on Mar 1; a request verified later keeps that due date."""
    app = rights_app
    who = principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, email("u@example.fr"))
    waiting = await app.requests.submit(who, RequestKind.ERASE, email("u@example.fr"), None)
    verified_late = await app.requests.submit(who, RequestKind.ACCESS, email("u@example.fr"), None)
    assert waiting.request.due_at == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    clock.pinned = T0 + timedelta(days=20)
    verified = await app.requests.attest_identity(who, verified_late.request.request_id, "dpo")
    assert verified.due_at == waiting.request.due_at
    clock.pinned = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    overdue = await app.requests.listed(who, True, None, 0, "")
    assert {r.request_id for r in overdue.items} == {
        waiting.request.request_id,
        verified_late.request.request_id,
    }


async def test_paging_and_unknown_requests(rights_app: App, tenant: Tenant) -> None:
    """Requests list a page at a time; an unknown request id is NotFound."""
    app = rights_app
    who = principal(tenant)
    await catalogue(app, tenant)
    await grant(app, tenant, email("p@example.fr"))
    for _ in range(3):
        await app.requests.submit(who, RequestKind.ACCESS, email("p@example.fr"), None)
    first = await app.requests.listed(who, False, None, 2, "")
    second = await app.requests.listed(who, False, None, 2, first.next_page_token)
    assert (len(first.items), len(second.items), second.next_page_token) == (2, 1, "")
    with pytest.raises(NotFound):
        await app.requests.get(who, UUID(int=1))
    with pytest.raises(NotFound):
        await app.requests.start(who, UUID(int=1))
    with pytest.raises(InvalidInput):
        await app.requests.listed(who, False, None, 2, "not-a-token")


async def test_concurrent_transitions_have_one_winner(rights_app: App, tenant: Tenant) -> None:
    """Ten concurrent StartRightsRequest on one request: the row lock lets exactly one move it,
    the nine others get FailedPrecondition, and one transition is audited."""
    app = rights_app
    who = principal(tenant)
    await catalogue(app, tenant)
    await grant(app, tenant, email("race@example.fr"))
    submitted = await app.requests.submit(who, RequestKind.ACCESS, email("race@example.fr"), None)
    request_id = submitted.request.request_id
    await app.requests.attest_identity(who, request_id, "dpo")
    results = await asyncio.gather(
        *(app.requests.start(who, request_id) for _ in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, FailedPrecondition) for r in results if isinstance(r, BaseException))
    assert (await _transitions(app, tenant)).count(("identity_verified", "in_progress")) == 1


async def test_a_decision_nobody_can_be_told_of_is_said_in_the_log(
    rights_app: App, tenant: Tenant, notifier: RecordingNotifier, clock: TestClock
) -> None:
    """A refusal for a person known by phone only, with no SMS gateway, reached nobody and
    nothing said so (GDPR art. 12(4): the person must be told): a warning names the request,
    never the number."""
    app, who = rights_app, principal(tenant)
    notifier.texts_phones = False
    clock.pinned = None
    await catalogue(app, tenant)
    await grant(app, tenant, phone("+33612345699"))
    submitted = await app.requests.submit(who, RequestKind.ACCESS, phone("+33612345699"), None)
    request_id = submitted.request.request_id
    await app.requests.attest_identity(who, request_id, "dpo")
    try:
        with capture_logs() as logs:
            refused = await app.requests.refuse(who, request_id, "manifestly unfounded")
    finally:
        notifier.texts_phones = True
    assert refused.person_told_at is None
    untold = [e for e in logs if e["event"] == "rights_decision_not_sent"]
    assert [e["request_id"] for e in untold] == [str(request_id)]
    assert "no phone or no SMS gateway" in untold[0]["error"]  # it said "no phone on record"
    assert "612345699" not in repr(logs)
    assert request_id not in {rid for rid, _, _ in notifier.decisions}
    # An extension the operator says the person was told of otherwise: nothing to warn of (the
    # log told them to tell the person another way; probe BI), nothing sent.
    other = await app.requests.submit(who, RequestKind.ACCESS, phone("+33612345699"), None)
    await app.requests.attest_identity(who, other.request.request_id, "dpo")
    notifier.texts_phones = False
    try:
        with capture_logs() as quiet:
            extended = await app.requests.extend(
                who, other.request.request_id, 2, "complexe", told=True
            )
    finally:
        notifier.texts_phones = True
    assert extended.person_told_at is not None
    assert [e for e in quiet if e["event"] == "rights_decision_not_sent"] == []
    assert other.request.request_id not in {rid for rid, _, _ in notifier.decisions}


async def test_a_request_from_someone_nobody_recorded_is_kept(
    rights_app: App, tenant: Tenant, notifier: RecordingNotifier
) -> None:
    """An access request from an address the tenant holds nothing on was NOT_FOUND: the registry
    could not record or time it, though it must be answered within the month (art. 15, 12(3)),
    even with "nothing". It makes the subject, and a code goes to that address; an unknown
    subject id is still NotFound."""
    app, who = rights_app, principal(tenant)
    await catalogue(app, tenant)
    stranger = email("never-recorded@example.fr")
    submitted = await app.requests.submit(who, RequestKind.ACCESS, stranger, IdentifierKind.EMAIL)
    assert submitted.request.state is RequestState.RECEIVED
    assert submitted.code_sent
    assert [c for rid, c, _ in notifier.sent if rid == submitted.request.request_id] == [stranger]
    listed = await app.requests.listed(who, False, None, 0, "")
    assert submitted.request.request_id in {r.request_id for r in listed.items}
    with pytest.raises(NotFound):
        await app.requests.submit(who, RequestKind.ACCESS, UUID(int=7), None)


async def test_an_e_mail_sent_before_the_operator_told_the_person_records_nothing_over_it(
    rights_app: App, tenant: Tenant, clock: TestClock, notifier: RecordingNotifier
) -> None:
    """Probe GI: a replica's e-mailed "told" of an extension, landing after an operator's
    RecordPersonTold, rewrote the told time the log had (verify named the request), or logged
    a second one. The operator's stands: the e-mail's records nothing, verify stays ok."""
    app, who = rights_app, principal(tenant)
    clock.pinned = T0
    await catalogue(app, tenant)
    await grant(app, tenant, phone("+33612345699"))
    submitted = await app.requests.submit(who, RequestKind.ACCESS, phone("+33612345699"), None)
    request_id = submitted.request.request_id
    await app.requests.attest_identity(who, request_id, "dpo")
    clock.pinned = T0 + timedelta(days=2)
    notifier.texts_phones = False  # as without an SMS gateway: nobody tells them but us
    try:
        extended = await app.requests.extend(who, request_id, 1, "many records")
    finally:
        notifier.texts_phones = True
    assert extended.person_told_at is None
    clock.pinned = T0 + timedelta(days=3)
    told = await app.requests.told(who, request_id)
    assert told.person_told_at == T0 + timedelta(days=3)

    def uows(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(app.engine, tenant_id)

    late = await request_log.told(uows, tenant.tenant_id, extended, T0 + timedelta(days=4))
    assert late.person_told_at == T0 + timedelta(days=3)  # the operator's, said as such (GJ)
    assert (await app.requests.get(who, request_id)).person_told_at == T0 + timedelta(days=3)
    assert (await app.audit.verify(tenant)).ok


async def test_an_objection_request_stops_marketing_once_verified(
    rights_app: App, tenant: Tenant
) -> None:
    """Probe IK: an objection request filed and verified, never completed, left every check
    ALLOW (a grant, a legitimate interest) for a year. Direct marketing stops on the objection
    (art. 21(3)): in force once the identity is verified, one objection entry, the completion
    adding none."""
    app, who = rights_app, principal(tenant)
    await catalogue(app, tenant)
    await grant(app, tenant, email("olga@example.fr"))
    submitted = await app.requests.submit(who, RequestKind.OBJECT, email("olga@example.fr"), None)
    request_id = submitted.request.request_id
    asked = CheckConsent(email("olga@example.fr"), NEWSLETTER)
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    await app.requests.attest_identity(who, request_id, "dpo")
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.OBJECTED
    # The person grants again in person; closing the request does not put the objection back
    # over their word (probe IL: it did).
    await grant(app, tenant, email("olga@example.fr"))
    await app.requests.start(who, request_id)
    await app.requests.complete(who, request_id, "objection recorded", "dpo")
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        query = sa.select(sa.func.count()).where(
            audit_entries.c.tenant_id == tenant.tenant_id,
            audit_entries.c.action == "subject.objected",
        )
        assert (await conn.execute(query)).scalar_one() == 1
    assert (await app.audit.verify(tenant)).ok


async def test_an_objection_filed_again_through_the_portal_is_in_force_again(
    rights_app: App, tenant: Tenant
) -> None:
    """Probe IL: the person objected through the portal, granted again, then objected anew:
    answered with the open request, the check stayed ALLOW until the DPO closed it."""
    app, who = rights_app, principal(tenant)
    await catalogue(app, tenant)
    await grant(app, tenant, external("cust-nine"), email("nine@example.fr"))
    portal = Principal(tenant, "portal", frozenset({Scope.SELF}), subject=external("cust-nine"))
    asked = CheckConsent(external("cust-nine"), NEWSLETTER)
    first = await app.requests.submit(portal, RequestKind.OBJECT, external("cust-nine"), None)
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.OBJECTED
    await grant(app, tenant, external("cust-nine"))
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    again = await app.requests.submit(portal, RequestKind.OBJECT, external("cust-nine"), None)
    assert again.request.request_id == first.request.request_id
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.OBJECTED
    assert (await app.audit.verify(tenant)).ok


async def test_completing_an_objection_request_over_a_standing_one_adds_nothing(
    rights_app: App, tenant: Tenant
) -> None:
    """Probe IM: verified while an objection stood (a direct one, or another request's), the
    request got no block of its own, and its completion put the objection back over the grant
    the person gave again since. Its own block at verification, named by its caller."""
    app, who = rights_app, principal(tenant)
    await catalogue(app, tenant)
    await grant(app, tenant, email("twice@example.fr"))
    await app.rights.object(who, email("twice@example.fr"))
    asked = CheckConsent(email("twice@example.fr"), NEWSLETTER)
    filed = await app.requests.submit(who, RequestKind.OBJECT, email("twice@example.fr"), None)
    request_id = filed.request.request_id
    await app.requests.attest_identity(who, request_id, "dpo")
    await grant(app, tenant, email("twice@example.fr"))
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    await app.requests.start(who, request_id)
    await app.requests.complete(who, request_id, "objection recorded", "dpo")
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        query = sa.select(audit_entries.c.payload).where(
            audit_entries.c.tenant_id == tenant.tenant_id,
            audit_entries.c.action == "subject.objected",
        )
        payloads = (await conn.execute(query)).scalars().all()
    mine = [p for p in payloads if p["request_id"] == str(request_id)]
    assert [p["by"] for p in mine] == [who.caller]  # who attested, as a direct objection says
    assert (await app.audit.verify(tenant)).ok


async def test_an_objection_request_filed_before_the_persons_grant_does_not_void_it(
    rights_app: App, tenant: Tenant
) -> None:
    """Probe IN: the person filed an objection request, then granted again in person; its
    verification afterwards put an objection over that grant (and over a newer double opt-in,
    whose confirmation then granted nothing). Their later word stands: nothing is put in force."""
    app, who = rights_app, principal(tenant)
    await catalogue(app, tenant)
    await grant(app, tenant, email("later@example.fr"))
    filed = await app.requests.submit(who, RequestKind.OBJECT, email("later@example.fr"), None)
    await grant(app, tenant, email("later@example.fr"))  # in person, after filing
    await app.requests.attest_identity(who, filed.request.request_id, "dpo")
    asked = CheckConsent(email("later@example.fr"), NEWSLETTER)
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    await app.requests.start(who, filed.request.request_id)
    await app.requests.complete(who, filed.request.request_id, "superseded", "dpo")
    assert (await app.consents.check_consent(who, asked)).verdict.reason is Reason.GRANTED
    assert (await app.audit.verify(tenant)).ok
