"""Calendar months, as the privacy policy counts them ("kept 12 months at most").

The rule, used for every cookie-choice expiry:

* `add_months(t, n)` is the same wall-clock instant of the same day of the month, `n` months
  later, counted in UTC (the service stores and compares UTC only, so daylight saving never
  moves a limit).
* When that day does not exist in the target month (the 29th, 30th or 31st), the result is the
  last day of the target month at the same time: 31 January + 1 month = 28 (or 29) February,
  29 February 2028 + 12 months = 28 February 2029. The period is then a few days shorter, never
  longer, so "at most 12 months" always holds.
* A choice made at `t` with a validity of `n` months is valid while `now < add_months(t, n)` and
  expired from that instant on.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

MAX_MONTHS = 12


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus `months` calendar months in UTC, clamping the day to the month's last day.

    Raises ValueError for a naive datetime or a negative count.
    """
    if moment.tzinfo is None:
        raise ValueError("add_months needs an aware datetime")
    if months < 0:
        raise ValueError("months must not be negative")
    utc = moment.astimezone(UTC)
    index = utc.month - 1 + months
    year, month = utc.year + index // 12, index % 12 + 1
    day = min(utc.day, calendar.monthrange(year, month)[1])
    return utc.replace(year=year, month=month, day=day)


def local_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (or earlier) in `moment`'s own
    zone; the month's last day if it is short."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# Where the months of a rights request's deadline are counted: the policy's, French law's and
# the CNIL's. Counted in UTC, a receipt at 01:00 in Paris on 31 May was due on 1 July there,
# and one across a change of summer time an hour late (probe HG).
LEGAL_ZONE = ZoneInfo("Europe/Paris")


def due_after(moment: datetime, months: int) -> datetime:
    """`months` calendar months after `moment`, the same day and time in Paris (the month's last
    day if it is short); in UTC."""
    local = local_months(moment.astimezone(LEGAL_ZONE), months)
    return local.astimezone(UTC)
