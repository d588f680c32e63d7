"""The rule for a contact point that changed hands (domain/contact_points.py), on facts built by
hand: the holder decides, an earlier holder's no stays until a later fact of the holder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from consentd.domain.contact_points import PriorHolding, decide_contact_point
from consentd.domain.model import (
    Channel,
    ConsentFact,
    ConsentState,
    Decision,
    LawfulBasis,
    PartyScope,
    Purpose,
    Reason,
    Target,
)
from consentd.domain.rights import Block, BlockKind

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
CONSENT = Purpose("newsletter", LawfulBasis.CONSENT)
INTEREST = Purpose("b2b", LawfulBasis.LEGITIMATE_INTEREST)
TARGET = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)


def _fact(state: ConsentState, minutes: int, sequence: int) -> ConsentFact:
    at = T0 + timedelta(minutes=minutes)
    return ConsentFact(uuid4(), sequence, TARGET, state, None, None, at)


def _answer(purpose: Purpose, facts: list[ConsentFact], priors: list[PriorHolding]) -> Reason:
    return decide_contact_point(purpose, facts, NOW, priors=priors).verdict.reason


def test_an_earlier_holders_withdrawal_stays_on_the_contact_point() -> None:
    """Withdrawn by the person who held it: DENY withdrawn for nobody, with their event, marked
    as carried from another person (a check tells it without the event: probe WA)."""
    withdrawn = _fact(ConsentState.WITHDRAWN, 1, 2)
    prior = PriorHolding(T0 + timedelta(minutes=5), withdrawn)
    ruling = decide_contact_point(CONSENT, [], NOW, priors=[prior])
    assert ruling.verdict.decision is Decision.DENY
    assert (ruling.verdict.reason, ruling.verdict.event_id) == (
        Reason.WITHDRAWN,
        withdrawn.event_id,
    )
    assert ruling.since == withdrawn.recorded_at
    assert ruling.carried


def test_an_earlier_holders_grant_does_not_follow_the_address() -> None:
    """Granted by the person who held it: the next holder has no record (consent purpose)."""
    prior = PriorHolding(T0 + timedelta(minutes=5), _fact(ConsentState.GRANTED, 1, 2))
    assert _answer(CONSENT, [], [prior]) is Reason.NO_RECORD


def test_an_objection_in_force_when_the_address_left_stays_for_legitimate_interest() -> None:
    """Objected (a block) while holding it: DENY objected, even for a purpose never asked."""
    prior = PriorHolding(T0 + timedelta(minutes=5), None, objected_since=T0)
    assert _answer(INTEREST, [], [prior]) is Reason.OBJECTED
    assert _answer(CONSENT, [], [prior]) is Reason.OBJECTED


def test_an_erasure_stays_until_a_later_grant() -> None:
    """Erased: DENY erased; a grant the holder recorded after it answers; one before does not."""
    erased = PriorHolding(T0 + timedelta(minutes=5), None, erased_at=T0 + timedelta(minutes=5))
    before = _fact(ConsentState.GRANTED, 2, 1)
    after = _fact(ConsentState.GRANTED, 9, 3)
    assert _answer(CONSENT, [before], [erased]) is Reason.ERASED
    assert _answer(CONSENT, [after], [erased]) is Reason.GRANTED


def test_the_person_answering_again_before_leaving_lifts_their_own_no() -> None:
    """Objected, then granted again before the address left them: nothing carries over."""
    prior = PriorHolding(T0 + timedelta(minutes=5), _fact(ConsentState.GRANTED, 3, 4), T0)
    assert _answer(INTEREST, [], [prior]) is Reason.LEGITIMATE_INTEREST


def test_the_latest_earlier_no_decides_against_the_holders_facts() -> None:
    """Two earlier holders: the holder's grant after the first no but before the second is DENY
    with the second's reason."""
    first = PriorHolding(T0 + timedelta(minutes=2), _fact(ConsentState.REFUSED, 1, 1))
    second = PriorHolding(T0 + timedelta(minutes=8), None, objected_since=T0 + timedelta(minutes=7))
    holder = [_fact(ConsentState.GRANTED, 5, 5)]
    assert _answer(CONSENT, holder, [first, second]) is Reason.OBJECTED
    assert _answer(CONSENT, holder, [first]) is Reason.GRANTED


def test_the_holders_own_blocks_still_apply() -> None:
    """A restriction of the current holder is DENY restricted whatever was carried."""
    ruling = decide_contact_point(
        CONSENT,
        [_fact(ConsentState.GRANTED, 1, 1)],
        NOW,
        blocks=[Block(BlockKind.RESTRICTED, T0)],
    )
    assert ruling.verdict.reason is Reason.RESTRICTED
