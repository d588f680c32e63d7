"""Retention limits of the privacy policy, per data category, as rules.

- usage logs (the audit log is the service's application log): 12 months at most;
- cookie choices: as the cookie rules say (12 months at most; issue #3 owns them);
- call recordings: 90 days, 6 months with the tenant's storage extension;
- everything else of a tenant: the contract's length, then one month (reversibility), unless the
  tenant is under a legal hold;
- a subject nobody heard from (no consent event, rights request, objection or restriction,
  contact change, confirmation or linked cookie choice) in the tenant's `inactive_subject_months`,
  when it set one: erased as an erasure does (app/inactive_subjects.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from consentd.domain.canonical import stamp
from consentd.domain.errors import FailedPrecondition
from consentd.domain.months import local_months as add_months

# How far the retention job's clock may be from the database's, whose guards read their own:
# decisions are made this much on the safe side, and a clock further ahead is refused.
CLOCK_MARGIN = timedelta(hours=1)

USAGE_LOG_MONTHS = 12
COOKIE_CHOICE_MONTHS = 12
RECORDING_DAYS = 90
RECORDING_EXTENDED_MONTHS = 6
AFTER_CONTRACT_MONTHS = 1
# The bounds of a tenant's inactive_subject_months (0: never): the CNIL's reference for prospects
# is 36; under a year would erase people between two yearly campaigns, over ten is no limit.
INACTIVE_MONTHS_MIN = 12
INACTIVE_MONTHS_MAX = 120


class Category(enum.StrEnum):
    USAGE_LOGS = "usage_logs"
    COOKIE_CHOICES = "cookie_choices"
    RECORDINGS = "recordings"
    TENANT_DATA = "tenant_data"
    INACTIVE_SUBJECTS = "inactive_subjects"


@dataclass(frozen=True, slots=True)
class TenantRetention:
    """A tenant's contract facts that retention depends on."""

    contract_ended_at: datetime | None = None
    legal_hold: bool = False
    legal_hold_reason: str = ""
    storage_extension: bool = False
    purged_at: datetime | None = None
    updated_at: datetime | None = None
    # When the current contract_ended_at was set: an end set in the past still leaves a month.
    contract_end_recorded_at: datetime | None = None
    # 0: never; None in a put: keep the one in force (a client from before it sends none).
    inactive_subject_months: int | None = 0


def cutoff(category: Category, settings: TenantRetention, now: datetime) -> datetime | None:
    """Rows of the category older than this may go; None: nothing of it may go now.

    A legal hold keeps everything; tenant data goes whole once the contract ended a month ago.
    """
    if settings.legal_hold:
        return None
    if category is Category.RECORDINGS and not settings.storage_extension:
        return now - timedelta(days=RECORDING_DAYS)
    months = {
        Category.USAGE_LOGS: USAGE_LOG_MONTHS,
        Category.COOKIE_CHOICES: COOKIE_CHOICE_MONTHS,
        Category.RECORDINGS: RECORDING_EXTENDED_MONTHS,
        Category.INACTIVE_SUBJECTS: settings.inactive_subject_months or 0,  # 0: never
    }.get(category, 0)
    return add_months(now, -months) if months else None


def tenant_purge_due(settings: TenantRetention, now: datetime) -> bool:
    """True once purge_due_at has come."""
    due = purge_due_at(settings)
    return due is not None and due <= now


def purge_due_at(settings: TenantRetention) -> datetime | None:
    """When the tenant's data goes: a month after its contract ended, or after that end was
    recorded when it was recorded later (an end set 32 days in the past was purged at the
    next run: the month of reversibility the policy keeps never existed); None without an
    end, under a legal hold, or for an end at the calendar's end (no year 10000)."""
    ended = settings.contract_ended_at
    if ended is None or settings.legal_hold or ended.year == 9999:
        return None
    start = max(ended, settings.contract_end_recorded_at or ended)
    if start.year == 9999:
        return None
    return add_months(start, AFTER_CONTRACT_MONTHS)


def refuse_clock_ahead(now: datetime, database_now: datetime) -> None:
    """FailedPrecondition when this host's clock is over CLOCK_MARGIN ahead of the database's:
    a job a year ahead marked a tenant purged, every row refused after (probe CD)."""
    ahead = now - database_now
    if ahead > CLOCK_MARGIN:
        raise FailedPrecondition(
            f"this host's clock ({stamp(now)}) is {ahead} ahead of the database's "
            f"({stamp(database_now)}): retention decided on it would be refused midway; set "
            "the clock right (NTP), nothing was done"
        )
