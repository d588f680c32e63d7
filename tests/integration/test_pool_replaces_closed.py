"""A pooled connection the server closed (a restart, a failover, an administrator's
pg_terminate_backend) is replaced when checked out: the next write succeeds on a fresh one, with
no round trip spent on pinging every checkout (store/database.py: _replace_closed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.model import LawfulBasis, Purpose
from consentd.domain.tenancy import Principal, Scope, Tenant
from consentd.store.reads import ReadPool
from tests.conftest import owner

TERMINATE = "SELECT count(pg_terminate_backend(pid)) FROM unnest(CAST(:pids AS int[])) AS pid"


async def _pids(app: App, connections: int) -> tuple[list[int], list[Any]]:
    """Check `connections` connections out at once (each reports its backend) and return them
    to the pool; their backends' pids and their asyncpg connections."""

    held = asyncio.Barrier(connections)  # every connection checked out at the same time
    pids: list[int] = []
    drivers: list[Any] = []

    async def one() -> None:
        async with app.engine.connect() as conn:
            pids.append((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())
            drivers.append((await conn.get_raw_connection()).driver_connection)
            await held.wait()

    await asyncio.gather(*(one() for _ in range(connections)))
    return pids, drivers


async def _until(condition: Callable[[], Awaitable[bool]], what: str, seconds: float = 10) -> None:
    """Poll `condition` until it holds; fail after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what} after {seconds} s"
        await asyncio.sleep(0.02)


async def test_writes_after_the_server_closed_the_pooled_connections(
    app: App, tenant: Tenant
) -> None:
    principal = Principal(tenant, "test", frozenset(Scope))
    pids, drivers = await _pids(app, 4)
    async with owner(app).connect() as conn:
        terminated = (await conn.execute(sa.text(TERMINATE), {"pids": pids})).scalar_one()
        await conn.commit()
    assert terminated >= 4

    async def backends_gone() -> bool:
        async with owner(app).connect() as conn:
            alive = await conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                {"pids": pids},
            )
            return alive.scalar_one() == 0

    async def pooled_read_closed() -> bool:  # the event loop read each closed socket's end
        return all(driver.is_closed() for driver in drivers)

    await _until(backends_gone, "the terminated backends are still running")
    await _until(pooled_read_closed, "the pooled connections do not read as closed")
    for n in range(8):  # more than the pool held: every stale one was checked out and replaced
        purpose = Purpose(f"after-close-{n}", LawfulBasis.CONSENT)
        stored, created = await app.catalog.put_purpose(principal, purpose)
        assert created
        assert stored.purpose_id == purpose.purpose_id


async def test_the_read_pool_replaces_its_connections_once_expired(database_url: str) -> None:
    """After a lost connection the read pool is expired so that a retried read does not meet
    another dead connection: asyncpg's expire_connections is a coroutine, called without await
    it did nothing ("coroutine ... was never awaited" in the log, as plain text). Once expired,
    the next read runs on a new backend."""
    pool = ReadPool(database_url, size=1)
    try:
        conn = await pool.acquire()
        before = await conn.fetchval("SELECT pg_backend_pid()")
        await pool.release(conn)
        await pool.expire()
        conn = await pool.acquire()
        after = await conn.fetchval("SELECT pg_backend_pid()")
        await pool.release(conn)
    finally:
        await pool.close()
    assert after != before
