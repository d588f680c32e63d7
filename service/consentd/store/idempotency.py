"""Idempotent writes: the key, the write and the stored response commit in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.app.ports import Clock
from consentd.domain.errors import InvalidInput
from consentd.store.tables import idempotency_keys
from consentd.store.uow import ambient, enter_tenant

KEEP = timedelta(hours=24)
_K = idempotency_keys


class SqlIdempotency:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def once(
        self,
        *,
        tenant_id: UUID,
        caller: str,
        key: str,
        method: str,
        request_sha256: bytes,
        execute: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        """Claim the key with an insert: a concurrent retry waits on the key's unique index until
        the first attempt commits (then replays its response) or rolls back (then runs)."""
        now = self._clock()
        where = (_K.c.tenant_id == tenant_id, _K.c.caller == caller, _K.c.key == key)
        async with self._engine.connect() as conn:
            await enter_tenant(conn, tenant_id)
            await conn.execute(_K.delete().where(*where, _K.c.expires_at <= now))
            claim = (
                insert(_K)
                .values(
                    tenant_id=tenant_id,
                    caller=caller,
                    key=key,
                    method=method,
                    request_sha256=request_sha256,
                    response=b"",
                    created_at=now,
                    expires_at=now + KEEP,
                )
                .on_conflict_do_nothing()
                .returning(_K.c.key)
            )
            if (await conn.execute(claim)).first() is None:
                stored = (await conn.execute(sa.select(_K).where(*where))).mappings().one()
                await conn.rollback()
                if stored["method"] != method or stored["request_sha256"] != request_sha256:
                    raise InvalidInput(
                        "idempotency-key", "was already used with a different request"
                    )
                response: bytes = stored["response"]
                return response
            async with ambient(conn, tenant_id) as committed:
                response = await execute()
            await conn.execute(_K.update().where(*where).values(response=response))
            await conn.commit()
        for callback in committed:
            callback()
        return response
