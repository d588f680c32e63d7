"""What every rights request transition reads and logs: the locked request, the subject's open
request of a kind, the audit entry of a move (app/requests.py drives them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

import structlog

from consentd.app.blocking import block_subject, spoken_since
from consentd.app.ports import UnitOfWork, UnitOfWorkFactory
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.canonical import stamp, stamp_or_none
from consentd.domain.errors import FailedPrecondition, NotFound
from consentd.domain.rights import (
    OPEN_STATES,
    BlockKind,
    RequestKind,
    RequestState,
    RightsRequest,
)

log = structlog.get_logger("consentd.rights")


async def locked(uow: UnitOfWork, request_id: UUID) -> RightsRequest:
    """The request, locked for its transition, after its subject's write lock: an erasure takes
    that lock, then closes the subject's open requests; a transition locking the request first,
    then the subject (an erase request completed), deadlocked with it (probe DO: INTERNAL).
    Raises NotFound."""
    found = await uow.requests.get(request_id)
    if found is None:
        raise unknown_request()
    await uow.consents.lock_subject(found.subject_id)
    request = await uow.requests.get(request_id, for_update=True)
    if request is None:
        raise unknown_request()
    return request


def transition(
    request: RightsRequest,
    before: RightsRequest | None,
    now: datetime,
    answer: str | None = None,
    *,
    by: str | None = None,
) -> AuditRecord:
    """The audit entry of a request's move from `before` (None: received); `answer`: the digest
    of the export that answered an access or portability request; `by`: the caller who moved
    it (`key:<id>`, `link:<pseudonym>`: the log could not say who attested or refused; VA)."""
    payload = {
        "request_id": str(request.request_id),
        "subject_id": str(request.subject_id),
        "kind": request.kind.value,
        "from": before.state.value if before else None,
        "to": request.state.value,
        "due_at": stamp_or_none(request.effective_due_at),
        "extended": request.extended_due_at is not None,
        # What the due date in force depends on, for audit verify (probe GE: an extended date
        # moved, or a told time forged, verified ok while the person was not told).
        "extended_due_at": stamp_or_none(request.extended_due_at),
        "person_told_at": stamp_or_none(request.person_told_at),
        # The method's name only, never the operator's own words ("operator:saw the ID card of
        # ..."): the log cannot be edited nor erased, and those words may name the person (probe
        # AO); an unkeyed digest of them could be guessed (probe AP).
        "verification": request.verified_by or None,
    }
    if answer is not None:
        payload["export_sha256"] = answer
    if by is not None:
        payload["by"] = by
    return AuditRecord(Action.REQUEST_TRANSITIONED, now, payload, request.subject_id)


async def saved(
    uow: UnitOfWork,
    before: RightsRequest,
    after: RightsRequest,
    now: datetime,
    answer: str | None = None,
    *,
    by: str,
) -> None:
    """`after` stored and logged (`by`: the caller, of an objection it puts in force), and the
    unit of work committed; a move that changes nothing (told again) writes nothing."""
    if after is not before:
        await uow.requests.save(after)
        uow.audit.record(transition(after, before, now, answer, by=by))
        await objection_once_verified(uow, before, after, now, by)
    await uow.commit(after)


async def objection_once_verified(
    uow: UnitOfWork, before: RightsRequest, after: RightsRequest, now: datetime, by: str
) -> None:
    """An objection request's objection is in force once the identity is verified (art. 21(3);
    left open, a verified request answered ALLOW for a year: probe IK), a block of its own even
    when one stands: its completion adds one only for a request verified before this was so;
    never over the person's own word given since they filed it (probes IL, IM, IN)."""
    if after.kind is not RequestKind.OBJECT or after.state is before.state:
        return
    verified = after.state is RequestState.IDENTITY_VERIFIED
    if after.state is RequestState.DONE:
        history = await uow.rights.block_history(after.subject_id)
        if any(b.request_id == after.request_id for b in history):
            return
    elif not verified:
        return
    if not await spoken_since(uow, after.subject_id, after.received_at):
        await _objected(uow, after, now, by, again=verified)


