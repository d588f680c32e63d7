"""The serving process's clock watch (clock_check.watch_clock) holds on to the newest fact it
has read: once this host wrote with its clock behind, the log's newest entry is its own, and
one write silenced the check (probe AF)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from consentd import clock_check


async def test_a_write_dated_by_the_clock_behind_does_not_silence_the_watch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = datetime(2026, 12, 5, 12, tzinfo=UTC)
    behind = real - timedelta(hours=2)
    reads = iter([real] + [behind] * 1000)  # then the newest entry is the host's own write

    async def newest(owner: Any) -> tuple[datetime, datetime]:
        return next(reads), behind  # the database agrees: the facts alone tell

    monkeypatch.setattr(clock_check, "clock_facts", newest)
    with capture_logs() as logs:
        watch = clock_check.watch_clock(object(), None, 0.01, lambda: behind)  # type: ignore[arg-type]
        watching = asyncio.create_task(watch)
        await asyncio.sleep(0.3)
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    said = [e for e in logs if e["event"] == "clock_behind_database"]
    assert len(said) >= 5
    assert {e["behind_seconds"] for e in said} == {7200}
