"""The decision rule of a check (DESIGN.md, "Decision rule"), on facts built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from consentd.domain.decision import decide
from consentd.domain.model import (
    ALL_TARGETS,
    Channel,
    ConsentFact,
    ConsentState,
    Decision,
    LawfulBasis,
    PartyScope,
    Purpose,
    Reason,
    Target,
    Verdict,
)
from consentd.domain.rights import Block, BlockKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
CONSENT = Purpose("newsletter", LawfulBasis.CONSENT)
INTEREST = Purpose("b2b_offers", LawfulBasis.LEGITIMATE_INTEREST)
TARGET = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)


def fact(
    state: ConsentState,
    sequence: int = 1,
    *,
    target: Target = TARGET,
    notice_version: int | None = None,
    valid_until: datetime | None = None,
) -> ConsentFact:
    return ConsentFact(uuid4(), sequence, target, state, notice_version, valid_until)


def test_grant_allows() -> None:
    """A current grant with no expiry and no notice floor is ALLOW granted, citing the grant."""
    grant = fact(ConsentState.GRANTED)
    assert decide(CONSENT, [grant], NOW) == Verdict(Decision.ALLOW, Reason.GRANTED, grant.event_id)


def test_no_facts_is_no_record_for_a_consent_purpose() -> None:
    """Opt-in: no fact at all is DENY no_record, with no event to cite."""
    assert decide(CONSENT, [], NOW) == Verdict(Decision.DENY, Reason.NO_RECORD, None)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (ConsentState.REFUSED, Reason.REFUSED),
        (ConsentState.WITHDRAWN, Reason.WITHDRAWN),
        (ConsentState.EXPIRED, Reason.EXPIRED),
        (ConsentState.ERASED, Reason.ERASED),
    ],
)
def test_latest_non_grant_denies_with_its_reason(state: ConsentState, reason: Reason) -> None:
    """A refusal, withdrawal, expiry or erasure after a grant is DENY with its own reason."""
    latest = fact(state, 2)
    verdict = decide(CONSENT, [fact(ConsentState.GRANTED, 1), latest], NOW)
    assert verdict == Verdict(Decision.DENY, reason, latest.event_id)


@pytest.mark.parametrize(
    ("valid_until", "decision", "reason"),
    [
        (NOW + SECOND, Decision.ALLOW, Reason.GRANTED),
        (NOW, Decision.DENY, Reason.EXPIRED),
        (NOW - SECOND, Decision.DENY, Reason.EXPIRED),
    ],
    ids=["one-second-left", "exactly-at-valid-until", "one-second-past"],
)
def test_grant_counts_until_valid_until_exclusive(
    valid_until: datetime, decision: Decision, reason: Reason
) -> None:
    """A grant is valid strictly before valid_until; at and after it, DENY expired."""
    grant = fact(ConsentState.GRANTED, valid_until=valid_until)
    verdict = decide(CONSENT, [grant], NOW)
    assert verdict == Verdict(decision, reason, grant.event_id, valid_until)


@pytest.mark.parametrize(
    ("notice_version", "floor", "decision", "reason"),
    [
        (1, 2, Decision.DENY, Reason.NOTICE_OUTDATED),
        (2, 2, Decision.ALLOW, Reason.GRANTED),
        (3, 2, Decision.ALLOW, Reason.GRANTED),
        (1, None, Decision.ALLOW, Reason.GRANTED),
        (None, None, Decision.ALLOW, Reason.GRANTED),
        (None, 1, Decision.DENY, Reason.NOTICE_OUTDATED),
    ],
    ids=["below-floor", "at-floor", "above-floor", "no-floor", "no-notice", "no-version-floor"],
)
def test_notice_floor(
    notice_version: int | None, floor: int | None, decision: Decision, reason: Reason
) -> None:
    """Grants on a notice below the floor (or on no known version) are notice_outdated."""
    grant = fact(ConsentState.GRANTED, notice_version=notice_version)
    verdict = decide(CONSENT, [grant], NOW, notice_floor=floor)
    assert (verdict.decision, verdict.reason, verdict.event_id) == (
        decision,
        reason,
        grant.event_id,
    )


def test_expiry_is_checked_before_the_notice_floor() -> None:
    """A grant both expired and on an outdated notice reports expired (ask again anyway)."""
    grant = fact(ConsentState.GRANTED, notice_version=1, valid_until=NOW - SECOND)
    assert decide(CONSENT, [grant], NOW, notice_floor=2).reason is Reason.EXPIRED


def test_legitimate_interest_allows_without_facts() -> None:
    """Opt-out: a legitimate-interest purpose with no fact is ALLOW legitimate_interest."""
    verdict = decide(INTEREST, [], NOW)
    assert verdict == Verdict(Decision.ALLOW, Reason.LEGITIMATE_INTEREST, None)


@pytest.mark.parametrize("state", [ConsentState.WITHDRAWN, ConsentState.REFUSED])
def test_legitimate_interest_denies_after_an_objection(state: ConsentState) -> None:
    """A withdrawal or refusal on a legitimate-interest purpose is DENY objected, citing it."""
    objection = fact(state, 2)
    verdict = decide(INTEREST, [fact(ConsentState.GRANTED, 1), objection], NOW)
    assert verdict == Verdict(Decision.DENY, Reason.OBJECTED, objection.event_id)


@pytest.mark.parametrize("state", [ConsentState.GRANTED, ConsentState.EXPIRED])
def test_legitimate_interest_allows_after_a_later_grant_or_expiry(state: ConsentState) -> None:
    """A grant (or an expiry, which is no objection) after an objection is ALLOW again."""
    later = fact(state, 2)
    verdict = decide(INTEREST, [fact(ConsentState.WITHDRAWN, 1), later], NOW)
    assert verdict == Verdict(Decision.ALLOW, Reason.LEGITIMATE_INTEREST, later.event_id)


def test_legitimate_interest_ignores_grant_expiry_and_notice_floor() -> None:
    """Legitimate interest needs no consent: an expired, outdated grant is still ALLOW."""
    grant = fact(ConsentState.GRANTED, notice_version=1, valid_until=NOW - SECOND)
    assert decide(INTEREST, [grant], NOW, notice_floor=5).allowed


@pytest.mark.parametrize("purpose", [CONSENT, INTEREST], ids=["consent", "legitimate-interest"])
def test_erasure_denies(purpose: Purpose) -> None:
    """An erased subject is DENY erased, whatever the lawful basis."""
    erased = fact(ConsentState.ERASED, 2)
    verdict = decide(purpose, [fact(ConsentState.GRANTED, 1), erased], NOW)
    assert verdict == Verdict(Decision.DENY, Reason.ERASED, erased.event_id)


@pytest.mark.parametrize("purpose", [CONSENT, INTEREST], ids=["consent", "legitimate-interest"])
@pytest.mark.parametrize("reverse", [False, True], ids=["all-last", "all-first"])
def test_withdraw_all_beats_an_older_specific_grant(purpose: Purpose, reverse: bool) -> None:
    """A withdrawal of everything (ALL_TARGETS) recorded after a specific grant denies it."""
    everything = fact(ConsentState.WITHDRAWN, 7, target=ALL_TARGETS)
    facts = [fact(ConsentState.GRANTED, 3), everything]
    verdict = decide(purpose, reversed(facts) if reverse else facts, NOW)
    assert not verdict.allowed
    assert verdict.reason in (Reason.WITHDRAWN, Reason.OBJECTED)
    assert verdict.event_id == everything.event_id


@pytest.mark.parametrize("reverse", [False, True], ids=["grant-last", "grant-first"])
def test_specific_grant_after_withdraw_all_allows(reverse: bool) -> None:
    """A grant recorded after a withdrawal of everything is ALLOW: the latest sequence wins."""
    grant = fact(ConsentState.GRANTED, 8)
    facts = [fact(ConsentState.WITHDRAWN, 7, target=ALL_TARGETS), grant]
    verdict = decide(CONSENT, reversed(facts) if reverse else facts, NOW)
    assert verdict == Verdict(Decision.ALLOW, Reason.GRANTED, grant.event_id)


def test_deciding_event_is_the_highest_sequence_not_the_last_given() -> None:
    """The verdict cites the fact with the highest sequence, whatever the order of the input."""
    newest = fact(ConsentState.REFUSED, 40)
    facts = (fact(ConsentState.GRANTED, 12), newest, fact(ConsentState.GRANTED, 5))
    verdict = decide(CONSENT, (f for f in facts), NOW)
    assert verdict == Verdict(Decision.DENY, Reason.REFUSED, newest.event_id)


# Blocks: restriction, objection, erasure and suppression (the rights of the person).

HOUR = timedelta(hours=1)


def dated(state: ConsentState, at: datetime, sequence: int = 1) -> ConsentFact:
    return ConsentFact(uuid4(), sequence, TARGET, state, None, None, at)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (BlockKind.RESTRICTED, Reason.RESTRICTED),
        (BlockKind.OBJECTED, Reason.OBJECTED),
        (BlockKind.ERASED, Reason.ERASED),
        (BlockKind.SUPPRESSED, Reason.SUPPRESSED),
    ],
)
@pytest.mark.parametrize("purpose", [CONSENT, INTEREST], ids=["consent", "legitimate-interest"])
def test_a_block_after_the_grant_denies_with_its_reason(
    kind: BlockKind, reason: Reason, purpose: Purpose
) -> None:
    """A grant recorded before a block is DENY with the block's reason, for both lawful bases."""
    grant = dated(ConsentState.GRANTED, NOW - 2 * HOUR)
    verdict = decide(purpose, [grant], NOW, blocks=[Block(kind, NOW - HOUR)])
    assert verdict == Verdict(Decision.DENY, reason)


