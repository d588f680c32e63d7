"""The unit of work: one connection, one transaction, one tenant.

An ambient transaction (see `ambient`) lets an outer scope — the idempotency gate — own the
transaction: a unit of work opened inside it for the same tenant joins it, and its commit()
leaves the final commit to the owner, so the write and the stored response commit together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _Ambient:
    conn: AsyncConnection
    tenant_id: UUID


_ambient: ContextVar[_Ambient | None] = ContextVar("consentd_ambient_transaction", default=None)


async def enter_tenant(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Begin a transaction on `conn` and set the tenant for it alone."""
    await conn.begin()
    await conn.execute(_SET_TENANT, {"tenant": str(tenant_id)})


@asynccontextmanager
async def ambient(conn: AsyncConnection, tenant_id: UUID) -> AsyncIterator[None]:
    """Units of work for `tenant_id` opened inside this block join `conn`'s transaction."""
    token = _ambient.set(_Ambient(conn, tenant_id))
    try:
        yield
    finally:
        _ambient.reset(token)


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
        self._joined = False

    async def __aenter__(self) -> Self:
        outer = _ambient.get()
        if outer is not None and outer.tenant_id == self._tenant:
            conn, self._joined = outer.conn, True
        else:
            conn = await self._engine.connect()
            try:
                await enter_tenant(conn, self._tenant)
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
        if conn is None or self._joined:
            return  # a joined transaction is the owner's to commit or roll back
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("commit() outside the unit of work")
        if not self._joined:
            await self._conn.commit()
