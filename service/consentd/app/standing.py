"""Who may say what, and when it counts: a grant from a system never lifts an objection nor
takes back a contact point erased or left by an objector, and choices decided earlier
(decided_at) never override a newer "no". Shared by the one-call path (app/consents.py) and the
grouped one (app/grouped_writes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from consentd.app.commands import RecordConsent, WithdrawConsent
from consentd.app.late_choices import (
    lapsed_grants,
    late_holder,
    late_since,
    superseded_grants,
)
from consentd.app.ports import Digest, UnitOfWork
from consentd.app.ports.batches import PartRead
from consentd.app.subjects import SubjectResolver
from consentd.domain.canonical import stamp
from consentd.domain.contact_points import Closed
from consentd.domain.decision import standing_stop
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import Identifier
from consentd.domain.model import (
    Channel,
    ConsentEvent,
    ConsentState,
    Purpose,
    Source,
    Target,
)
from consentd.domain.rights import BlockKind

# What "only the person" means, in the refusals' messages.
_IN_PERSON = (
    "source PORTAL, BANNER or SUPPORT, from a key with scope consent:attest or admin; a "
    "source API or IMPORT, or a key without either, is a system"
)


def refuse_grant_over_objection(command: RecordConsent, objected: datetime | None) -> None:
    """A grant a system sends (SOURCE_API, SOURCE_IMPORT: a CRM sync, a marketing tool) never
    lifts an objection in force, `objected` being since when: RecordObjection, then a nightly
    sync sending `granted` made a check ALLOW again (GDPR art. 21(3)). Only the person lifts it:
    a grant through the portal, a banner or support. Raises FailedPrecondition."""
    if objected is not None and systems_grant(command):
        raise FailedPrecondition(
            f"the person objected on {stamp(objected)}: a grant from a system does not lift an "
            f"objection; only the person does ({_IN_PERSON})",
            code="OBJECTION_IN_FORCE",
        )


def refuse_grant_over_stop(command: RecordConsent, current: Sequence[ConsentEvent]) -> None:
    """A system's grant (systems_grant) never lifts a withdrawal of everything, of every
    channel or of its target's (a STOP to a text message is an objection to the channel, CPCE
    L34-5): the next CRM sync's grant made a check ALLOW right after it (probe BF). Only the
    person lifts it, for each target they grant. Raises FailedPrecondition (STOP_IN_FORCE)."""
    if not systems_grant(command):
        return
    for choice in command.choices:
        stop = standing_stop(choice.target, current)
        if choice.state is ConsentState.GRANTED and stop is not None:
            where = "every channel" if stop.target.channel is Channel.ALL else "this channel"
            raise FailedPrecondition(
                f"the person withdrew everything on {where} on {stamp(stop.recorded_at)}: a "
                f"grant from a system does not lift it; only the person does ({_IN_PERSON})",
                code="STOP_IN_FORCE",
            )


def refuse_systems_return(command: RecordConsent, closed: Closed | None) -> None:
    """A grant a system sends never takes back a contact point only the person takes back
    (`closed`; None: it is not): erased at the person's request (they objected, had themselves
    erased, and the next CRM sync's grant made a new subject and a check ALLOW), or left by a
    holder who objected (RectifyContact: their "no" stays on the old address). Only the person
    does (a grant through the portal, a banner or support). Raises FailedPrecondition."""
    if closed is None or not systems_grant(command):
        return
    if closed.reason is BlockKind.ERASED:
        raise FailedPrecondition(
            f"this contact point was erased on {stamp(closed.at)} at the person's request: a "
            "grant from a system does not bring the person back; only the person does "
            f"({_IN_PERSON})",
            code="CONTACT_POINT_ERASED",
        )
    raise FailedPrecondition(
        f"the person who held this contact point until {stamp(closed.at)} objected (or withdrew "
        "everything on its channel: a STOP), and that stays on it: a grant from a system does "
        "not lift it; only the person who "
        f"holds it now does ({_IN_PERSON})",
        code="OBJECTION_IN_FORCE",
    )


# Where the person speaks for themselves (not a system of the tenant's).
PERSON_SOURCES = (Source.PORTAL, Source.BANNER, Source.SUPPORT)


def systems_grant(command: RecordConsent) -> bool:
    """A grant from a system, not from the person (refuse_grant_over_objection): source API or
    IMPORT, or a source in person from a caller that does not vouch for it."""
    in_person = command.source in PERSON_SOURCES and command.vouched
    return not in_person and any(c.state is ConsentState.GRANTED for c in command.choices)


async def objected_since(uow: UnitOfWork, subject_id: UUID) -> datetime | None:
    """When the subject's objection in force was recorded; None without one."""
    blocks = await uow.rights.block_history(subject_id)
    times = [b.since for b in blocks if b.kind is BlockKind.OBJECTED and b.lifted_at is None]
    return max(times, default=None)


