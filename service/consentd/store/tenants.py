"""Tenants: the B2B customers, each a wall around its own rows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Tenant
from consentd.store.tables import tenants


def _tenant(row: sa.Row[tuple[object, ...]]) -> Tenant:
    m = row._mapping
    return Tenant(m["tenant_id"], m["slug"], m["name"], ProcessingRole(m["processing_role"]))


class SqlTenants:
    """Tenant lookups run outside any tenant's transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_slug(self, slug: str) -> Tenant | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(tenants).where(tenants.c.slug == slug))).first()
        return _tenant(row) if row else None

    async def all(self) -> list[Tenant]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(sa.select(tenants).order_by(tenants.c.slug))
        return [_tenant(row) for row in rows]

    async def create(self, tenant: Tenant, now: datetime) -> Tenant:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(tenants)
                .values(
                    tenant_id=tenant.tenant_id,
                    slug=tenant.slug,
                    name=tenant.name,
                    processing_role=tenant.processing_role.value,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["slug"])
            )
            row = (
                await conn.execute(sa.select(tenants).where(tenants.c.slug == tenant.slug))
            ).one()
        return _tenant(row)
