"""What recording a consent decides before anything is written, shared by the one-call path
(app/consents.py) and the grouped one (app/grouped_writes.py): the catalogue rules a request
must meet, and the events it becomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from consentd.app.commands import Choice, RecordConsent
from consentd.app.confirmations import pend
from consentd.app.evidence import event_stamp
from consentd.app.ports import UnitOfWork
from consentd.app.subjects import SubjectResolver
from consentd.domain.canonical import stamp
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.model import (
    ALL_TARGETS,
    ConsentEvent,
    ConsentState,
    ProcessingRole,
    Purpose,
    Source,
    Target,
)
from consentd.domain.rights import BlockKind
from consentd.domain.sealing import SubjectKey
from consentd.domain.validity import valid_until

# How far ahead of the server's clock a caller's decided_at is taken as now (clock skew).
DECIDED_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Written:
    """What a write recorded. `subject_id` is None only when a record with decided_at made no
    subject (its contact point erased since, every choice superseded)."""

    subject_id: UUID | None
    events: list[ConsentEvent]
    # The targets of grants decided before something newer on record (superseded_grants).
    superseded: tuple[Target, ...] = ()


def settle_decided(command: RecordConsent, now: datetime) -> RecordConsent:
    """The command with its decided_at (`recorded_at`) read against the server's clock: a time
    up to DECIDED_SKEW ahead is now. Raises InvalidInput for one further ahead."""
    at = command.recorded_at
    if at is None or at <= now:
        return command
    if at - now > DECIDED_SKEW:
        raise InvalidInput(
            "decided_at",
            f"must not be in the future (it is {stamp(at)}, the server's clock {stamp(now)}); "
            "leave it unset for now",
        )
    return replace(command, recorded_at=None)


def superseded_grants(
    command: RecordConsent, current: Sequence[ConsentEvent], since: datetime | None
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without its grants decided (its `recorded_at`, the API's decided_at) before
    what is on record for their target (its own fact or the "everything" one) or before `since`
    (an objection in force, the erasure of the contact point): a CRM sync sending an old "yes"
    late never overrides a newer "no". Refusals always stay (a "no" is never dropped). Returns
    the command left and the targets dropped, in the request's order."""
    decided = command.recorded_at
    if decided is None:
        return command, ()
    facts = {e.target: e.recorded_at for e in current}

    def stale(choice: Choice) -> bool:
        newer = (facts.get(choice.target), facts.get(ALL_TARGETS), since)
        return choice.state is ConsentState.GRANTED and any(
            t is not None and decided < t for t in newer
        )

    dropped = tuple(c.target for c in command.choices if stale(c))
    if not dropped:
        return command, ()
    return replace(command, choices=tuple(c for c in command.choices if not stale(c))), dropped


def require_purposes(purpose_ids: Sequence[str], found: Mapping[str, Purpose], field: str) -> None:
    """Raises NotFound naming the first id not in `found` (the tenant's catalogue entries).

    `field` names where the ids came from: `choices` gives `choices[1].target.purpose`,
    `target` (a single id) gives `target.purpose`."""
    for index, purpose_id in enumerate(purpose_ids):
        if purpose_id not in found:
            where = {
                "choices": f"choices[{index}].target.purpose",
                "targets": f"targets[{index}].purpose",
            }.get(field, f"{field}.purpose")
            # A withdrawal refused here must not be lost: say how to take it all the same.
            instead = ", or withdraw everything with all: true" if field == "targets" else ""
            raise NotFound(
                f"{where}: purpose {purpose_id!r} is not in this tenant's catalogue "
                f"(create it with CatalogService.PutPurpose{instead})",
                code="PURPOSE_NOT_FOUND",
            )


def notices_of(choices: Sequence[Choice], purposes: Mapping[str, Purpose]) -> set[str]:
    """The notices whose published versions the choices must be checked against."""
    return {
        notice_id
        for choice in choices
        if (notice_id := purposes[choice.target.purpose].notice_id) is not None
    }


