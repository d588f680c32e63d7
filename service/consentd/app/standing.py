"""Who may say what, and when it counts: a grant from a system never lifts an objection nor
takes back a contact point erased or left by an objector, and choices decided earlier
(decided_at) never override a newer "no". Shared by the one-call path (app/consents.py) and the
grouped one (app/grouped_writes.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from consentd.app.blocking import objected_since
from consentd.app.commands import RecordConsent
from consentd.app.confirmation_rules import NOTHING_NAMED, Named, asked_of_the_person
from consentd.app.late_choices import (
    lapsed_grants,
    late_holder,
    late_since,
    superseded_grants,
    taken_over_grants,
)
from consentd.app.ports import Digest, UnitOfWork
from consentd.app.subjects import SubjectResolver
from consentd.app.taken_back import (
    IN_PERSON,
    latest_closure,
    systems_grant,
    without_an_erased_persons_grants,
    without_closed_grants,
    without_held_closed_grants,
)
from consentd.domain.canonical import stamp
from consentd.domain.contact_points import Closed
from consentd.domain.decision import PERSON_SOURCES, objection_to, persons_no, standing_stop
from consentd.domain.errors import FailedPrecondition
from consentd.domain.model import (
    Channel,
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    Purpose,
    Target,
)


def refuse_grant_over_objection(command: RecordConsent, objected: datetime | None) -> None:
    """A grant a system sends (SOURCE_API, SOURCE_IMPORT: a CRM sync, a marketing tool) never
    lifts an objection in force, `objected` being since when: RecordObjection, then a nightly
    sync sending `granted` made a check ALLOW again (GDPR art. 21(3)). Only the person lifts it:
    a grant through the portal, a banner or support. Raises FailedPrecondition."""
    if objected is not None and systems_grant(command):
        raise FailedPrecondition(
            f"the person objected on {stamp(objected)}: a grant from a system does not lift an "
            f"objection; only the person does ({IN_PERSON})",
            code="OBJECTION_IN_FORCE",
        )


def refuse_grant_over_stop(
    command: RecordConsent, said: Said, confirming: frozenset[str] = frozenset()
) -> None:
    """A system's grant (systems_grant) never lifts a "no" only the person lifts (standing_no):
    a withdrawal of everything, of every channel or of its target's (a STOP to a text message
    is an objection to the channel, CPCE L34-5: the next CRM sync's grant made a check ALLOW
    right after it, probe BF), or the person's own refusal or withdrawal of that target (the
    unsubscribe link, the portal: probe CD). Only the person lifts it, for each target they
    grant. A grant of a purpose in `confirming` (double opt-in) is left to the person's
    confirmation, theirs (probe CE: a sign-up form could not re-subscribe anyone who had
    unsubscribed). Raises FailedPrecondition (STOP_IN_FORCE)."""
    if not systems_grant(command):
        return
    for choice in command.choices:
        no = standing_no(choice.target, said)
        asked = choice.target.purpose in confirming
        if choice.state is not ConsentState.GRANTED or no is None or asked:
            continue
        if no.source not in PERSON_SOURCES and not no.target.is_all:
            what = f"an objection to this purpose was recorded (source {no.source.value})"
        elif no.target.is_all:
            # Who recorded it (a system's withdrawal of everything counts as the person's STOP):
            # "the person withdrew" sent a CRM team looking for a STOP nobody sent (probe HC).
            where = "every channel" if no.target.channel is Channel.ALL else "this channel"
            what = f"everything on {where} was withdrawn (source {no.source.value})"
        else:
            how = "refused" if no.state is ConsentState.REFUSED else "withdrew"
            what = f"the person {how} this themselves ({no.source.value})"
        raise FailedPrecondition(
            f"{what} on {stamp(no.recorded_at)}: a grant from a system does not lift it; only "
            f"the person does ({IN_PERSON})",
            code="STOP_IN_FORCE",
        )


class Said(NamedTuple):
    """A subject's current facts, the person's latest word on each target (persons_words), and
    the tenant's legitimate-interest purposes (a "no" to one is an objection: objection_to)."""

    current: Sequence[ConsentEvent] = ()
    words: Sequence[ConsentEvent] = ()
    objecting: frozenset[str] = frozenset()


