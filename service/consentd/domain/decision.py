"""The decision rule of a consent check, as pure functions.

ALLOW only when the latest applicable fact is a grant that is still valid, on a notice version that
still counts. For a legitimate-interest purpose, ALLOW unless the latest applicable fact is an
objection. Everything else is DENY with a reason. When in doubt: deny.

Blocks come before facts. A restriction of processing is DENY `restricted` whatever was recorded,
until it is lifted. An objection, an erasure (the suppression entry that outlives the person) or a
suppression is DENY with its own reason unless a fact recorded after it decides the target (the
person came back and said yes again); the most recent block counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from consentd.domain.model import (
    ConsentEvent,
    ConsentFact,
    ConsentState,
    Decision,
    LawfulBasis,
    Purpose,
    Reason,
    Source,
    Target,
    Verdict,
)
from consentd.domain.rights import Block, BlockKind

_DENY_REASON = {
    ConsentState.REFUSED: Reason.REFUSED,
    ConsentState.WITHDRAWN: Reason.WITHDRAWN,
    ConsentState.EXPIRED: Reason.EXPIRED,
    ConsentState.ERASED: Reason.ERASED,
    ConsentState.PENDING: Reason.PENDING_CONFIRMATION,
}
_BLOCK_REASON = {
    BlockKind.RESTRICTED: Reason.RESTRICTED,
    BlockKind.OBJECTED: Reason.OBJECTED,
    BlockKind.ERASED: Reason.ERASED,
    BlockKind.SUPPRESSED: Reason.SUPPRESSED,
}


# A legitimate-interest purpose needs no grant: only an objection (or erasure) stops it. (The
# catalogue refuses confirmation on such a purpose, so PENDING is there for completeness.)
_NOT_OBJECTING = frozenset({ConsentState.GRANTED, ConsentState.EXPIRED, ConsentState.PENDING})

# The reasons that put a contact point on the suppression list: the person said no, was erased,
# or the contact point is suppressed. An expired grant or an outdated notice is DENY too, but
# only until asked again.
SUPPRESSING = frozenset(
    {Reason.REFUSED, Reason.WITHDRAWN, Reason.OBJECTED, Reason.ERASED, Reason.SUPPRESSED}
)
# The reasons a contact point goes on the suppression list export: those, and a restriction
# of processing while it is in force (GDPR art. 18: no processing but storage; a sender using
# only the export contacted restricted people). A restriction follows the person, not the
# contact point: an earlier holder's restriction leaves nothing on it (contact_points.py).
DO_NOT_CONTACT = SUPPRESSING | {Reason.RESTRICTED}


def latest(facts: Iterable[ConsentFact]) -> ConsentFact | None:
    """The fact that decides: the one recorded last, whether for the exact target or for all."""
    found = None
    for fact in facts:  # a loop, not max(key=...): this runs for every recipient of a list
        if found is None or fact.sequence > found.sequence:
            found = fact
    return found


def decide(
    purpose: Purpose,
    facts: Iterable[ConsentFact],
    now: datetime,
    notice_floor: int | None = None,
    blocks: Iterable[Block] = (),
    *,
    current: bool = False,
) -> Verdict:
    """Decide a check from the facts that apply to the target (exact and "all" facts).

    `notice_floor` is the oldest notice version whose grants still count (None: every version).
    `blocks` are the subject's restrictions, objections and suppressions; those that start after
    `now` are ignored (an answer as of a past time), unless `current`: a check now counts every
    block on record, one stamped ahead of `now` too (a clock stepped back since: an objection
    was ignored until the clock caught up with it).
    """
    fact = latest(facts)
    if blocks:  # most subjects have none: skip building the list and the scans
        blocked = _blocked(fact, [b for b in blocks if current or b.since <= now])
        if blocked is not None:
            return blocked
    if purpose.lawful_basis is LawfulBasis.LEGITIMATE_INTEREST:
        return _decide_legitimate_interest(fact)
    return _decide_consent(fact, now, notice_floor)


def _blocked(fact: ConsentFact | None, blocks: list[Block]) -> Verdict | None:
    """DENY for a block that no later fact overrides; None when the facts decide."""
    if not blocks:
        return None
    if any(b.kind is BlockKind.RESTRICTED for b in blocks):
        return Verdict(Decision.DENY, Reason.RESTRICTED)
    block = max(blocks, key=lambda b: b.since)
    if answers(fact, block.since):
        return None
    return Verdict(Decision.DENY, _BLOCK_REASON[block.kind])


def answers(fact: ConsentFact | None, since: datetime) -> bool:
    """Whether `fact` answers a "no" in force since `since` (a block, an earlier holder's "no"
    on a contact point: domain/contact_points.py): recorded after it, and not an ask — a
    double opt-in grant pending or lapsed unconfirmed after an erasure, an objection or an
    earlier holder's refusal took them off the suppression list, with no click of the person's
    (probes DI, DJ; migration 0047 for a refusal or withdrawal of their own before it)."""
    return (
        fact is not None
        and fact.state is not ConsentState.PENDING
        and fact.recorded_at is not None
        and fact.recorded_at > since
    )


def _deny(reason: Reason, fact: ConsentFact | None) -> Verdict:
    return Verdict(Decision.DENY, reason, fact.event_id if fact else None)


def _decide_consent(fact: ConsentFact | None, now: datetime, notice_floor: int | None) -> Verdict:
    if fact is None:
        return _deny(Reason.NO_RECORD, None)
    if fact.state is ConsentState.PENDING and _past(fact, now):
        # Never confirmed within its time: the pending grant lapsed (app/confirmations.py).
        return Verdict(Decision.DENY, Reason.EXPIRED, fact.event_id, fact.valid_until)
    if fact.state is not ConsentState.GRANTED:
        return _deny(_DENY_REASON[fact.state], fact)
    if _past(fact, now):
        return Verdict(Decision.DENY, Reason.EXPIRED, fact.event_id, fact.valid_until)
    if notice_floor is not None and (fact.notice_version or 0) < notice_floor:
        return Verdict(Decision.DENY, Reason.NOTICE_OUTDATED, fact.event_id, fact.valid_until)
    return Verdict(Decision.ALLOW, Reason.GRANTED, fact.event_id, fact.valid_until)


def _past(fact: ConsentFact, now: datetime) -> bool:
    return fact.valid_until is not None and now >= fact.valid_until


def _decide_legitimate_interest(fact: ConsentFact | None) -> Verdict:
    if fact is None or fact.state in _NOT_OBJECTING:
        return Verdict(Decision.ALLOW, Reason.LEGITIMATE_INTEREST, fact.event_id if fact else None)
    if fact.state is ConsentState.ERASED:
        return _deny(Reason.ERASED, fact)
    return _deny(Reason.OBJECTED, fact)


def standing_stop(target: Target, facts: Iterable[ConsentEvent]) -> ConsentEvent | None:
    """The withdrawal of everything, of every channel or of the target's (a STOP), that stands
    for `target` among a subject's current facts: the latest one covering it with no grant of
    the target (of what it covers, for an "everything" target) recorded after it (withdrawing
    everything also withdraws each grant one by one, after it); None when none stands. Only the
    person lifts it (app/standing.py)."""
    facts = list(facts)
    granted = max(
        (f.sequence for f in facts if target.covers(f.target) and f.state is ConsentState.GRANTED),
        default=-1,
    )
    stops = [f for f in facts if f.target.is_all and f.target.covers(target)]
    return max((f for f in stops if f.sequence > granted), key=lambda f: f.sequence, default=None)


# Where the person speaks for themselves (not a system of the tenant's).
PERSON_SOURCES = (Source.PORTAL, Source.BANNER, Source.SUPPORT)
_NOS = (ConsentState.REFUSED, ConsentState.WITHDRAWN)


def persons_word(fact: ConsentEvent) -> bool:
    """Whether the fact is the person's own word on its target: a refusal or withdrawal made
    in person (PERSON_SOURCES: the portal, the unsubscribe link, a banner, support), a grant in
    person from a caller that speaks for them (attested not False) or confirmed by them
    (attested True: a double opt-in link). A system's grant or "no" is not, nor an ask a
    system put to them and they never answered (a CRM's pending ask lifted their "no", and its
    next import or grant was ALLOW; probe CF)."""
    if fact.state is ConsentState.GRANTED and fact.attested is True:
        return True
    if fact.source not in PERSON_SOURCES:
        return False
    return fact.state in _NOS or (fact.state is ConsentState.GRANTED and fact.attested is not False)


def persons_no(target: Target, words: Iterable[ConsentEvent]) -> ConsentEvent | None:
    """The person's own "no" to `target` that stands (their latest word on it is a refusal or
    withdrawal), among `words` (facts persons_word holds): only they lift it, whatever a
    system wrote since (a CRM's own "no" then "yes" lifted it; probe CE)."""
    mine = [w for w in words if w.target == target and persons_word(w)]
    latest = max(mine, key=lambda w: w.sequence, default=None)
    return latest if latest is not None and latest.state in _NOS else None


def objection_to(
    target: Target, current: Iterable[ConsentEvent], objecting: frozenset[str]
) -> ConsentEvent | None:
    """Among a subject's `current` facts, the refusal or withdrawal of `target` when its
    purpose rests on legitimate interest (`objecting`), whatever its source: it reads
    `objected` in checks (GDPR art. 21), and a CRM relaying the person's objection then sending
    its nightly `granted` made the check ALLOW again (probe RD, session 38). Only the person
    lifts it (app/standing.py)."""
    if target.purpose not in objecting:
        return None
    fact = next((f for f in current if f.target == target), None)
    return fact if fact is not None and fact.state in _NOS else None