async def _objected(
    uow: UnitOfWork, request: RightsRequest, now: datetime, by: str, *, again: bool = False
) -> None:
    """The request's objection in force (`again`: a block of its own even when one stands)."""
    subject, at = request.subject_id, lambda: now
    objected = BlockKind.OBJECTED
    await block_subject(uow, subject, objected, at, request.request_id, by=by, again=again)


async def filed_again_by_token(
    uow: UnitOfWork, pending: RightsRequest, now: datetime, by: str
) -> RightsRequest:
    """The person's open request filed again through the portal: verified by the token, or its
    objection in force again (granted again since, they objected anew: it stayed ALLOW; IL)."""
    if pending.state is RequestState.RECEIVED:
        return await verified_by_token(uow, pending, now, by)
    if pending.kind is RequestKind.OBJECT:
        await _objected(uow, pending, now, by)
    return pending


# The requests answered by handing the person their data: done only once it was handed over.
_ANSWERED_BY_EXPORT = frozenset({RequestKind.ACCESS, RequestKind.PORT})
_NAMES = {RequestKind.ACCESS: "an access request", RequestKind.PORT: "a portability request"}


async def export_answering(uow: UnitOfWork, request: RightsRequest) -> str | None:
    """The digest of the export that answers an access or portability request (None for other
    kinds). Raises FailedPrecondition when the subject was not exported since it was received
    (probe FD: such a request was closed done with nothing handed over, on time in the log)."""
    if request.kind not in _ANSWERED_BY_EXPORT:
        return None
    answer = await uow.audit.exported_since(request.subject_id, request.received_at)
    if answer is None:
        raise FailedPrecondition(
            f"{_NAMES[request.kind]} is answered by the person's data: export it "
            "(ExportSubject) and give it to them, then complete the request (no export of this "
            f"subject since the request was received, {stamp(request.received_at)})",
            code="NOT_EXPORTED",
        )
    return answer


async def open_request(
    uow: UnitOfWork, subject_id: UUID, kind: RequestKind
) -> RightsRequest | None:
    """The subject's request of this kind still open (not done nor refused), if any."""
    closed = (RequestState.DONE, RequestState.REFUSED)
    mine = await uow.requests.of_subject(subject_id)
    return next((r for r in mine if r.kind is kind and r.state not in closed), None)


async def held(uow: UnitOfWork, subject_id: UUID) -> None:
    """The subject's write lock (an erasure takes it: a request filed while one ran was taken
    for a subject erased the instant after), then raises FailedPrecondition if it was erased
    (named by its id: its identifiers find no one any more)."""
    await uow.consents.lock_subject(subject_id)
    erased = await uow.rights.erased_at(subject_id)
    if erased is not None:
        raise FailedPrecondition(
            f"the subject was erased at {stamp(erased)}: nothing is held to act on",
            code="SUBJECT_ERASED",
        )


def unknown_request() -> NotFound:
    """A request id this tenant does not have (read or locked alike)."""
    return NotFound("no such rights request in this tenant", code="REQUEST_NOT_FOUND")


async def told(
    uows: UnitOfWorkFactory, tenant_id: UUID, request: RightsRequest, at: datetime
) -> RightsRequest:
    """`request` with when its person was told of its latest decision, recorded: the condition
    of an extension, which the operator could not see met (probe AL). A failure to record it is
    logged: the person was told, the request stands."""
    try:
        async with uows(tenant_id) as uow:
            if await uow.requests.told(request, at):
                uow.audit.record(transition(replace(request, person_told_at=at), request, at))
            # As it stands: told now, or meanwhile another way (RecordPersonTold; probe GJ).
            held = await uow.requests.get(request.request_id)
            await uow.commit()
    except Exception as error:  # noqa: BLE001 - the decision is committed and sent
        log.warning(
            "rights_decision_told_not_recorded",
            request_id=str(request.request_id),
            error=type(error).__name__,
        )
        return request
    return held or request