def require_notices(
    choices: Sequence[Choice],
    purposes: Mapping[str, Purpose],
    versions: Mapping[str, set[int]],
    floors: Mapping[str, int],
) -> None:
    """Each choice on a purpose with a notice names a published version of it (`versions`:
    the published versions of each notice of notices_of()), and a grant one at or above the
    notice's re-consent floor (`floors`, for the notices that have one): a grant below it would
    never count. Raises InvalidInput, or FailedPrecondition for a grant below the floor."""
    for index, choice in enumerate(choices):
        notice_id = purposes[choice.target.purpose].notice_id
        field = f"choices[{index}].notice_version"
        if notice_id is None:
            if choice.notice_version:
                raise InvalidInput(field, f"purpose {choice.target.purpose!r} has no notice")
        elif choice.notice_version not in versions[notice_id]:
            raise InvalidInput(
                field, f"must be a published version of notice {notice_id!r} (the one shown)"
            )
        elif choice.state is ConsentState.GRANTED and choice.notice_version < floors.get(
            notice_id, 0
        ):
            raise FailedPrecondition(
                f"{field}: version {choice.notice_version} of notice {notice_id!r} no longer "
                f"counts, version {floors[notice_id]} asks everyone for consent again: show the "
                "current version and record the grant on it",
                code="NOTICE_OUTDATED",
            )


def choice_events(
    command: RecordConsent,
    subject_id: UUID,
    key: SubjectKey,
    *,
    role: ProcessingRole,
    purposes: Mapping[str, Purpose],
    now: datetime,
    pending_days: int,
) -> list[ConsentEvent]:
    """One event per choice, grants that need confirmation pending. Raises InvalidInput for a
    validity the purpose does not allow."""
    decided = command.recorded_at or now
    common = event_stamp(subject_id, command, role, decided, key)
    events = [
        common.event(
            choice.target,
            choice.state,
            purposes[choice.target.purpose].notice_id,
            choice.notice_version,
            valid_until(
                purposes[choice.target.purpose],
                choice.state,
                decided,
                choice.valid_until,
                f"choices[{index}].valid_until",
            ),
        )
        for index, choice in enumerate(command.choices)
    ]
    return pend(events, purposes, decided, pending_days)


def standing_withdrawals(
    targets: Sequence[Target], current: Sequence[ConsentEvent]
) -> list[ConsentEvent] | None:
    """The withdrawals that stand for every target (its own fact or "everything", the later of
    the two), when each has one: withdrawing again would change nothing (a portal token
    replayed in a loop appended an event and a log entry each time, 200 a second, slowing other
    tenants' writes). None when one of them is not withdrawn."""
    facts = {e.target: e for e in current}
    standing: dict[UUID, ConsentEvent] = {}
    for target in targets:
        said = [f for f in (facts.get(target), facts.get(ALL_TARGETS)) if f is not None]
        fact = max(said, key=lambda f: f.sequence, default=None)
        if fact is None or fact.state is not ConsentState.WITHDRAWN:
            return None
        standing[fact.event_id] = fact
    return list(standing.values()) or None


def refuse_grant_over_objection(command: RecordConsent, objected: datetime | None) -> None:
    """A grant a system sends (SOURCE_API, SOURCE_IMPORT: a CRM sync, a marketing tool) never
    lifts an objection in force, `objected` being since when: RecordObjection, then a nightly
    sync sending `granted` made a check ALLOW again (GDPR art. 21(3)). Only the person lifts it:
    a grant through the portal, a banner or support. Raises FailedPrecondition."""
    if objected is not None and systems_grant(command):
        raise FailedPrecondition(
            f"the person objected on {stamp(objected)}: a grant from a system (source API or "
            "IMPORT) does not lift an objection; only the person does (source PORTAL, BANNER "
            "or SUPPORT)",
            code="OBJECTION_IN_FORCE",
        )