@pytest.mark.parametrize("kind", [BlockKind.ERASED, BlockKind.SUPPRESSED, BlockKind.OBJECTED])
def test_a_block_denies_a_legitimate_interest_with_no_fact(kind: BlockKind) -> None:
    """The opt-out survives erasure: no fact at all, an LI purpose, a block: DENY."""
    verdict = decide(INTEREST, [], NOW, blocks=[Block(kind, NOW - HOUR)])
    assert verdict.decision is Decision.DENY


@pytest.mark.parametrize("kind", [BlockKind.OBJECTED, BlockKind.ERASED, BlockKind.SUPPRESSED])
def test_a_grant_after_an_objection_or_suppression_decides(kind: BlockKind) -> None:
    """The person came back and said yes: a grant recorded after the block is ALLOW."""
    grant = dated(ConsentState.GRANTED, NOW - HOUR)
    verdict = decide(CONSENT, [grant], NOW, blocks=[Block(kind, NOW - 2 * HOUR)])
    assert verdict == Verdict(Decision.ALLOW, Reason.GRANTED, grant.event_id)


def test_a_restriction_denies_even_a_later_grant() -> None:
    """Restriction stops all processing until lifted, whatever is recorded meanwhile."""
    grant = dated(ConsentState.GRANTED, NOW - HOUR)
    verdict = decide(CONSENT, [grant], NOW, blocks=[Block(BlockKind.RESTRICTED, NOW - 2 * HOUR)])
    assert verdict == Verdict(Decision.DENY, Reason.RESTRICTED)


def test_the_most_recent_block_gives_the_reason() -> None:
    """An objection then an erasure: DENY erased, the later of the two."""
    blocks = [Block(BlockKind.OBJECTED, NOW - 2 * HOUR), Block(BlockKind.ERASED, NOW - HOUR)]
    assert decide(CONSENT, [], NOW, blocks=blocks).reason is Reason.ERASED


def test_a_block_after_the_checked_time_is_ignored() -> None:
    """as_of before the block: the answer is what it was then."""
    grant = dated(ConsentState.GRANTED, NOW - 2 * HOUR)
    verdict = decide(CONSENT, [grant], NOW - HOUR, blocks=[Block(BlockKind.ERASED, NOW)])
    assert verdict == Verdict(Decision.ALLOW, Reason.GRANTED, grant.event_id)


def test_a_grant_without_a_recorded_time_never_overrides_a_block() -> None:
    """When in doubt, deny: a fact whose time is unknown does not beat a block."""
    grant = fact(ConsentState.GRANTED)
    verdict = decide(CONSENT, [grant], NOW, blocks=[Block(BlockKind.OBJECTED, NOW - HOUR)])
    assert verdict.reason is Reason.OBJECTED
