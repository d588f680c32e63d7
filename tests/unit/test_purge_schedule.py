"""The scheduled retention run (`consentd serve`'s background job) met a database outage: it
logged a multi-kilobyte traceback at error level and waited a whole interval (a day by default)
before trying again, skipping a day of retention for one blip (probe FB). It says the database's
state in one warning and tries again soon."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from structlog.testing import capture_logs

from consentd.app.retention import RetentionReport
from consentd.jobs import retention as scheduled
from consentd.wiring.store import database_state


class _FirstRunMeetsAnOutage:
    """A retention job whose first run meets a database not accepting connections yet."""

    def __init__(self) -> None:
        self.runs = 0
        self.again = asyncio.Event()

    async def run(self) -> RetentionReport:
        self.runs += 1
        if self.runs > 1:
            self.again.set()
        if self.runs == 1:
            raise asyncpg.CannotConnectNowError("the database system is not yet accepting")
        return RetentionReport(dry_run=False, ran_at=datetime.now(UTC))


async def test_a_run_that_met_an_outage_is_said_in_a_line_and_tried_again_soon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduled, "FIRST_PURGE_DELAY", 0.01)
    monkeypatch.setattr(scheduled, "RETRY_DELAY", 0.05)
    job = _FirstRunMeetsAnOutage()
    with capture_logs() as logs:
        scheduling = scheduled.purge_periodically(job, 3600.0, None, database_state)  # type: ignore[arg-type]
        task = asyncio.create_task(scheduling)
        try:
            async with asyncio.timeout(10):  # not a day
                await job.again.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    failed = [line for line in logs if line["event"] == "purge_failed"]
    assert failed == [
        {
            "event": "purge_failed",
            "log_level": "warning",
            "failures": 1,
            "database": "57P03",
        }
    ]


@pytest.mark.parametrize(
    ("failures", "delay"), [(1, 300.0), (2, 600.0), (3, 1200.0), (9, 76800.0), (10, 86400.0)]
)
def test_failed_runs_are_tried_again_ever_later_up_to_the_interval(
    failures: int, delay: float
) -> None:
    """Probe FE: a run failing every time (a defect, not an outage) was tried again, traceback
    and all, every 5 minutes for ever."""
    assert scheduled._retry_delay(86400.0, failures) == delay