def refuse_systems_return(command: RecordConsent, erased: datetime | None) -> None:
    """A grant a system sends never brings an erased contact point back to a new subject,
    `erased` being when it was erased (None: never): a person objected, then had themselves
    erased, and the next CRM sync's grant made a new subject and a check ALLOW. Only the person
    comes back (a grant through the portal, a banner or support). Raises FailedPrecondition."""
    if erased is not None and systems_grant(command):
        raise FailedPrecondition(
            f"this contact point was erased on {stamp(erased)} at the person's request: a grant "
            "from a system (source API or IMPORT) does not bring the person back; only the "
            "person does (source PORTAL, BANNER or SUPPORT)",
            code="CONTACT_POINT_ERASED",
        )


def systems_grant(command: RecordConsent) -> bool:
    """A grant from a system, not from the person (refuse_grant_over_objection)."""
    return command.source in (Source.API, Source.IMPORT) and any(
        c.state is ConsentState.GRANTED for c in command.choices
    )


async def objected_since(uow: UnitOfWork, subject_id: UUID) -> datetime | None:
    """When the subject's objection in force was recorded; None without one."""
    blocks = await uow.rights.block_history(subject_id)
    times = [b.since for b in blocks if b.kind is BlockKind.OBJECTED and b.lifted_at is None]
    return max(times, default=None)


async def standing(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    tenant_id: UUID,
    command: RecordConsent,
    now: datetime,
) -> tuple[RecordConsent, UUID | None, tuple[Target, ...]]:
    """The record's subject (made when new) and what of the record stands: with a decided_at,
    its grants older than what is on record dropped (superseded_grants), and no subject made
    when nothing is left; a system's grant for an erased contact point nobody holds again is
    refused (refuse_systems_return). Returns the command left, the subject, the targets
    dropped."""
    if command.recorded_at is None and not systems_grant(command):
        found = await subjects.find_or_create(uow, tenant_id, command.identifiers, now)
        return command, found, ()
    digests = subjects.digests(tenant_id, command.identifiers)
    erased = max((await uow.rights.contact_erasures(digests)).values(), default=None)
    command, gone = superseded_grants(command, [], erased)
    if not command.choices:
        return command, None, gone
    if erased is not None and not await uow.subjects.owners(digests):
        refuse_systems_return(command, erased)
    subject_id = await subjects.find_or_create(uow, tenant_id, command.identifiers, now)
    if command.recorded_at is None:
        return command, subject_id, gone
    current = await uow.consents.current(subject_id)
    objected = await objected_since(uow, subject_id)
    command, stale = superseded_grants(command, current, objected)
    return command, subject_id, gone + stale


async def purposes_named(
    uow: UnitOfWork, purpose_ids: Sequence[str], field: str
) -> dict[str, Purpose]:
    """The catalogue entries for the ids; raises NotFound naming the first unknown one (see
    require_purposes for `field`)."""
    found = await uow.catalog.purposes(sorted(set(purpose_ids)))
    require_purposes(purpose_ids, found, field)
    return found


async def check_notices(
    uow: UnitOfWork, choices: Sequence[Choice], purposes: dict[str, Purpose]
) -> None:
    """Each choice on a purpose with a notice names a published version of it."""
    notices = notices_of(choices, purposes)
    versions = {n: await uow.catalog.notice_versions(n) for n in sorted(notices)}
    floors = await uow.catalog.reconsent_floors(sorted(notices)) if notices else {}
    require_notices(choices, purposes, versions, floors)


def expired(fact: ConsentEvent, now: datetime) -> ConsentEvent:
    """The fact as it stands at `now`: a grant (or a pending one) past its valid_until is
    EXPIRED, as every check answers it (the portal showed it GRANTED)."""
    lapsed = fact.valid_until is not None and fact.valid_until <= now
    if lapsed and fact.state in (ConsentState.GRANTED, ConsentState.PENDING):
        return replace(fact, state=ConsentState.EXPIRED)
    return fact