class Standing(NamedTuple):
    """What of a record stands: the command left, its subject (None when nothing is left to
    write), the targets dropped, and when its events are stamped."""

    command: RecordConsent
    subject_id: UUID | None
    dropped: tuple[Target, ...]
    at: datetime


async def standing(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    tenant_id: UUID,
    command: RecordConsent,
    now: datetime,
    *,
    purposes: Mapping[str, Purpose],
) -> Standing:
    """The record's subject (made when new) and what of the record stands: with a decided_at,
    its grants lapsed before they arrived (lapsed_grants) or older than what is on record
    (superseded_grants) dropped, and no subject made when nothing is left; a system's grant is
    refused over an objection in force (refuse_grant_over_objection), and for a closed contact
    point (erased, left by an objector) unless its holder came back in person
    (refuse_systems_return). The events are stamped `now`, or after the objection a grant of
    the person's lifts (after_objection)."""
    command, lapsed = lapsed_grants(command, purposes, now)
    found = await _standing(uow, subjects, tenant_id, command, now)
    return found._replace(dropped=lapsed + found.dropped)


async def _standing(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    tenant_id: UUID,
    command: RecordConsent,
    now: datetime,
) -> Standing:
    granted = any(c.state is ConsentState.GRANTED for c in command.choices)
    if command.recorded_at is None and not systems_grant(command):
        found = await subjects.find_or_create(uow, tenant_id, command.identifiers, now)
        objected = await objected_since(uow, found) if granted else None
        return Standing(command, found, (), after_objection(objected, now))
    digests = subjects.digests(tenant_id, command.identifiers)
    closures = await uow.rights.closed_contact_points(digests)
    closed = latest_closure(closures.values())
    since, handed = await late_since(uow, digests, command, closed.at if closed else None)
    command, gone = superseded_grants(command, [], since)
    if not command.choices:
        return Standing(command, None, gone, now)
    if closures and systems_grant(command):
        await refuse_unless_taken_back(uow, command, closures)
    earlier = await late_holder(uow, handed, command.recorded_at)  # a late "no" is theirs
    subject_id = earlier or await subjects.find_or_create(uow, tenant_id, command.identifiers, now)
    stale: tuple[Target, ...] = ()
    if command.recorded_at is not None:
        # The subject's lock before its facts are read: a withdrawal committing meanwhile was
        # read as absent, and this older grant, appended after it, won (8 of 60 races).
        await uow.consents.lock_subject(subject_id)
        current = await uow.consents.current(subject_id)
        objected = await objected_since(uow, subject_id)
        command, stale = superseded_grants(command, current, objected)
    else:
        current = []
        if systems_grant(command):
            # The lock first: an objection committing meanwhile was read as absent, and the
            # grant, stamped before it, was written after it (probe Y; migration 0032).
            await uow.consents.lock_subject(subject_id)
            current = await uow.consents.current(subject_id)
        objected = await objected_since(uow, subject_id)
    # What is left of a system's grants (a decided_at before the objection dropped them).
    command, blocked = without_blocked_grants(command, objected, current)
    return Standing(command, subject_id, gone + stale + blocked, after_objection(objected, now))


