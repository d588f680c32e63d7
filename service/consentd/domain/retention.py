"""Retention limits of the privacy policy, per data category, as rules.

- usage logs (the audit log is the service's application log): 12 months at most;
- cookie choices: as the cookie rules say (12 months at most; issue #3 owns them);
- call recordings: 90 days, 6 months with the tenant's storage extension;
- everything else of a tenant: the contract's length, then one month (reversibility), unless the
  tenant is under a legal hold.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from consentd.domain.rights import add_months

USAGE_LOG_MONTHS = 12
COOKIE_CHOICE_MONTHS = 12
RECORDING_DAYS = 90
RECORDING_EXTENDED_MONTHS = 6
AFTER_CONTRACT_MONTHS = 1


class Category(enum.StrEnum):
    USAGE_LOGS = "usage_logs"
    COOKIE_CHOICES = "cookie_choices"
    RECORDINGS = "recordings"
    TENANT_DATA = "tenant_data"


@dataclass(frozen=True, slots=True)
class TenantRetention:
    """A tenant's contract facts that retention depends on."""

    contract_ended_at: datetime | None = None
    legal_hold: bool = False
    legal_hold_reason: str = ""
    storage_extension: bool = False
    purged_at: datetime | None = None
    updated_at: datetime | None = None


def cutoff(category: Category, settings: TenantRetention, now: datetime) -> datetime | None:
    """Rows of the category older than this may go; None: nothing of it may go now.

    A legal hold keeps everything; tenant data goes whole once the contract ended a month ago.
    """
    if settings.legal_hold:
        return None
    if category is Category.USAGE_LOGS:
        return add_months(now, -USAGE_LOG_MONTHS)
    if category is Category.COOKIE_CHOICES:
        return add_months(now, -COOKIE_CHOICE_MONTHS)
    if category is Category.RECORDINGS:
        if settings.storage_extension:
            return add_months(now, -RECORDING_EXTENDED_MONTHS)
        return now - timedelta(days=RECORDING_DAYS)
    return None


def tenant_purge_due(settings: TenantRetention, now: datetime) -> bool:
    """True once the contract ended at least a month ago and no legal hold applies."""
    ended = settings.contract_ended_at
    if ended is None or settings.legal_hold:
        return False
    if ended.year == 9999:  # a contract ending at the calendar's end: never (no year 10000)
        return False
    return add_months(ended, AFTER_CONTRACT_MONTHS) <= now