async def said_by(uow: UnitOfWork, subject_id: UUID, objecting: frozenset[str]) -> Said:
    current = await uow.consents.current(subject_id)
    return Said(current, await uow.consents.persons_words(subject_id), objecting)


def standing_no(target: Target, said: Said) -> ConsentEvent | None:
    """The "no" for `target` that only the person lifts: a withdrawal of everything standing
    for it among the current facts (domain/decision.standing_stop), or the person's own
    refusal or withdrawal of it, their latest word on it (`words`, persons_words;
    domain/decision.persons_no) whatever a system wrote since: a CRM's nightly grant made a
    check ALLOW a second after the person unsubscribed (probe CD), and a CRM's own "no" then
    "yes" did the same (probe CE), or an objection to a legitimate-interest purpose, whoever
    relayed it (objection_to). Migration 0063's consentd_stop_stands says the same for the
    append function and the import."""
    # A stop is lifted by the person's grant of the target after it, current or not (probe
    # CG: bounce handling's "no" replaced it and the stop stood again; migration 0046).
    return (
        standing_stop(target, [*said.current, *said.words])
        or persons_no(target, said.words)
        or objection_to(target, said.current, said.objecting)
    )


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
    named: Named = NOTHING_NAMED,
) -> Standing:
    """The record's subject (made when new) and what of the record stands: with a decided_at,
    its grants lapsed before they arrived (lapsed_grants) or older than what is on record
    (superseded_grants) dropped, and no subject made when nothing is left; a system's grant is
    refused over an objection in force (refuse_grant_over_objection), and for a closed contact
    point (erased, left by an objector) unless its holder came back in person
    (refuse_systems_return). The events are stamped `now`, or after the objection a grant of
    the person's lifts (after_objection)."""
    command, lapsed = lapsed_grants(command, purposes, now)
    confirming = frozenset(p for p, v in purposes.items() if v.requires_confirmation)
    objecting = frozenset(
        p for p, v in purposes.items() if v.lawful_basis is LawfulBasis.LEGITIMATE_INTEREST
    )
    found = await _standing(
        uow, subjects, tenant_id, command, now, bases=(confirming, objecting), named=named
    )
    return found._replace(dropped=lapsed + found.dropped)


async def _standing(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    tenant_id: UUID,
    command: RecordConsent,
    now: datetime,
    *,
    bases: tuple[frozenset[str], frozenset[str]],
    named: Named,
) -> Standing:
    confirming, objecting = bases  # asked by double opt-in; resting on legitimate interest
    granted = any(c.state is ConsentState.GRANTED for c in command.choices)
    if command.recorded_at is None and not systems_grant(command):
        found = await subjects.find_or_create(uow, tenant_id, command.identifiers, now)
        objected = await objected_since(uow, found) if granted else None
        return Standing(command, found, (), after_objection(objected, now))
    digests = subjects.digests(tenant_id, command.identifiers)
    closures = await uow.rights.closed_contact_points(digests)
    closed = latest_closure(c for c in closures.values() if c.whole)
    since = await late_since(uow, digests, command, closed.at if closed else None)
    command, gone = superseded_grants(command, [], since)
    if not command.choices:
        return Standing(command, None, gone, now)
    command, shut = await without_closed_grants(uow, command, closures)
    earlier = await late_holder(uow, digests, command)  # a late "no" is theirs
    subject_id = earlier or await subjects.find_or_create(uow, tenant_id, command.identifiers, now)
    command, shut_too = await _still_closed(uow, command, subject_id, digests, closures)
    gone += shut + shut_too
    stale: tuple[Target, ...] = ()
    if command.recorded_at is not None:
        # The lock before the facts: a withdrawal committing meanwhile was lost (8 of 60 races).
        await uow.consents.lock_subject(subject_id)
        said = await said_by(uow, subject_id, objecting)
        objected = await objected_since(uow, subject_id)
        command, stale = superseded_grants(command, said.current, objected)
        command, taken = await taken_over_grants(uow, command, subject_id, digests)
        stale += taken
    else:
        said = Said()
        if systems_grant(command):
            # The lock first: an objection committing meanwhile was read as absent, and the
            # grant, stamped before it, was written after it (probe Y; migration 0032).
            await uow.consents.lock_subject(subject_id)
            said = await said_by(uow, subject_id, objecting)
        objected = await objected_since(uow, subject_id)
    # What is left of a system's grants (a decided_at before the objection dropped them).
    ids = (tenant_id, subject_id)
    asked = await _asked(uow, subjects, command, said, confirming, named=named, ids=ids)
    command, blocked = without_blocked_grants(command, objected, said, asked)
    return Standing(command, subject_id, gone + stale + blocked, after_objection(objected, now))


