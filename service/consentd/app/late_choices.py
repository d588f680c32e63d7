"""What stands of a record decided earlier (RecordConsent's decided_at, a CRM sync sending the
person's choices late): grants whose validity ended before they arrived are dropped, and so are
grants decided before a newer "no" on record (the subject's own, an objection, an erasure) or
while one of the record's contact points was another person's (a CRM's grant of an address,
synced after the address was taken from a person who had refused since, made a new subject or
landed on the address's new holder, and the check said ALLOW; docs/contact-points.md, rule 2),
and whose word a late "no" is (late_holder). Used by app/standing.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from consentd.app.commands import Choice, RecordConsent
from consentd.app.ports import Digest, UnitOfWork
from consentd.domain.contact_points import reached
from consentd.domain.errors import FailedPrecondition
from consentd.domain.model import ConsentEvent, ConsentState, Purpose, Target
from consentd.domain.validity import valid_until


def superseded_grants(
    command: RecordConsent, current: Sequence[ConsentEvent], since: datetime | None
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without its grants decided (its `recorded_at`, the API's decided_at) before
    what is on record for their target (its own fact or an "everything" one) or before `since`
    (an objection in force, the erasure of the contact point, the time it left an earlier
    holder): a CRM sync sending an old "yes" late never overrides a newer "no". Refusals always
    stay (a "no" is never dropped). Returns the command left and the targets dropped, in the
    request's order."""
    decided = command.recorded_at
    if decided is None:
        return command, ()

    def stale(choice: Choice) -> bool:
        said = [e.recorded_at for e in current if e.target.covers(choice.target)]
        # At the same instant the "no" wins (a "no" is never dropped for a "yes").
        return any(t is not None and decided <= t for t in (*said, since))

    return command.without_grants(stale)


def lapsed_grants(
    command: RecordConsent, purposes: Mapping[str, Purpose], now: datetime
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without its grants whose validity, counted from when the person decided
    (decided_at), ended before they reached the service: they would never count, and an event
    recorded now cannot end before it begins. Returns the command left and the targets dropped.
    Raises InvalidInput for a validity asked that the purpose does not allow."""
    decided = command.recorded_at
    if decided is None:
        return command, ()

    def lapsed(choice: Choice) -> bool:
        purpose = purposes[choice.target.purpose]
        field = f"choices[{command.choices.index(choice)}].valid_until"
        until = valid_until(purpose, choice.state, decided, choice.valid_until, field)
        return until is not None and until <= now

    return command.without_grants(lapsed)


async def late_since(
    uow: UnitOfWork, digests: Sequence[Digest], command: RecordConsent, since: datetime | None
) -> datetime | None:
    """For a record decided while one of its contact points was another person's: the later of
    `since` and when it left them (its grants are that person's word, not its holder's now nor
    a new subject's; probe BE). Not when the subject the record names now held one of them
    then already (its own address beside it; probe BG)."""
    if command.recorded_at is None:
        return since
    handed = await uow.rights.handed_over(digests, command.recorded_at)
    return handed if handed is not None and (since is None or handed > since) else since


async def late_holder(
    uow: UnitOfWork, digests: Sequence[Digest], command: RecordConsent
) -> UUID | None:
    """Whose word the refusals of a record decided earlier (decided_at) are when its contact
    points changed hands since: the person who held them then (or, when nobody did, the first
    to hold one after), not their holders now (a CRM's late refusal of an address, synced after
    RectifyContact gave it to someone else, blocked the new holder's "yes"; naming the person's
    external id beside it was IDENTIFIERS_OF_TWO_SUBJECTS; probes BG, BL). None when the same
    people hold them now, or nobody ever did. Raises FailedPrecondition when two people held
    them then (as for identifiers of two subjects now), or when that person was erased since
    (nothing more is recorded of them; their contact points stay suppressed)."""
    decided = command.recorded_at
    if decided is None or all(c.state is ConsentState.GRANTED for c in command.choices):
        return None
    then = await uow.rights.holders_then(digests, decided)
    if not then or then == set((await uow.subjects.owners(digests)).values()):
        return None
    if len(then) > 1:
        raise FailedPrecondition(
            "when the choice was decided (decided_at) these identifiers belonged to two "
            "different people: send one record per person",
            code="IDENTIFIERS_OF_TWO_SUBJECTS",
        )
    (subject_id,) = then
    if await uow.rights.erased_at(subject_id) is not None:
        raise FailedPrecondition(
            "the person who held this contact point when the choice was decided (decided_at) "
            "was erased since at their request: nothing more is recorded of them",
            code="SUBJECT_ERASED",
        )
    return subject_id


async def taken_over_grants(
    uow: UnitOfWork, command: RecordConsent, subject_id: UUID, named: list[Digest]
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without its grants decided before the subject took over, from another
    person, a contact point reaching their channel (RectifyContact after decided_at): recorded
    now, such a grant outweighed that person's earlier "no" on the address, and a check of it
    said ALLOW though the grant said nothing of it (probe BI). Returns the command left and
    the targets dropped. Named in the record or not (naming it beside the subject's own
    address made the grant land, and the check of it said ALLOW over that person's "no";
    probe BL)."""
    decided = command.recorded_at
    if decided is None or not any(c.state is ConsentState.GRANTED for c in command.choices):
        return command, ()
    channels = reached(await uow.rights.taken_over(subject_id, decided, named))
    return command.without_grants(lambda c: c.target.channel in channels)
