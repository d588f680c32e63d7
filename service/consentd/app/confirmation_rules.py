"""What a double opt-in link may still confirm (app/confirmations.py): nothing for a person
erased or an address rectified since it was sent, nothing over a no said since, and no grant
past the end of validity it was asked for. And what is not asked again: a grant that stands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from consentd.app.blocking import objected_since
from consentd.app.commands import Choice, RecordConsent
from consentd.app.ports import UnitOfWork
from consentd.app.subjects import SubjectResolver
from consentd.domain.confirmations import Confirmation
from consentd.domain.decision import PERSON_SOURCES
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import ConsentEvent, ConsentState, Purpose, Target
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


# A confirmation sent less than this long ago is not sent again for the same grant: a form
# posted ten times sent ten messages in 2 s to whatever address it named (probe BS).
RESEND_AFTER = timedelta(minutes=15)


def _asks(command: RecordConsent, purposes: Mapping[str, Purpose]) -> list[Choice]:
    """The command's grants of purposes that require confirmation."""
    return [
        c
        for c in command.choices
        if c.state is ConsentState.GRANTED and purposes[c.target.purpose].requires_confirmation
    ]


class Named(NamedTuple):
    """What a record asking a double opt-in grant names, read before it links anything: each
    e-mail address (its keyed digest) and who held it (None: nobody), and every subject its
    identifiers named."""

    emails: Mapping[bytes, UUID | None]
    owners: frozenset[UUID]


NOTHING_NAMED = Named({}, frozenset())


async def addresses_named(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    tenant_id: UUID,
    command: RecordConsent,
    purposes: Mapping[str, Purpose],
) -> Named:
    """Named, for a record asking a double opt-in grant (NOTHING_NAMED otherwise)."""
    if not any(i.kind is IdentifierKind.EMAIL for i in command.identifiers):
        return NOTHING_NAMED
    if not _asks(command, purposes):
        return NOTHING_NAMED
    digests = subjects.digests(tenant_id, command.identifiers)
    owners = await uow.subjects.owners(digests)
    emails = {d: owners.get((k, d)) for k, d in digests if k is IdentifierKind.EMAIL}
    return Named(emails, frozenset(owners.values()))


async def address_proven(
    uow: UnitOfWork, named: Named, command: RecordConsent, subject_id: UUID, digest: bytes
) -> bool:
    """Whether a confirmation mailed to `digest` is the person's own word: the record is theirs
    in person, or the address has been theirs without a break since a record of theirs in
    person linked it (made them from it, or attached it), or since a link of theirs went there
    and was confirmed as theirs. At an address a system gave a person, when making them or
    since, it proves that mailbox only, and does not lift their own "no" (probe CG: a CRM named
    a mailbox it read, confirmed there, and the person's unsubscribe read ALLOW; probe CF: a
    mistyped address; probe CH: attached in one call, asked in the next; probe DC: a CRM made
    the person from a mailbox it reads; probe DG: an address they left, given back by a CRM)."""
    if command.in_person:
        return True
    if named.emails.get(digest) != subject_id:
        return False  # a system's record gives it to them now (making them, or not)
    point = (IdentifierKind.EMAIL, digest)
    held = (await uow.rights.holdings({point: _OPEN})).get(point)
    if held is None or held[0] != subject_id:
        return False
    since = held[1]  # the holding open now began then: held without a break since
    sent = await uow.confirmations.of_subject(subject_id)
    theirs = (c.address_proven is not False and c.confirmed_at is not None
              and c.created_at >= since for c in sent if c.address_digest == digest)  # fmt: skip
    return any(theirs) or await uow.consents.attached_in_person(subject_id, since)


# Later than any holding's start: rights.holdings() then answers the open holding's own start.
_OPEN = datetime(9999, 12, 31, tzinfo=UTC)