async def close_with_erasure(
    uow: UnitOfWork, subject_id: UUID, erasing: UUID | None, now: datetime
) -> int:
    """The erased subject's other open requests, closed in the erasure's unit of work (an
    access, a port, a rectification, a restriction or an objection has nothing left to act
    on): left open they went overdue and were warned about every quarter hour, for ever (probe
    CD). One verified is done, one not yet verified refused (no identity was ever shown), each
    saying why and logged as every transition is. How many."""
    why = f"the person was erased on {stamp(now)}: nothing is held about them any more"
    closed = 0
    for found in await uow.requests.of_subject(subject_id):
        if found.request_id == erasing or found.state not in OPEN_STATES:
            continue
        request = await locked(uow, found.request_id)
        answer = await _answered_before_erasure(uow, request)
        for step in _closing(request, now, why):
            done = step.state is RequestState.DONE
            uow.audit.record(transition(step, request, now, answer if done else None))
            request = step
        await uow.requests.save(request)
        closed += 1
    return closed


async def _answered_before_erasure(uow: UnitOfWork, request: RightsRequest) -> str | None:
    """The export answering a verified access or portability request, which an erasure would
    close done. Raises FailedPrecondition when there is none (GD: closed with nothing handed
    over) and for one not verified yet (IK: refused without a word to the person nor the DPO).
    Any other request is closed by the erasure."""
    if request.kind not in _ANSWERED_BY_EXPORT:
        return None
    if request.state is RequestState.RECEIVED:
        raise FailedPrecondition(
            f"{_NAMES[request.kind]} of this person ({request.request_id}) is open, its "
            "identity not verified yet: verify and answer it, or refuse it (the person is told "
            "why), before erasing",
            code="ACCESS_UNANSWERED",
        )
    try:
        return await export_answering(uow, request)
    except FailedPrecondition:
        raise FailedPrecondition(
            f"{_NAMES[request.kind]} of this person ({request.request_id}) is open: export "
            "the person (ExportSubject), give it to them and complete it, or refuse it, "
            "before erasing (nothing could be handed over afterwards)",
            code="ACCESS_UNANSWERED",
        ) from None


def _closing(request: RightsRequest, now: datetime, why: str) -> list[RightsRequest]:
    """The moves that close an open request for `why`: refused before identity, else done
    (started first when it was not)."""
    if request.state is RequestState.RECEIVED:
        return [request.refused(now, why)]
    started = [request.started(now)] if request.state is RequestState.IDENTITY_VERIFIED else []
    return [*started, (started[-1] if started else request).done(now, why)]


async def verified_by_token(
    uow: UnitOfWork, request: RightsRequest, now: datetime, by: str
) -> RightsRequest:
    """The request verified by the person's portal token, saved and logged."""
    verified = request.verified(now, "portal_token")
    await uow.requests.save(verified)
    uow.audit.record(transition(verified, request, now, by=by))
    await objection_once_verified(uow, request, verified, now, by)
    return verified


# Open requests counted at most, for the purge's note.
_COUNTED = 10_000


async def open_requests_note(uow: UnitOfWork, now: datetime, tenant: str = "") -> str | None:
    """What a tenant purge says of the rights requests it deletes still open, None when there
    are none (probe DM: it deleted overdue ones without a word to the DPO)."""
    far = datetime.max.replace(tzinfo=now.tzinfo)
    found = await uow.requests.listed(far, None, None, _COUNTED)
    if not found:
        return None
    late = sum(1 for r in found if r.effective_due_at is not None and r.effective_due_at < now)
    log.warning("purge_deletes_open_rights_requests", tenant=tenant, open=len(found), overdue=late)
    return (
        f"rights requests: {len(found)} still open ({late} past their due date) deleted with the "
        "tenant's data; answer them from a copy kept before the purge where the law asks"
    )
