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
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from consentd.domain.decision import SUPPRESSING, decide, latest
from consentd.domain.model import ConsentFact, Purpose, Verdict
from consentd.domain.rights import Block, BlockKind


class Closed(NamedTuple):
    """A contact point that only the person takes back (app/standing.py): erased at their
    request, or left (RectifyContact) by a holder with an objection in force, whose "no" stays
    on it (rule 2). `reason` is ERASED or OBJECTED, `at` when it was erased or left."""

    reason: BlockKind
    at: datetime


class HandOver(NamedTuple):
    """A record's contact points changed hands (RectifyContact): `at`, when one of them last
    left a subject that holds none of them now; `then`, which of those subjects held one of
    them at the time the record was decided (whose word a late "no" is)."""

    at: datetime
    then: frozenset[UUID]


@dataclass(frozen=True, slots=True)
class PriorHolding:
    """An earlier holder of the contact point as it stood when the contact point left them
    (rectified away or erased at `ended_at`): their latest applicable fact recorded by then,
    the objection in force then, and their erasure if that is what ended it."""

    ended_at: datetime
    fact: ConsentFact | None = None
    objected_since: datetime | None = None
    erased_at: datetime | None = None


class Ruling(NamedTuple):
    """A verdict and when what decided it began (the fact's recording or the block's start);
    None when nothing recorded decided (no record, legitimate interest)."""

    verdict: Verdict
    since: datetime | None


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
    return Ruling(ruling.verdict, ruling.since or prior.ended_at)


def decide_contact_point(
    purpose: Purpose,
    facts: Iterable[ConsentFact],
    now: datetime,
    notice_floor: int | None = None,
    blocks: Sequence[Block] = (),
    *,
    priors: Sequence[PriorHolding] = (),
    current: bool = False,
) -> Ruling:
    """The answer for a contact point: its holder's (`facts`, `blocks`; none when nobody holds
    it), unless an earlier holder's DENY (`priors`) is later than the holder's latest fact.
    `current`: a check now (decide())."""
    facts = list(facts)
    ruling = rule(purpose, facts, now, notice_floor, blocks, current=current)
    denials = [d for d in (carried(purpose, p) for p in priors) if d is not None]
    if not denials:
        return ruling
    denial = max(denials, key=lambda d: d.since or now)
    fact = latest(facts)
    answered = (
        fact is not None
        and fact.recorded_at is not None
        and fact.recorded_at > (denial.since or now)
    )
    return ruling if answered else denial
