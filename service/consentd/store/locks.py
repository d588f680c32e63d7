"""Job locks: PostgreSQL session advisory locks, released when the holder's connection ends
(a process killed with SIGKILL frees its lock with its connection)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        key = lock_key(name)
        async with self._engine.connect() as conn:
            got = bool((await conn.execute(sa.select(sa.func.pg_try_advisory_lock(key)))).scalar())
            await conn.commit()  # the lock is the session's: no transaction stays open
            try:
                yield got
            finally:
                if got:
                    await conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                    await conn.commit()
