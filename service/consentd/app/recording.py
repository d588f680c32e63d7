"""What recording a consent decides before anything is written, shared by the one-call path
(app/consents.py) and the grouped one (app/grouped_writes.py): the catalogue rules a request
must meet, and the events it becomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from consentd.app.commands import Choice, RecordConsent
from consentd.app.evidence import event_stamp
from consentd.app.ports import UnitOfWork
from consentd.domain.confirmations import Delivery, pend
from consentd.domain.decision import persons_word
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.model import (
    ConsentEvent,
    ConsentState,
    ProcessingRole,
    Purpose,
    Target,
)
from consentd.domain.sealing import SubjectKey
from consentd.domain.validity import valid_until


@dataclass(frozen=True, slots=True)
class Written:
    """What a write recorded. `subject_id` is None only when a record with decided_at made no
    subject (its contact point erased since, every choice superseded)."""

    subject_id: UUID | None
    events: list[ConsentEvent]
    # The targets of grants decided before something newer on record (superseded_grants).
    superseded: tuple[Target, ...] = ()
    # What became of the double opt-in message of its pending grants (None: none was sent).
    confirmation: Delivery | None = None
    # Grants of double opt-in purposes that stand already (app/confirmation_rules.py).
    not_asked_again: tuple[Target, ...] = ()


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
    """Each grant on a purpose with a notice names a published version of it, and so does
    each refusal that names one (`versions`: the published versions of each notice of
    notices_of()); a refusal may name none. A grant names one at or above the
    notice's re-consent floor (`floors`, for the notices that have one): a grant below it would
    never count. Raises InvalidInput, or FailedPrecondition for a grant below the floor."""
    for index, choice in enumerate(choices):
        notice_id = purposes[choice.target.purpose].notice_id
        field = f"choices[{index}].notice_version"
        if notice_id is None:
            if choice.notice_version:
                raise InvalidInput(field, f"purpose {choice.target.purpose!r} has no notice")
        elif choice.notice_version is None and choice.state is not ConsentState.GRANTED:
            continue  # a "no" is never refused for want of the notice shown (a CRM's refusal)
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
    validity the purpose does not allow. Validity counts from when the person decided (the
    API's decided_at); the events are recorded now: history answers what checks answered then
    (`as_of`), which a late write must not rewrite."""
    decided = command.recorded_at or now
    common = event_stamp(subject_id, command, role, now, key)
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
    return pend(events, purposes, now, pending_days)


def standing_withdrawals(
    targets: Sequence[Target], current: Sequence[ConsentEvent]
) -> list[ConsentEvent] | None:
    """The withdrawals that stand for every target (its own fact, the person's, or "everything",
    the later of the two), when each has one: withdrawing again would change nothing (a portal token
    replayed in a loop appended an event and a log entry each time, 200 a second, slowing other
    tenants' writes). None when one of them is not withdrawn."""
    standing: dict[UUID, ConsentEvent] = {}
    for target in targets:
        said = [f for f in current if f.target.covers(target)]
        fact = max(said, key=lambda f: f.sequence, default=None)
        if fact is None or fact.state is not ConsentState.WITHDRAWN:
            return None
        if not (fact.target.is_all or persons_word(fact)):
            return None  # a system's: the person's own is recorded over it (probe CH)
        standing[fact.event_id] = fact
    return list(standing.values()) or None


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
