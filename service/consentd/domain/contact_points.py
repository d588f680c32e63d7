"""The one rule for a contact point (an email, a phone, an external id) that changed hands.

A check by contact point and the suppression list both go through decide_contact_point(): the
holder of the contact point at the time asked decides as decide() says for a subject, except
that the refusals, withdrawals, objections and the erasure of its earlier holders stay in force
on it (DENY, and on the suppression list) until its holder records a fact for the target after
them (the same rule as for a subject's own objection or erasure: the person came back and said
yes again). Grants never pass from one holder to the next: a rectified address is not the
person's any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from consentd.domain.decision import SUPPRESSING, answers, decide, latest
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import Channel, ConsentFact, Purpose, Reason, Target, Verdict
from consentd.domain.rights import Block, BlockKind


class Closed(NamedTuple):
    """A contact point that only the person takes back (app/standing.py): erased at their
    request, or left (RectifyContact) by a holder with an objection in force, whose "no" stays
    on it (rule 2). `reason` is ERASED or OBJECTED, `at` when it was erased or left. `targets`:
    those left by a holder whose own latest word on each was a refusal or withdrawal (migration
    0048), closed each until the holder's own "yes" to it; `whole`: closed to every target its
    channels reach too (False: only `targets`, `reason` OBJECTED); `per_target`: the channels
    (Channel.ALL: every one) on which that whole closure is taken back target by target (a STOP
    its holder sent themselves, as their own STOP would be), not by the holder's "yes" to any
    target on those channels."""

    reason: BlockKind
    at: datetime
    targets: frozenset[Target] = frozenset()
    whole: bool = True
    per_target: frozenset[Channel] = frozenset()


def merged(was: Closed | None, closed: Closed) -> Closed:
    """Two closures of one contact point as one: closed whole when either is (an erasure's
    reason over an objection's), with the targets of both (probe DS: a later erasure or STOP
    replaced an earlier holder's own "no" to one target, which any "yes" then lifted)."""
    if was is None:
        return closed
    wholes = [c.reason for c in (was, closed) if c.whole]
    erased = BlockKind.ERASED in wholes
    reason = BlockKind.ERASED if erased else BlockKind.OBJECTED
    targets, per_target = was.targets | closed.targets, was.per_target | closed.per_target
    return Closed(reason, max(was.at, closed.at), targets, bool(wholes), per_target)


@dataclass(frozen=True, slots=True)
class PriorHolding:
    """An earlier holder of the contact point as it stood when the contact point left them
    (rectified away or erased at `ended_at`): their latest applicable fact recorded by then,
    the objection in force then, and their erasure if that is what ended it."""

    ended_at: datetime
    fact: ConsentFact | None = None
    objected_since: datetime | None = None
    erased_at: datetime | None = None
    # Whether they had withdrawn everything (of every channel or of the one asked about: a
    # STOP) by then: their "no" closes the contact point to all but the person.
    stopped: bool = False
    # Since when the holder asked about holds this contact point (migration 0040: a check of a
    # subject counts the contact points it holds that reach the channel); None: `held_from`.
    held_from: datetime | None = None


class Ruling(NamedTuple):
    """A verdict and when what decided it began (the fact's recording or the block's start);
    None when nothing recorded decided (no record, legitimate interest)."""

    verdict: Verdict
    since: datetime | None
    # Decided by an earlier holder's DENY: another person's (app/checks.py tells it without
    # its event or time).
    carried: bool = False


def rule(
    purpose: Purpose,
    facts: Iterable[ConsentFact],
    now: datetime,
    notice_floor: int | None = None,
    blocks: Sequence[Block] = (),
    *,
    current: bool = False,
) -> Ruling:
    """decide(), with the time of what decided."""
    found = latest(facts)
    facts = [found] if found is not None else []
    verdict = decide(purpose, facts, now, notice_floor, blocks, current=current)
    if found is not None and verdict.event_id == found.event_id and verdict.event_id is not None:
        return Ruling(verdict, found.recorded_at)
    in_force = [b.since for b in blocks if current or b.since <= now]
    return Ruling(verdict, max(in_force) if in_force and not verdict.allowed else None)


def carried(purpose: Purpose, prior: PriorHolding) -> Ruling | None:
    """The DENY an earlier holder leaves on the contact point, if they left one."""
    blocks = []
    if prior.objected_since is not None:
        blocks.append(Block(BlockKind.OBJECTED, prior.objected_since))
    if prior.erased_at is not None:
        blocks.append(Block(BlockKind.ERASED, prior.erased_at))
    facts = [prior.fact] if prior.fact is not None else []
    ruling = rule(purpose, facts, prior.ended_at, None, blocks)
    if ruling.verdict.reason not in SUPPRESSING:
        return None
    return Ruling(ruling.verdict, ruling.since or prior.ended_at, carried=True)


def decide_contact_point(
    purpose: Purpose,
    facts: Iterable[ConsentFact],
    now: datetime,
    notice_floor: int | None = None,
    blocks: Sequence[Block] = (),
    *,
    priors: Sequence[PriorHolding] = (),
    held_from: datetime | None = None,
    current: bool = False,
) -> Ruling:
    """The answer for a contact point: its holder's (`facts`, `blocks`; none when nobody holds
    it), unless an earlier holder's DENY (`priors`) is later than the holder's latest fact, or,
    for a DENY that closed it (an objection, an erasure, a withdrawal of everything), than the
    time the holder began to hold it (`held_from`; else when it left that earlier holder).
    `current`: a check now (decide())."""
    facts = list(facts)
    ruling = rule(purpose, facts, now, notice_floor, blocks, current=current)
    denials = [(p, d) for p in priors if (d := carried(purpose, p)) is not None]
    if not denials:
        return ruling

    def until(denied: tuple[PriorHolding, Ruling]) -> datetime:
        prior, denial = denied
        since = denial.since or now
        # Only the person takes back a contact point erased, left by an objector or under a
        # STOP (rule 3): a fact of its holder from before they held it says nothing of it (a
        # CRM grant, then RectifyContact giving the customer a number left under a STOP, and
        # the check said ALLOW; probe BL).
        # (A fact made with the contact point, at its holding's start, counts.)
        if not _closing(prior, denial):
            return since
        holder_from = prior.held_from or held_from
        start = holder_from - timedelta(microseconds=1) if holder_from else prior.ended_at
        return max(since, prior.ended_at, start)

    threshold, denial = max(((until(d), d[1]) for d in denials), key=lambda t: t[0])
    return ruling if answers(latest(facts), threshold) else denial


def _closing(prior: PriorHolding, denial: Ruling) -> bool:
    """Whether an earlier holder's DENY closes the contact point to all but the person: an
    objection, an erasure, or a withdrawal of everything (a STOP)."""
    return prior.stopped or denial.verdict.reason in (Reason.OBJECTED, Reason.ERASED)


# The channels a contact point of each kind reaches (an external id or a CAL id: every one).
_REACHED = {
    IdentifierKind.EMAIL: frozenset({Channel.EMAIL}),
    IdentifierKind.PHONE: frozenset({Channel.SMS, Channel.VOICE_CALL}),
}


def reached(kinds: Iterable[IdentifierKind]) -> frozenset[Channel]:
    """The channels contact points of these kinds reach, "everything" (Channel.ALL) included
    whenever any is reached."""
    found: set[Channel] = set()
    for kind in kinds:
        found |= _REACHED.get(kind, frozenset(Channel))
    return frozenset(found | {Channel.ALL}) if found else frozenset()
