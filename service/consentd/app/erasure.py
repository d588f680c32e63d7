"""Erasure by crypto-shredding, inside the caller's unit of work (RightsUseCases.erase, and a
completed erasure request: app/requests.py): the identifiers suppressed and unlinked, every
current consent marked erased, the data key destroyed, the person's other requests closed,
one audit entry."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from consentd.app.blocking import after_its_facts, subject_record
from consentd.app.keys import SubjectKeys
from consentd.app.ports import UnitOfWork
from consentd.app.ports._base import Digest
from consentd.app.request_log import close_with_erasure
from consentd.domain.audit import Action
from consentd.domain.model import ALL, ConsentEvent, ConsentState, Source
from consentd.domain.rights import BlockKind
from consentd.domain.tenancy import Principal


@dataclass(frozen=True, slots=True)
class Erasure:
    subject_id: UUID | None  # None: the contact point named was erased before (erase())
    erased_at: datetime
    identifiers_suppressed: int
    events_appended: int
    again: bool = False  # erased before this call (nothing written)


def _erased_events(
    current: Sequence[ConsentEvent], actor: str, now: datetime, by: Principal
) -> list[ConsentEvent]:
    """An ERASED event for each current consent (but "everything" and those erased already),
    from the erasure's own source: the person's portal, or an operator acting for them (it
    claimed the replaced fact's: an erasure a DPO carried out read "portal", probe FD)."""
    source = Source.PORTAL if by.subject is not None else Source.SUPPORT
    return [
        ConsentEvent(
            event_id=uuid4(),
            sequence=0,
            subject_id=e.subject_id,
            target=e.target,
            state=ConsentState.ERASED,
            notice_id=None,
            notice_version=None,
            source=source,
            actor=actor,
            processing_role=e.processing_role,
            recorded_at=now,
            valid_until=None,
            evidence_reference="",
        )
        for e in current
        if e.target.purpose != ALL and e.state is not ConsentState.ERASED
    ]


def _points(suppressed: list[Digest]) -> list[str]:
    """The contact points an erasure suppressed, as `kind:digest` (the keyed digests the
    suppression list holds and exports): audit verify names one gone from the list (probe ID:
    deleted as the owner, a system's grant made the erased person ALLOW, verify ok)."""
    return sorted({f"{kind.value}:{digest.hex()}" for kind, digest in suppressed})


async def erase_subject(
    uow: UnitOfWork,
    subject_id: UUID,
    now: datetime,
    actor: str,
    request_id: UUID | None,
    *,
    by: Principal,
    keys: SubjectKeys,
    reason: str | None = None,
) -> Erasure:
    """Erase inside the caller's unit of work: suppress and unlink the identifiers, mark every
    current consent erased, destroy the data key, stamp the subject, audit it. The subject's
    write lock first: a write waiting on it is refused once this commits (migration 0019).
    Erased already (a call racing this one, the retention job): when, and nothing written (two
    EraseSubject at once wrote an entry each, at its own time; probe IH). `reason`, logged,
    says why when it was not the person's request."""
    await uow.consents.lock_subject(subject_id)
    if (erased := await uow.rights.erased_at(subject_id)) is not None:
        return Erasure(subject_id, erased, 0, 0, again=True)
    return await _erased(uow, subject_id, now, actor, request_id, by=by, keys=keys, reason=reason)


async def _erased(
    uow: UnitOfWork,
    subject_id: UUID,
    now: datetime,
    actor: str,
    request_id: UUID | None,
    *,
    by: Principal,
    keys: SubjectKeys,
    reason: str | None,
) -> Erasure:
    now = await after_its_facts(uow, subject_id, now)
    # Its earlier addresses too: a CRM's stale copy of one made a new subject, ALLOW (probe X).
    former = await uow.rights.former_contact_points(subject_id)
    removed = await uow.rights.detach(subject_id, None, now)
    suppressed = [(i.kind, i.digest) for i in removed] + former
    await uow.rights.suppress(suppressed, BlockKind.ERASED, now)
    erased_events = _erased_events(await uow.consents.current(subject_id), actor, now, by)
    await uow.consents.append(erased_events, now)
    # Cookie choices name the person through their visitor: they go (counts stay), visitors too.
    cookies = await uow.cookies.erase_subject(subject_id)
    await uow.cookie_purge.add_counts(cookies.counts)
    await uow.rights.forget_replays(subject_id, cookies.visitors)
    check = await keys.vouched(uow, by.tenant_id, subject_id)  # kept by the tenant (0050)
    await uow.rights.destroy_key(subject_id, check, now)
    await uow.requests.forget_words(subject_id)
    requests_closed = await close_with_erasure(uow, subject_id, request_id, now)
    erased_at = await uow.rights.mark_erased(subject_id, now)
    payload = {
        "identifiers_suppressed": dict(Counter(i.kind.value for i in removed)),
        "former_contact_points_suppressed": len(former),
        "suppressed": _points(suppressed),  # which, for audit verify
        "events_erased": [str(e.event_id) for e in erased_events],
        "cookie_choices_deleted": sum(cookies.counts.values()),
        "cookie_choices_erased": [str(c) for c in cookies.choices],  # for audit verify (FI)
        "cookie_visitors_deleted": len(cookies.visitors),
        "request_id": str(request_id) if request_id else None,
        "requests_closed": requests_closed,
        # Who erased: the actor was kept only on the ERASED events (none without consents).
        # Its digest, as the consent entries keep it: the log is never edited, and a name
        # typed there stayed in it in clear at least 12 months (probe PC).
        "actor_sha256": hashlib.sha256(actor.encode()).hexdigest(),
        "by": by.caller,
        **({"reason": reason} if reason else {}),  # no person asked (app/inactive_subjects.py)
    }
    uow.audit.record(subject_record(Action.SUBJECT_ERASED, subject_id, now, payload))
    return Erasure(subject_id, erased_at, len(suppressed), len(erased_events))
