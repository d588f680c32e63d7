"""What stands of a record decided earlier (RecordConsent's decided_at, a CRM sync sending the
person's choices late): grants whose validity ended before they arrived are dropped, and so are
grants decided before a newer "no" on record (the subject's own, an objection, an erasure) or
while one of the record's contact points was another person's (a CRM's grant of an address,
synced after the address was taken from a person who had refused since, made a new subject or
landed on the address's new holder, and the check said ALLOW; docs/contact-points.md, rule 2).
Used by app/standing.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from consentd.app.commands import Choice, RecordConsent
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
        newer = (*said, since)
        # At the same instant the "no" wins (a "no" is never dropped for a "yes").
        return choice.state is ConsentState.GRANTED and any(
            t is not None and decided <= t for t in newer
        )

    dropped = tuple(c.target for c in command.choices if stale(c))
    if not dropped:
        return command, ()
    return replace(command, choices=tuple(c for c in command.choices if not stale(c))), dropped


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

    def lapsed(index: int, choice: Choice) -> bool:
        if choice.state is not ConsentState.GRANTED:
            return False
        purpose = purposes[choice.target.purpose]
        field = f"choices[{index}].valid_until"
        until = valid_until(purpose, choice.state, decided, choice.valid_until, field)
        return until is not None and until <= now

    gone = [lapsed(i, c) for i, c in enumerate(command.choices)]
    if not any(gone):
        return command, ()
    kept = tuple(c for c, g in zip(command.choices, gone, strict=True) if not g)
    dropped = tuple(c.target for c, g in zip(command.choices, gone, strict=True) if g)
    return replace(command, choices=kept), dropped
