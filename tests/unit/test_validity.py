"""How long a new fact counts: the caller may ask for less than the purpose allows, never more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consentd.domain.errors import InvalidInput
from consentd.domain.model import ConsentState, LawfulBasis, Purpose
from consentd.domain.validity import valid_until

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LIMITED = Purpose("cookies_analytics", LawfulBasis.CONSENT, max_validity_days=30)
UNLIMITED = Purpose("newsletter", LawfulBasis.CONSENT)
FIELD = "choices[0].valid_until"


def test_ask_beyond_the_maximum_is_clamped() -> None:
    """A grant asked for longer than max_validity_days ends at recorded_at + the maximum."""
    granted = valid_until(LIMITED, ConsentState.GRANTED, NOW, NOW + 60 * DAY, FIELD)
    assert granted == NOW + 30 * DAY


@pytest.mark.parametrize("days", [10, 30], ids=["shorter", "exactly-the-maximum"])
def test_ask_within_the_maximum_is_kept(days: int) -> None:
    """A grant asked for no longer than the maximum keeps the caller's valid_until."""
    granted = valid_until(LIMITED, ConsentState.GRANTED, NOW, NOW + days * DAY, FIELD)
    assert granted == NOW + days * DAY


def test_no_ask_gets_the_maximum() -> None:
    """Without an ask, a grant on a limited purpose ends at recorded_at + max_validity_days."""
    assert valid_until(LIMITED, ConsentState.GRANTED, NOW, None, FIELD) == NOW + 30 * DAY


def test_no_limit_and_no_ask_never_ends() -> None:
    """A grant on a purpose without maximum, with no ask, has no end (None)."""
    assert valid_until(UNLIMITED, ConsentState.GRANTED, NOW, None, FIELD) is None


def test_no_limit_keeps_any_ask() -> None:
    """A purpose without maximum keeps the caller's valid_until, however far."""
    far = NOW + 3650 * DAY
    assert valid_until(UNLIMITED, ConsentState.GRANTED, NOW, far, FIELD) == far


@pytest.mark.parametrize("state", [ConsentState.REFUSED, ConsentState.WITHDRAWN])
@pytest.mark.parametrize("purpose", [LIMITED, UNLIMITED], ids=["limited", "unlimited"])
def test_only_grants_expire(state: ConsentState, purpose: Purpose) -> None:
    """Refusals and withdrawals never expire: valid_until is None even on a limited purpose."""
    assert valid_until(purpose, state, NOW, None, FIELD) is None


def test_refusal_with_valid_until_is_refused() -> None:
    """Asking a valid_until on a refusal raises InvalidInput naming the field."""
    with pytest.raises(InvalidInput) as caught:
        valid_until(LIMITED, ConsentState.REFUSED, NOW, NOW + DAY, FIELD)
    assert caught.value.field == FIELD


@pytest.mark.parametrize(
    "requested", [NOW - DAY, NOW - timedelta(seconds=1), NOW], ids=["day-ago", "second-ago", "now"]
)
@pytest.mark.parametrize("purpose", [LIMITED, UNLIMITED], ids=["limited", "unlimited"])
def test_ask_not_in_the_future_is_refused(requested: datetime, purpose: Purpose) -> None:
    """A valid_until at or before recorded_at raises InvalidInput naming the field."""
    with pytest.raises(InvalidInput) as caught:
        valid_until(purpose, ConsentState.GRANTED, NOW, requested, FIELD)
    assert caught.value.field == FIELD