async def asked_of_the_person(
    uow: UnitOfWork,
    subjects: SubjectResolver,
    named: Named,
    command: RecordConsent,
    *,
    tenant_id: UUID,
    subject_id: UUID,
) -> bool:
    """Whether a system's double opt-in grant over the person's own "no" (or a stop) is asked
    of them (PENDING, mailed) rather than refused as any system's grant: sent as in their
    presence (a sign-up form: source PORTAL, BANNER or SUPPORT; a CRM's sync mailed someone
    who had stopped every e-mail) to an address of theirs (address_proven: a click elsewhere
    lifts nothing, and its link went out for nothing; probe DF)."""
    if command.source not in PERSON_SOURCES:
        return False
    contact = next((i for i in command.identifiers if i.kind is IdentifierKind.EMAIL), None)
    if contact is None:
        return True  # no address to ask at: InvalidInput when the confirmation is opened
    digest = subjects.digests(tenant_id, [contact])[0][1]
    return await address_proven(uow, named, command, subject_id, digest)


async def not_asked_again(
    uow: UnitOfWork,
    command: RecordConsent,
    subject_id: UUID | None,
    purposes: Mapping[str, Purpose],
    now: datetime,
    *,
    named: Named,
) -> tuple[RecordConsent, tuple[Target, ...]]:
    """The command without the grants of double opt-in purposes that stand already for the
    subject: the person's confirmed grant of that target in force (a CRM sending it again made
    it PENDING, DENY until a new link was followed, probe BS), or one asked less than
    RESEND_AFTER ago and still waiting. A confirmed grant proves the mailboxes its links went
    to: a record naming another address (`named`, addresses_named) is asked again, at it (probe
    BT: a CRM linking a new address to a confirmed subscriber read ALLOW there, no mail; probe
    CE: linked first by a record without a double opt-in purpose, the same). Returns the
    command left and the targets dropped (RecordConsentResponse.not_asked_again)."""
    asks = _asks(command, purposes)
    if subject_id is None or not asks:
        return command, ()
    # The subject's lock before its facts are read: ten calls at once each read none standing
    # and sent nine messages (probe BT); the append takes the same lock.
    await uow.consents.lock_subject(subject_id)
    current = await uow.consents.current(subject_id)
    objected = await objected_since(uow, subject_id)
    standing = {e.target: e for e in current if _stands(e, current, now, objected)}
    mailed, confirmed = await _links(uow, subject_id)

    def asked(choice: Choice) -> bool:
        fact = standing.get(choice.target)
        if choice not in asks or fact is None:
            return False
        if choice.notice_version not in (None, fact.notice_version):
            return False
        if fact.state is ConsentState.GRANTED:
            return _proven(named, subject_id, confirmed)
        waiting = fact.recorded_at > now - RESEND_AFTER  # a pending ask, unanswered
        return waiting and _proven(named, subject_id, {mailed.get(fact.event_id)})

    return command.without_grants(asked)


async def _links(
    uow: UnitOfWork, subject_id: UUID
) -> tuple[Mapping[UUID, bytes | None], set[bytes | None]]:
    """Where each ask went (by its pending events), and where grants were confirmed."""
    sent = await uow.confirmations.of_subject(subject_id)
    mailed = {event: c.address_digest for c in sent for event in c.event_ids}
    return mailed, {c.address_digest for c in sent if c.confirmed_at is not None}


def _proven(named: Named, subject_id: UUID, proofs: set[bytes | None]) -> bool:
    """Every address the record named went a link among `proofs` (a link sent before its
    address was kept, None: one the subject held before the record)."""
    return all(
        d in proofs or (None in proofs and before == subject_id)
        for d, before in named.emails.items()
    )


def _stands(
    fact: ConsentEvent, current: Sequence[ConsentEvent], now: datetime, objected: datetime | None
) -> bool:
    """A grant, confirmed or pending, in force at `now`, with no withdrawal of everything (of
    every channel or of its own) after it, nor an objection in force since (the person's own
    grant over it was dropped and they stayed DENY objected; probe BT)."""
    if fact.state not in (ConsentState.GRANTED, ConsentState.PENDING):
        return False
    if fact.valid_until is not None and fact.valid_until <= now:
        return False
    if objected is not None and objected >= fact.recorded_at:
        return False
    return not any(
        e.target.is_all and e.target.covers(fact.target) and e.sequence > fact.sequence
        for e in current
    )
