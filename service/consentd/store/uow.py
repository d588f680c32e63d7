"""The unit of work: one connection, one transaction, one tenant."""

from __future__ import annotations

from types import TracebackType
from typing import Self
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.store.catalog import SqlCatalog
from consentd.store.consents import SqlConsents
from consentd.store.cookies import SqlCookies
from consentd.store.retention import SqlRetention
from consentd.store.subjects import SqlSubjects

# Set per transaction (is_local = true), so a pooled connection never carries a tenant into the
# next request. Row-level security policies read it.
_SET_TENANT = sa.select(sa.func.set_config("consentd.tenant_id", sa.bindparam("tenant"), True))


class SqlUnitOfWork:
    """`async with uow:` opens a transaction inside the tenant; commit() is explicit and leaving
    the block without it rolls back."""

    subjects: SqlSubjects
    consents: SqlConsents
    catalog: SqlCatalog
    cookies: SqlCookies
    retention: SqlRetention

    def __init__(self, engine: AsyncEngine, tenant_id: UUID) -> None:
        self._engine = engine
        self._tenant = tenant_id
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        try:
            await conn.begin()
            await conn.execute(_SET_TENANT, {"tenant": str(self._tenant)})
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.subjects = SqlSubjects(conn, self._tenant)
        self.consents = SqlConsents(conn, self._tenant)
        self.catalog = SqlCatalog(conn, self._tenant)
        self.cookies = SqlCookies(conn, self._tenant)
        self.retention = SqlRetention(conn, self._tenant)
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
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("commit() outside the unit of work")
        await self._conn.commit()
