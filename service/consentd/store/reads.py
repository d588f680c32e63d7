"""Read units of work for the hot paths (checks, streams, the feed), straight on asyncpg.

A check or a chunk of a stream is one statement; SQLAlchemy's unit of work wraps it in
greenlet switches, a compiled set_config, and BEGIN / ROLLBACK round trips of its own, which
cost more than the statement. Here a check is one round trip: consentd_check() sets the tenant
for its own transaction before it reads. Other reads (feed, suppression list) open a read-only
transaction first, BEGIN and set_config in one round trip, and end with ROLLBACK. The tenant
rule is the same everywhere: every statement runs in a transaction that set
`consentd.tenant_id` (transaction-local) before reading.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self, cast
from uuid import UUID

import asyncpg

from consentd.store.campaign import SqlCampaign
from consentd.store.connections import discards_connection
from consentd.store.database import DEFAULT_DB_TIMEOUT, connect_args, database_not_answering
from consentd.store.driver import Driver, in_utc
from consentd.telemetry import PoolUsage

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

    def __init__(
        self,
        url: str,
        size: int,
        ceiling: float = DEFAULT_DB_TIMEOUT,
        application: str = "consentd-reads",
    ) -> None:
        self._dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._size = size
        self._ceiling = ceiling
        self._application = application
        self._pool: Any = None
        self._opening: asyncio.Lock | None = None

    async def acquire(self) -> Any:
        if self._pool is None:
            # Concurrent first calls must share one pool: a connection is released to the
            # pool it came from.
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=1,
                        max_size=self._size,
                        reset=_release,
                        **in_utc(connect_args(self._application, self._ceiling)),
                    )
        return await self._pool.acquire(timeout=self._ceiling)

    async def expire(self) -> None:
        """After a lost connection (PostgreSQL restarted): every pooled connection is replaced
        before its next use, so a retried read does not meet another dead one. (asyncpg's
        expire_connections is a coroutine: called without await it did nothing, and warned.)"""
        if self._pool is not None:
            await self._pool.expire_connections()

    async def release(self, conn: Any) -> None:
        await self._pool.release(conn)

    def usage(self) -> PoolUsage | None:
        """Its connections now (for the metrics); None before the pool is opened."""
        pool = self._pool
        if pool is None:
            return None
        idle = pool.get_idle_size()
        return PoolUsage(pool.get_size() - idle, idle, pool.get_max_size())

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def terminate(self) -> None:
        """Drop every connection at once (close() did not finish: PostgreSQL is not answering)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


class ReadUnitOfWork:
    """`async with`: reads inside one tenant, in a read-only transaction opened on the first
    read that needs one (the check sets the tenant itself) and always rolled back."""

    campaign: SqlCampaign

    def __init__(self, pool: ReadPool, tenant_id: UUID) -> None:
        self._pool = pool
        self._tenant = tenant_id
        self._conn: Any = None
        self._begun = False

    async def __aenter__(self) -> Self:
        self._conn = await self._pool.acquire()
        self._begun = False
        self.campaign = SqlCampaign(cast(Driver, self._conn), self._tenant, self._begin)
        return self

    async def _begin(self) -> None:
        if not self._begun:
            await self._conn.execute(_BEGIN.format(tenant=UUID(str(self._tenant))))
            self._begun = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if exc is not None and database_not_answering(exc):
            # Every pooled connection is replaced before its next use: after PostgreSQL
            # restarted, the feed's read met one stale connection after another, each waiting
            # the ceiling (DEADLINE), where a lost one (UNAVAILABLE) had them replaced.
            await self._pool.expire()
        if exc is not None and discards_connection(exc):
            # Closed, not rolled back: with the database frozen the rollback and the pool's
            # reset each waited the ceiling again (a check took 15 s of a 5 s ceiling; probe W).
            # Terminated, the connection is the pool's again: asking it anything raised
            # InterfaceError, which hid the call's own error.
            conn.terminate()
        elif self._begun and not conn.is_closed():
            try:
                await conn.execute("ROLLBACK")
            finally:
                await self._pool.release(conn)
            return
        await self._pool.release(conn)
