"""Read units of work for the hot paths (checks, streams, the feed), straight on asyncpg.

A check or a chunk of a stream is one statement; SQLAlchemy's unit of work wraps it in
greenlet switches, a compiled set_config, and BEGIN / ROLLBACK round trips of its own, which
cost more than the statement. This one sends BEGIN READ ONLY and set_config in one round trip,
the statement, then ROLLBACK, on a pool of its own. The tenant rule is the same: every
statement runs in a transaction that set `consentd.tenant_id` (transaction-local) first.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self, cast
from uuid import UUID

import asyncpg

from consentd.store.campaign import SqlCampaign
from consentd.store.driver import Driver

# Only a UUID's own text is formatted into this (str(UUID) is hex and dashes).
_BEGIN = "BEGIN READ ONLY; SELECT set_config('consentd.tenant_id', '{tenant}', true)"


async def _release(conn: Any) -> None:
    """What the pool does to a returned connection. The default (RESET ALL, CLOSE ALL, UNLISTEN,
    unlock) is a round trip per release; nothing here outlives its transaction, which is closed
    unless the unit of work failed midway."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


class ReadPool:
    """An asyncpg pool, opened on first use (it needs the running loop)."""

    def __init__(self, url: str, size: int) -> None:
        self._dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._size = size
        self._pool: Any = None

    async def acquire(self) -> Any:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._size,
                reset=_release,
                server_settings={"application_name": "consentd-reads"},
            )
        return await self._pool.acquire()

    async def release(self, conn: Any) -> None:
        await self._pool.release(conn)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


class ReadUnitOfWork:
    """`async with` a read-only transaction inside one tenant; it always ends in a rollback."""

    campaign: SqlCampaign

    def __init__(self, pool: ReadPool, tenant_id: UUID) -> None:
        self._pool = pool
        self._tenant = tenant_id
        self._conn: Any = None

    async def __aenter__(self) -> Self:
        conn = await self._pool.acquire()
        try:
            await conn.execute(_BEGIN.format(tenant=UUID(str(self._tenant))))
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn = conn
        self.campaign = SqlCampaign(cast(Driver, conn), self._tenant)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute("ROLLBACK")
        finally:
            await self._pool.release(conn)
