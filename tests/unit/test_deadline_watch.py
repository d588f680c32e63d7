"""The rights-deadline watch says when it cannot read the requests (probe BT: a failing query
was suppressed, never seen), and goes on."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from consentd.deadline_watch import watch_deadlines


async def test_a_watch_that_cannot_read_says_so_and_goes_on() -> None:
    # Nothing listens on port 9 of loopback: every read fails at once.
    owner = create_async_engine("postgresql+asyncpg://nobody:x@127.0.0.1:9/none")
    try:
        with capture_logs() as logs:
            task = asyncio.create_task(watch_deadlines(owner, every=0.05))
            for _ in range(100):  # two reads (0.5 s alone missed one on a loaded machine)
                await asyncio.sleep(0.05)
                if sum(e["event"] == "rights_deadlines_unread" for e in logs) >= 2:
                    break
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await owner.dispose()
    unread = [e for e in logs if e["event"] == "rights_deadlines_unread"]
    assert len(unread) >= 2, logs  # said, then tried again
    assert unread[0]["log_level"] == "warning"
