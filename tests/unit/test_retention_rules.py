"""Retention limits per category and the contract-end rule (domain/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consentd.domain.retention import (
    Category,
    TenantRetention,
    cutoff,
    purge_due_at,
    tenant_purge_due,
)

NOW = datetime(2027, 8, 31, 12, 0, tzinfo=UTC)


def test_cutoffs_per_category() -> None:
    """Logs 12 months, cookies 12 months, recordings 90 days or 6 months with the extension."""
    plain = TenantRetention()
    assert cutoff(Category.USAGE_LOGS, plain, NOW) == datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
    assert cutoff(Category.COOKIE_CHOICES, plain, NOW) == datetime(2026, 8, 31, 12, tzinfo=UTC)
    assert cutoff(Category.RECORDINGS, plain, NOW) == NOW - timedelta(days=90)
    extended = TenantRetention(storage_extension=True)
    assert cutoff(Category.RECORDINGS, extended, NOW) == datetime(2027, 2, 28, 12, tzinfo=UTC)
    assert cutoff(Category.TENANT_DATA, plain, NOW) is None


def test_a_legal_hold_keeps_everything() -> None:
    """Under a legal hold no category has a cut-off and the tenant is never purged."""
    held = TenantRetention(
        contract_ended_at=NOW - timedelta(days=400), legal_hold=True, legal_hold_reason="x"
    )
    assert all(cutoff(category, held, NOW) is None for category in Category)
    assert not tenant_purge_due(held, NOW)


def test_tenant_data_goes_one_calendar_month_after_the_contract_ends() -> None:
    """Contract ended July 31: due on August 31 (same time), not a second before."""
    ended = TenantRetention(contract_ended_at=datetime(2027, 7, 31, 12, 0, tzinfo=UTC))
    assert tenant_purge_due(ended, NOW)
    assert not tenant_purge_due(ended, NOW - timedelta(seconds=1))
    assert not tenant_purge_due(TenantRetention(), NOW)


def test_a_contract_ending_at_the_calendars_end_is_never_due() -> None:
    """9999-12-31 is how a caller says "no end": a month after it is year 10000, which Python
    cannot name (the retention job raised ValueError for every tenant after it)."""
    forever = TenantRetention(contract_ended_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert not tenant_purge_due(forever, NOW)


def test_an_end_recorded_late_still_leaves_its_month() -> None:
    """An end put 32 days in the past was due at once: the month of reversibility counts from
    when the end was recorded when that is later (probe R)."""
    recorded = datetime(2026, 12, 5, 12, tzinfo=UTC)
    late = TenantRetention(
        contract_ended_at=recorded - timedelta(days=32), contract_end_recorded_at=recorded
    )
    assert purge_due_at(late) == datetime(2027, 1, 5, 12, tzinfo=UTC)
    assert not tenant_purge_due(late, recorded + timedelta(days=30))
    assert tenant_purge_due(late, datetime(2027, 1, 5, 12, tzinfo=UTC))
    ahead = TenantRetention(
        contract_ended_at=recorded + timedelta(days=10), contract_end_recorded_at=recorded
    )
    assert purge_due_at(ahead) == datetime(2027, 1, 15, 12, tzinfo=UTC)
    held = TenantRetention(contract_ended_at=recorded, legal_hold=True, legal_hold_reason="litige")
    assert purge_due_at(held) is None