async def _still_closed(
    uow: UnitOfWork,
    command: RecordConsent,
    subject_id: UUID,
    digests: Sequence[Digest],
    read: Mapping[Digest, Closed],
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without a system's grants to a contact point closed since `read` was read,
    read again under the subject's write lock (an erasure takes it first: one committing
    between that read and find_or_create left the address unlinked and, as read,
    unsuppressed, and a new subject took it with the grant, ALLOW for an erased person; probe
    XC, 9 of 300 races), nor any when the subject was made with an erased one
    (without_an_erased_persons_grants), nor to one it holds closed (without_held_closed_grants).
    Raises as without_closed_grants does."""
    meanwhile: tuple[Target, ...] = ()
    if systems_grant(command):
        await uow.consents.lock_subject(subject_id)
        closures = await uow.rights.closed_contact_points(digests)
        if closures != read:
            command, meanwhile = await without_closed_grants(uow, command, closures)
        command, alone = await without_an_erased_persons_grants(uow, command, subject_id)
        meanwhile += alone
    command, held = await without_held_closed_grants(uow, command, subject_id, digests)
    return command, meanwhile + held


async def _asked(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    command: RecordConsent,
    said: Said,
    confirming: frozenset[str],
    *,
    named: Named,
    ids: tuple[UUID, UUID],
) -> frozenset[str]:
    """The double opt-in purposes (`confirming`) whose grants from a system over the person's
    own "no" (or a stop) are asked of them rather than refused: all, unless such a "no" stands
    for one and the ask is not put to the person (asked_of_the_person, from what the record
    `named`; `ids`: the tenant's and the subject's)."""
    over_no = any(
        c.state is ConsentState.GRANTED
        and c.target.purpose in confirming
        and standing_no(c.target, said) is not None
        for c in command.choices
    )
    if not over_no or not systems_grant(command):
        return confirming
    theirs = await asked_of_the_person(
        uow, subjects, named, command, tenant_id=ids[0], subject_id=ids[1]
    )
    return confirming if theirs else frozenset()


def without_blocked_grants(
    command: RecordConsent, objected: datetime | None, said: Said, confirming: frozenset[str]
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without a system's grants over an objection in force or a STOP
    (refuse_grant_over_objection, refuse_grant_over_stop), and their targets, when it records
    something else too: a refusal beside them was lost with the whole call (probe BG). Raises
    as those do when nothing else is left."""
    if not systems_grant(command):
        return command, ()
    left, blocked = command.without_grants(
        lambda c: (
            objected is not None
            or (c.target.purpose not in confirming and standing_no(c.target, said) is not None)
        )
    )
    if blocked and not left.choices:
        refuse_grant_over_objection(command, objected)
        refuse_grant_over_stop(command, said, confirming)
    return left, blocked


def after_objection(objected: datetime | None, now: datetime) -> datetime:
    """When a record is stamped: never before the objection in force (`objected`) its grant
    lifts. Stamped after the subject's newest fact, an objection can be ahead of a clock
    stepped back; the person's new grant, stamped at the clock's time, came before it and
    never counted (probe S)."""
    return now if objected is None or objected < now else objected + timedelta(microseconds=1)
