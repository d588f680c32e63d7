"""Double opt-in in the domain: a pending grant is DENY pending_confirmation until its time is
up (then DENY expired), never on the suppression list; tokens are stored as digests; a
confirmation works once and not late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from consentd.domain.confirmations import (
    Confirmation,
    language_of,
    new_token,
    pend,
    pending_until,
    token_digest,
)
from consentd.domain.decision import SUPPRESSING, decide
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.model import (
    Channel,
    ConsentEvent,
    ConsentFact,
    ConsentState,
    Decision,
    LawfulBasis,
    PartyScope,
    ProcessingRole,
    Purpose,
    Reason,
    Source,
    Target,
)
from consentd.notify_templates import code_text, confirmation_text, decision_text

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TARGET = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)
CONFIRMED = Purpose("newsletter", LawfulBasis.CONSENT, requires_confirmation=True)
PLAIN = Purpose("offers", LawfulBasis.CONSENT)


def _pending(until: datetime) -> ConsentFact:
    return ConsentFact(uuid4(), 1, TARGET, ConsentState.PENDING, None, until, NOW)


def test_a_pending_grant_is_deny_pending_confirmation_until_it_lapses() -> None:
    """DENY pending_confirmation within its time, DENY expired after; never suppressing."""
    fact = _pending(pending_until(NOW))
    within = decide(CONFIRMED, [fact], NOW + timedelta(days=6))
    assert (within.decision, within.reason) == (Decision.DENY, Reason.PENDING_CONFIRMATION)
    assert within.event_id == fact.event_id
    late = decide(CONFIRMED, [fact], NOW + timedelta(days=7))
    assert (late.decision, late.reason) == (Decision.DENY, Reason.EXPIRED)
    assert Reason.PENDING_CONFIRMATION not in SUPPRESSING


def _event(target: Target, state: ConsentState) -> ConsentEvent:
    return ConsentEvent(
        uuid4(), 0, uuid4(), target, state, None, None, Source.API, "a",
        ProcessingRole.CONTROLLER, NOW, None, "",
    )  # fmt: skip


def test_only_grants_on_purposes_that_require_confirmation_become_pending() -> None:
    """A grant on a confirmation purpose is pending for 7 days; a refusal and other purposes
    are recorded as given."""
    other = Target("offers", Channel.EMAIL, PartyScope.FIRST_PARTY)
    events = [
        _event(TARGET, ConsentState.GRANTED),
        _event(other, ConsentState.GRANTED),
        _event(TARGET, ConsentState.REFUSED),
    ]
    pended = pend(events, {"newsletter": CONFIRMED, "offers": PLAIN}, NOW)
    assert [e.state for e in pended] == [
        ConsentState.PENDING,
        ConsentState.GRANTED,
        ConsentState.REFUSED,
    ]
    assert pended[0].valid_until == NOW + timedelta(days=7)


def test_tokens_are_random_and_stored_as_sha256_digests() -> None:
    """Two tokens differ; the digest is 32 bytes and is not the token; empty is refused."""
    first, second = new_token(), new_token()
    assert first != second
    assert len(token_digest(first)) == 32
    assert first.encode() not in token_digest(first)
    with pytest.raises(InvalidInput):
        token_digest("")


@pytest.mark.parametrize("token", ["a\x00b", "a b", "a+b/c=", "x" * 129])
def test_anything_but_a_token_is_refused_before_any_lookup(token: str) -> None:
    """A token is 1 to 128 of the URL-safe base64 alphabet new_token() uses: anything else
    is InvalidInput naming `token`, never an unknown token."""
    assert set(new_token()) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    with pytest.raises(InvalidInput) as raised:
        token_digest(token)
    assert raised.value.field == "token"


def test_a_confirmation_is_usable_once_and_in_time() -> None:
    """Used or past its expiry: FailedPrecondition."""
    open_ = Confirmation(uuid4(), uuid4(), Channel.EMAIL, "fr", (uuid4(),), NOW, pending_until(NOW))
    open_.check_usable(NOW + timedelta(days=1))
    with pytest.raises(FailedPrecondition, match="expired"):
        open_.check_usable(NOW + timedelta(days=7))
    used = Confirmation(
        uuid4(), uuid4(), Channel.EMAIL, "fr", (uuid4(),), NOW, pending_until(NOW), NOW
    )
    with pytest.raises(FailedPrecondition, match="already used"):
        used.check_usable(NOW)


def test_the_message_language_follows_the_notice_and_defaults_to_french() -> None:
    """en-GB -> en; de or none -> fr."""
    assert (language_of("en-GB"), language_of("de"), language_of(None)) == ("en", "fr", "fr")
    # Without a notice language of ours, the service's CONSENTD_NOTIFY_LANGUAGE (it was French
    # whatever that said).
    assert (language_of(None, "en"), language_of("de", "en"), language_of("fr", "en")) == (
        "en",
        "en",
        "fr",
    )


def test_the_message_names_what_works_once_a_link_or_a_code() -> None:
    """Without CONSENTD_CONFIRM_URL the message gives a code, and said "this link works once"
    (there was no link)."""
    at = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    _, with_link = confirmation_text(
        "fr",
        "Acme",
        purposes=(("Lettre", "email"),),
        link="https://x.fr/c?t=T",
        token="T",
        expires_at=at,
    )
    _, with_code = confirmation_text(
        "en", "Acme", purposes=(("Letter", "email"),), link="", token="T0K3N", expires_at=at
    )
    assert "Ce lien ne sert qu'une fois" in with_link
    assert "This code works once" in with_code
    assert "link" not in with_code


@pytest.mark.parametrize(
    ("language", "says"), [("fr", "valable 24 heures"), ("en", "valid for 24 hours")]
)
def test_a_verification_code_mail_says_how_long_it_serves(language: str, says: str) -> None:
    """The identity code's mail said neither its validity nor the tries it allows (probe HD)."""
    subject, body = code_text(language, "Acme", "123456", "abcd1234")
    assert "Acme" in subject
    assert "123456" in body
    assert "abcd1234" in body
    assert says in body


@pytest.mark.parametrize(
    ("language", "says"),
    [("fr", "01/03/2027 à 00:30 (heure de Paris)"), ("en", "2027-03-01 00:30 (Paris time)")],
)
def test_times_in_messages_are_read_in_paris(language: str, says: str) -> None:
    """A mail said "2027-02-28 23:30 (UTC)" for what was already 1 March in Paris, where the
    deadlines are counted (probe HG)."""
    due = datetime(2027, 2, 28, 23, 30, tzinfo=UTC)
    _, body = decision_text(language, "Acme", "extended", reference="ab", reason="r", due=due)
    assert says in body
    _, mail = confirmation_text(
        language, "Acme", purposes=(("Lettre", "email"),), link="", token="t", expires_at=due
    )
    assert says in mail
