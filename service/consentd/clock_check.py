"""Whether this host's clock is behind the facts already recorded or the database's clock, or
ahead of the database's: said at start, and again every minute while serving."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.domain.canonical import stamp
from consentd.store.database import clock_facts

log = structlog.get_logger("consentd")

# How far this host's clock may be behind the newest fact recorded (an NTP step, another
# node's clock a little ahead) before consentd says so.
CLOCK_TOLERANCE = timedelta(seconds=60)


async def check_clock(owner_url: str | AsyncEngine, now: datetime) -> timedelta | None:
    """How far `now` is behind the newest fact in the database, when more than the tolerance;
    logged as an error: what this host writes is dated before facts already recorded (a host
    two years behind stamped a withdrawal before the grant it withdrew, and a later import of
    an older grant undid it). Not a refusal to start: after a clock that ran ahead is set
    right, its facts stay ahead until time catches up, and opt-outs must still be taken. A
    clock ahead of the database's is said too (_ahead)."""
    newest, database_now = await clock_facts(owner_url)
    _ahead(now, database_now)
    return _behind(now, newest, database_now)


def _ahead(now: datetime, database_now: datetime) -> timedelta | None:
    """How far `now` is ahead of the database's clock, when more than the tolerance; logged as
    an error: nothing said it while serving a day ahead, and every fact was dated a day on (a
    cookie refusal valid a day past its months, an access request due a day past the month;
    probe HG). The database's clock is the one its guards read (retention refuses to run past
    an hour ahead, app/retention.py)."""
    if now - database_now <= CLOCK_TOLERANCE:
        return None
    log.error(
        "clock_ahead_of_database", now=stamp(now), database_now=stamp(database_now),
        ahead_seconds=round((now - database_now).total_seconds()),
        hint="set this host's clock right (NTP): facts written now are dated in the future, "
        "stretching cookie validity and rights deadlines; past an hour ahead the retention job "
        "refuses to run",
    )  # fmt: skip
    return now - database_now


def _behind(now: datetime, newest: datetime | None, database_now: datetime) -> timedelta | None:
    """How far `now` is behind the newest fact or the database's clock, the further, when more
    than the tolerance: only the newest fact was compared, so a host behind with a log still
    empty (or written by it) was never told (probe TB)."""
    reference = max(filter(None, (newest, database_now)))
    if reference - now <= CLOCK_TOLERANCE:
        return None
    log.error(
        "clock_behind_database", now=stamp(now), newest_fact=newest and stamp(newest),
        database_now=stamp(database_now), behind_seconds=round((reference - now).total_seconds()),
        hint="set this host's clock right (NTP): facts written now are dated before others",
    )  # fmt: skip
    return reference - now


# How often a serving process checks its clock against the newest fact again.
CLOCK_WATCH_SECONDS = 60.0


class ClockGauge(Protocol):
    def clock_offset(self, seconds: float) -> None: ...


async def watch_clock(
    runtime: AsyncEngine,
    owner: AsyncEngine | None,
    every: float = CLOCK_WATCH_SECONDS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    gauge: ClockGauge | None = None,
) -> None:
    """Until cancelled: the clock against the database's and the newest fact every `every`
    seconds, so a clock set back while serving (or never set right) is said again and again,
    not once at start (probe AC). Against the newest fact read since it started: the log's
    newest entry is this host's own once it wrote (dated by the writer's clock), and one write
    silenced the check (probe AF). The facts need the owner (row-level security); without its
    URL the database's clock alone, through `runtime` (a serving pod's clock was never watched,
    probe TB). `gauge` gets this host's offset from the database's clock each time."""
    seen: datetime | None = None
    first = True
    while True:
        with contextlib.suppress(Exception):  # the database lost: health and the calls say so
            newest, database_now = await clock_facts(owner or runtime)
            seen = max(filter(None, (newest, seen)), default=None)
            now = clock()
            if gauge is not None:
                gauge.clock_offset((now - database_now).total_seconds())
            if not first:  # at start, runtime's check_clock has just said it
                _behind(now, seen, database_now)
                _ahead(now, database_now)
            first = False
        await asyncio.sleep(every)
