"""Whether a call of a grouped batch (app/grouped_writes.py) runs alone, after the batch,
because of a block: an objection in force, a closed contact point, a "no" of an earlier holder.
From what the batch read; the one-call path (app/standing.py) reads the rest."""

from __future__ import annotations

from uuid import UUID

from consentd.app.commands import RecordConsent, WithdrawConsent
from consentd.app.ports import Digest
from consentd.app.ports.batches import PartRead
from consentd.app.standing import refuse_grant_over_objection
from consentd.app.taken_back import latest_closure, systems_grant
from consentd.domain.decision import PERSON_SOURCES
from consentd.domain.identifiers import Identifier
from consentd.domain.model import ConsentState


def alone_for_blocks(
    command: RecordConsent | WithdrawConsent,
    known: UUID | None,
    named: dict[Digest, Identifier],
    read: PartRead,
) -> bool:
    """Raises for a grant a system may not make over an objection in force; True when whether
    it may turns on a closed contact point (nobody holds it, or its holder came back in person
    since it was closed), which the one-call path reads (came_back, and which grants drop).
    For the grouped path (app/grouped_writes.py), from what its batch read."""
    if not isinstance(command, RecordConsent):
        return False
    closed = latest_closure(c for d, c in read.closed.items() if d in named)
    systems = systems_grant(command)
    # Whose targets an earlier holder's own "no" closed: the one-call path reads which.
    refused = systems and any(d in read.refusing for d in named)
    if known is None:
        # A closed contact point nobody holds: alone, where a refusal beside the grants is
        # kept and which grants drop is read whole (taken_back; here the whole call was
        # refused, its refusals with it).
        return refused or (closed is not None and systems)
    objected = read.objections.get(known)
    if all(c.state is ConsentState.GRANTED for c in command.choices):
        refuse_grant_over_objection(command, objected)  # else alone: its "no" is recorded
    # The person granting over their objection: stamped after it, alone (after_objection). A
    # grant in person from a caller that does not vouch is a system's that the append function
    # cannot tell (its source says PORTAL): alone, it reads the objection under the subject's
    # lock (raced by an objection, 9 of 40 were written after it; probe Z).
    granted = any(c.state is ConsentState.GRANTED for c in command.choices)
    unvouched = systems and command.source in PERSON_SOURCES
    # A system's grant for a subject holding such a contact point besides the named ones: the
    # one-call path reads whether its holder came back (a grant naming the subject by its
    # external id took an erased address back; probe BI).
    closing = systems and known in read.holding_closed
    return (
        (closed is not None and systems)
        or (objected is not None and granted)
        or unvouched
        or closing
        or refused
    )
