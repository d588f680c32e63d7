"""Changes of a subject made inside a caller's unit of work (RightsUseCases, the rights
requests' completion): its audit record, a block put in force, and the time such a change is
stamped at (never before the subject's newest fact or block)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from consentd.app.ports import Clock, UnitOfWork
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.decision import PERSON_SOURCES, persons_word
from consentd.domain.errors import FailedPrecondition
from consentd.domain.model import ConsentEvent, ConsentState
from consentd.domain.rights import BlockKind, BlockRecord


def subject_record(
    action: str,
    subject_id: UUID,
    now: datetime,
    payload: dict[str, Any],
    block_id: UUID | None = None,
) -> AuditRecord:
    """A change of the subject; a block's entry carries the block's id as its fact (the feed
    gives it a position, `audit verify` compares it with its row)."""
    body = {"subject_id": str(subject_id), **payload}
    return AuditRecord(action, now, body, subject_id, fact_id=block_id)


async def block_subject(
    uow: UnitOfWork,
    subject_id: UUID,
    kind: BlockKind,
    clock: Clock,
    request_id: UUID | None,
    *,
    by: str,
    again: bool = False,
) -> None:
    """Put a restriction or objection in force (audited unless it already was). The subject's
    write lock first, and the block's time read once it is held: a grant committed while this
    waited (a double opt-in confirmation) must be older than the block, or it lifts it. Never
    before the subject's newest fact either (as events, migration 0021): a grant stamped by a
    clock that was ahead, then stepped back, was later than the objection and lifted it."""
    await uow.consents.lock_subject(subject_id)
    if request_id is not None and await uow.rights.erased_at(subject_id) is not None:
        return  # a request filed before the person was erased: the erasure did more
    await refuse_erased(uow, subject_id, _VERBS[kind])
    current = await uow.consents.current(subject_id)
    blocks = await uow.rights.block_history(subject_id)
    if kind is BlockKind.OBJECTED and not again and _objection_stands(current, blocks):
        return
    now = _after(clock(), current, blocks)
    block = await uow.rights.add_block(subject_id, kind, now, request_id)
    if block is not None:
        action = (
            Action.SUBJECT_RESTRICTED if kind is BlockKind.RESTRICTED else Action.SUBJECT_OBJECTED
        )
        # Who did it (the key or portal token's caller name): a DPO could not say (probe T).
        payload = {"request_id": str(request_id) if request_id else None, "by": by}
        uow.audit.record(subject_record(action, subject_id, now, payload, block))


_VERBS = {BlockKind.RESTRICTED: "restrict", BlockKind.OBJECTED: "object to"}


async def refuse_erased(uow: UnitOfWork, subject_id: UUID, what: str) -> None:
    """Raises FailedPrecondition (SUBJECT_ERASED) for an erased subject: nothing is written
    about them any more (a restriction, lifted or not, and an objection were: the feed showed
    blocks after the erasure; probe BA). Under the subject's lock, which the erasure takes."""
    if await uow.rights.erased_at(subject_id) is not None:
        raise FailedPrecondition(
            f"the subject was erased: nothing to {what}", code="SUBJECT_ERASED"
        )


def _objection_stands(current: Sequence[ConsentEvent], blocks: Sequence[BlockRecord]) -> bool:
    """Whether the subject's newest objection follows every grant of theirs (`current`: its
    current facts): nothing was taken back since, so objecting again changes nothing. After the
    person's own grant it does (it answered OK and the check stayed ALLOW; probe Y)."""
    objected = [b.since for b in blocks if b.kind is BlockKind.OBJECTED]
    if not objected:
        return False
    # Only a grant takes a target back: a "no" after the objection leaves it standing (a
    # withdrawal, then objecting again, added a block each time; probe Z).
    grants = [e.recorded_at for e in current if e.state is ConsentState.GRANTED]
    return all(at < max(objected) for at in grants)


async def after_its_facts(uow: UnitOfWork, subject_id: UUID, now: datetime) -> datetime:
    """`now`, or just after the subject's newest fact or block when that is later (a clock
    stepped back since): a block, an erasure or a rectification is never stamped before what
    it follows. An objection stamped ahead, then a rectification at the clock's time, ended
    the address's holding before the objection began, and the address was not closed to the
    next CRM grant (probe S)."""
    current = await uow.consents.current(subject_id)
    return _after(now, current, await uow.rights.block_history(subject_id))


def _after(
    now: datetime, current: Sequence[ConsentEvent], blocks: Sequence[BlockRecord]
) -> datetime:
    """`now`, or just after the newest of these facts and blocks when that is later."""
    newest = max([e.recorded_at for e in current] + [b.since for b in blocks], default=None)
    return now if newest is None or newest < now else newest + timedelta(microseconds=1)


async def objected_since(uow: UnitOfWork, subject_id: UUID) -> datetime | None:
    """When the subject's objection in force was recorded; None without one."""
    blocks = await uow.rights.block_history(subject_id)
    times = [b.since for b in blocks if b.kind is BlockKind.OBJECTED and b.lifted_at is None]
    return max(times, default=None)


async def spoken_since(uow: UnitOfWork, subject_id: UUID, since: datetime) -> bool:
    """Whether the person gave their own word for a purpose after `since`: a grant in person
    (or confirmed), or an ask they put in person (a double opt-in pending). An objection request
    filed before it is older than that word: put in force at its verification, it voided the
    person's later grant or confirmation (probe IN)."""
    for fact in await uow.consents.current(subject_id):
        if fact.recorded_at <= since:
            continue
        if fact.state is ConsentState.GRANTED and persons_word(fact):
            return True
        if fact.state is ConsentState.PENDING and fact.source in PERSON_SOURCES:
            return True
    return False