def without_blocked_grants(
    command: RecordConsent, objected: datetime | None, current: Sequence[ConsentEvent]
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without a system's grants over an objection in force or a STOP
    (refuse_grant_over_objection, refuse_grant_over_stop), and their targets, when it records
    something else too: a refusal beside them was lost with the whole call (probe BG). Raises
    as those do when nothing else is left."""
    if not systems_grant(command):
        return command, ()
    blocked = [
        c
        for c in command.choices
        if c.state is ConsentState.GRANTED
        and (objected is not None or standing_stop(c.target, current) is not None)
    ]
    if not blocked:
        return command, ()
    kept = tuple(c for c in command.choices if c not in blocked)
    if not kept:
        refuse_grant_over_objection(command, objected)
        refuse_grant_over_stop(command, current)
    return replace(command, choices=kept), tuple(c.target for c in blocked)


def after_objection(objected: datetime | None, now: datetime) -> datetime:
    """When a record is stamped: never before the objection in force (`objected`) its grant
    lifts. Stamped after the subject's newest fact, an objection can be ahead of a clock
    stepped back; the person's new grant, stamped at the clock's time, came before it and
    never counted (probe S)."""
    return now if objected is None or objected < now else objected + timedelta(microseconds=1)


async def refuse_unless_taken_back(
    uow: UnitOfWork, command: RecordConsent, closures: Mapping[Digest, Closed]
) -> None:
    """Refuse a system's grant naming a closed contact point unless whoever holds that contact
    point now came back in person since it was closed (came_back). The holder of that contact
    point, not of another identifier named beside it: a CRM grant naming the old address with
    another customer's phone was taken, and linked the address to them (probe S)."""
    held = await uow.rights.holdings(list(closures))
    for digest, closure in closures.items():
        holding = held.get(digest)
        # A grant before the holder took the address over says nothing of it: a customer's
        # portal grant, then RectifyContact giving them the address, let a CRM grant through
        # (probe U). A grant made with the address (at its holding's start) counts.
        if holding is None or not await came_back(
            uow, holding[0], max(closure.at, holding[1] - timedelta(microseconds=1))
        ):
            refuse_systems_return(command, closure)


def latest_closure(found: Iterable[Closed]) -> Closed | None:
    """Of the closures of a request's contact points, the latest (an erasure on a tie)."""
    return max(found, key=lambda c: (c.at, c.reason is BlockKind.ERASED), default=None)


async def came_back(uow: UnitOfWork, subject_id: UUID, closed: datetime) -> bool:
    """Whether the person holding a closed contact point (erased, left by an objector) came
    back themselves since: a grant of theirs from the portal, a banner or support recorded
    after it. A refusal or withdrawal (the objector clicking "unsubscribe" in an old
    newsletter let the next CRM grant through; probe S), a system's fact, a rights request or
    another identifier linked is not the person taking it back. Nor is a grant in person from a
    caller that does not speak for the person (attested False): a plain write key's PORTAL
    grant for the holder's phone, then a CRM grant for the erased address, reopened it (probe
    Y; events from before migration 0033 are trusted on their source, as they were)."""
    return any(
        fact.source in PERSON_SOURCES
        and fact.attested is not False
        and fact.state is ConsentState.GRANTED
        and fact.recorded_at > closed
        for fact in await uow.consents.current(subject_id)
    )


def alone_for_blocks(
    command: RecordConsent | WithdrawConsent,
    known: UUID | None,
    named: dict[Digest, Identifier],
    read: PartRead,
) -> bool:
    """Raises for a grant a system may not make (an objection in force, a closed contact point
    nobody holds); True when whether it may turns on the holder having come back in person
    since it was closed, which the one-call path reads (came_back). For the grouped path
    (app/grouped_writes.py), from what its batch read."""
    if not isinstance(command, RecordConsent):
        return False
    closed = latest_closure(c for d, c in read.closed.items() if d in named)
    if known is None:
        refuse_systems_return(command, closed)
        return False
    objected = read.objections.get(known)
    if all(c.state is ConsentState.GRANTED for c in command.choices):
        refuse_grant_over_objection(command, objected)  # else alone: its "no" is recorded
    # The person granting over their objection: stamped after it, alone (after_objection). A
    # grant in person from a caller that does not vouch is a system's that the append function
    # cannot tell (its source says PORTAL): alone, it reads the objection under the subject's
    # lock (raced by an objection, 9 of 40 were written after it; probe Z).
    granted = any(c.state is ConsentState.GRANTED for c in command.choices)
    systems = systems_grant(command)
    unvouched = systems and command.source in PERSON_SOURCES
    return (closed is not None and systems) or (objected is not None and granted) or unvouched
