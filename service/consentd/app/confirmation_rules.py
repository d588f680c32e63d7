"""What a double opt-in link may still confirm (app/confirmations.py): nothing for a person
erased or an address rectified since it was sent, nothing over a no said since, and no grant
past the end of validity it was asked for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from consentd.app.ports import UnitOfWork
from consentd.domain.confirmations import Confirmation
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import ConsentEvent, ConsentState
from consentd.domain.rights import BlockKind


def asked_until(
    confirmation: Confirmation, still: Sequence[ConsentEvent], now: datetime
) -> dict[UUID, datetime | None]:
    """The end of validity asked for each grant still to confirm (None: none asked), without
    those it has passed: they lapsed unconfirmed. Raises FailedPrecondition when all have (the
    confirmed grant had no end at all: a grant asked for an hour allowed for a year)."""
    ends = dict(zip(confirmation.event_ids, confirmation.grant_until, strict=False))
    asked = {e.event_id: ends.get(e.event_id) for e in still}
    kept = {i: end for i, end in asked.items() if end is None or end > now}
    if not kept:
        raise FailedPrecondition(
            "the validity asked for these grants ended before they were confirmed: give them again",
            code="CONFIRMATION_EXPIRED",
        )
    return kept


async def refuse_if_changed(uow: UnitOfWork, confirmation: Confirmation) -> None:
    """FailedPrecondition for a person erased since (it answered OK with their id) or an e-mail
    address rectified since the link went to it (the link proves the old mailbox only)."""
    if await uow.rights.erased_at(confirmation.subject_id) is not None:
        raise FailedPrecondition(
            "the person this link was sent to was erased since", code="SUBJECT_ERASED"
        )
    since, email = confirmation.created_at, IdentifierKind.EMAIL
    history = await uow.rights.contact_history(confirmation.subject_id)
    if any(c.kind is email and c.action == "removed" and c.changed_at > since for c in history):
        raise FailedPrecondition(
            "the address this link went to was rectified since", code="ADDRESS_RECTIFIED"
        )


async def said_no_since(uow: UnitOfWork, confirmation: Confirmation) -> bool:
    """An objection or suppression in force made after the request: a link mailed before that
    no must not lift it, as a later grant would (domain/decision.py)."""
    since, nos = confirmation.created_at, (BlockKind.OBJECTED, BlockKind.SUPPRESSED)
    blocks = await uow.rights.block_history(confirmation.subject_id)
    return any(b.kind in nos and b.lifted_at is None and b.since > since for b in blocks)


def still_pending(
    confirmation: Confirmation, current: Sequence[ConsentEvent]
) -> list[ConsentEvent]:
    """The pending events the link confirms that are still their target's current state (one
    withdrawn meanwhile stays withdrawn). Raises FailedPrecondition when none is and a newer
    link's pending grants replaced them."""
    facts = {e.event_id: e for e in current}
    still = [facts[i] for i in confirmation.event_ids if i in facts]
    if not still and any(e.state is ConsentState.PENDING for e in current):
        raise FailedPrecondition(
            "a newer confirmation link was sent: follow the latest one",
            code="CONFIRMATION_SUPERSEDED",
        )
    return still
