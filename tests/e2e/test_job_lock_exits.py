"""`consentd purge` and `consentd retention run` share one lock; a run that finds it held does
nothing and exits 3, both of them (purge exited 0, which cron and monitoring read as done:
probe QA)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from consentd.app.retention import LOCK_NAME
from consentd.bootstrap import App
from consentd.store.locks import AdvisoryLock
from tests.conftest import command_env, owner


async def test_a_job_that_finds_the_lock_held_exits_3(
    app: App, database_url: str, owner_url: str
) -> None:
    env = command_env(database_url, owner_url)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "consentd", *args]
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    async with AdvisoryLock(owner(app)).hold(LOCK_NAME) as held:
        assert held
        purged = await asyncio.to_thread(run, "purge")
        retained = await asyncio.to_thread(run, "retention", "run")
    assert (purged.returncode, purged.stdout.strip()) == (
        3,
        "purge skipped: another purge or retention run holds the lock",
    ), purged.stderr
    assert retained.returncode == 3, retained.stderr
    # Said as purge says it (its JSON alone said so; probe UC), stdout staying JSON.
    assert "retention run skipped: another purge or retention run holds the lock" in (
        retained.stderr
    )
