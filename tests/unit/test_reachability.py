"""The gate's view of the database (api/health.py Reachability): lost once the probe has failed
for LOST_AFTER, and those who asked told once per outage, then."""

from __future__ import annotations

import asyncio

import pytest

from consentd.api import health
from consentd.api.health import Reachability
from consentd.api.outages import DatabaseLost


async def test_told_once_when_the_probe_failed_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    """The callbacks run LOST_AFTER after the first failure, once however many failures follow,
    and again for the next outage; the gate refuses from then on, not before."""
    monkeypatch.setattr(health, "LOST_AFTER", 0.05)
    reachability, told = Reachability(), []
    reachability.when_lost(lambda: told.append("lost"))
    reachability.failed()
    reachability.check()  # not yet lost
    reachability.failed()
    await asyncio.sleep(0.1)
    reachability.failed()
    assert told == ["lost"]
    with pytest.raises(DatabaseLost):
        reachability.check()
    reachability.answered()
    reachability.check()
    reachability.failed()
    await asyncio.sleep(0.1)
    assert told == ["lost", "lost"]


async def test_not_told_when_the_probe_answers_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe failing once, then answering within LOST_AFTER (a busy process), loses nothing."""
    monkeypatch.setattr(health, "LOST_AFTER", 0.05)
    reachability, told = Reachability(), []
    reachability.when_lost(lambda: told.append("lost"))
    reachability.failed()
    reachability.answered()
    await asyncio.sleep(0.1)
    assert told == []
