"""Health follows whether the database takes writes: a read-only one (a standby, or
default_transaction_read_only) is NOT_SERVING, so the replica leaves the balancer, while its
calls are still served (checks answer); it said SERVING while every write answered UNAVAILABLE
(probe AM)."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import uuid4

import asyncpg
from structlog.testing import capture_logs

from consentd.api.health import NOT_SERVING, SERVING, Health, Reachability, follow_database
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.probe import READ_ONLY, DatabaseProbe


async def _followed(url: str) -> tuple[int, Reachability, list[str]]:
    """Health after following the database for a second; the reachability; the events."""
    health, reached = Health(()), Reachability()
    probe = DatabaseProbe(url, 2.0)
    with capture_logs() as logs:
        task = asyncio.create_task(follow_database(health, probe, reached))
        await asyncio.sleep(1.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await probe.close()
    return health.status, reached, [e["event"] for e in logs]


async def test_a_read_only_database_is_not_serving_but_reached(postgres: EmbeddedPostgres) -> None:
    name = f"ro_{uuid4().hex[:8]}"
    postgres.create_database(name)
    admin = await asyncpg.connect(postgres.url("postgres", driver="postgresql"))
    try:
        await admin.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    finally:
        await admin.close()
    probe = DatabaseProbe(postgres.url(name), 2.0)
    try:
        assert await probe() == READ_ONLY
    finally:
        await probe.close()
    status, reached, events = await _followed(postgres.url(name))
    assert status == NOT_SERVING
    reached.check()  # not lost: calls are not refused at the gate, checks still answer
    assert events == ["database_read_only"]  # once, not at every probe

    writable_status, _, writable_events = await _followed(postgres.url("postgres"))
    assert writable_status == SERVING
    assert writable_events == ["database_reachable"]
