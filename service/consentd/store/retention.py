"""Retention in the store: a tenant's contract facts, and the batched purge of its data."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.retention import TenantRetention
from consentd.store.tables import (
    consent_events,
    contact_changes,
    notice_heads,
    notices,
    purposes,
    rights_requests,
    subject_blocks,
    subject_identifiers,
    subject_keys,
    subjects,
    suppressions,
    tenant_retention,
)

_T = tenant_retention
# A tenant's tables in the order their rows can go (children first). consent_events (and the
# current-state projection) go through consentd_purge_consent_events, which checks the contract.
PURGE_ORDER: tuple[sa.Table, ...] = (
    consent_events,
    contact_changes,
    rights_requests,
    subject_blocks,
    subject_keys,
    subject_identifiers,
    suppressions,
    subjects,
    purposes,
    notices,
    notice_heads,
)

_BY_NAME = {table.name: table for table in PURGE_ORDER}


class SqlRetention:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def settings(self) -> TenantRetention:
        row = (
            (await self._conn.execute(sa.select(_T).where(_T.c.tenant_id == self._tenant)))
            .mappings()
            .first()
        )
        if row is None:
            return TenantRetention()
        return TenantRetention(
            contract_ended_at=row["contract_ended_at"],
            legal_hold=row["legal_hold"],
            legal_hold_reason=row["legal_hold_reason"],
            storage_extension=row["storage_extension"],
            purged_at=row["purged_at"],
            updated_at=row["updated_at"],
        )

    async def put_settings(self, settings: TenantRetention, now: datetime) -> TenantRetention:
        values = {
            "contract_ended_at": settings.contract_ended_at,
            "legal_hold": settings.legal_hold,
            "legal_hold_reason": settings.legal_hold_reason,
            "storage_extension": settings.storage_extension,
            "updated_at": now,
        }
        stmt = insert(_T).values(tenant_id=self._tenant, **values)
        await self._conn.execute(
            stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values)
        )
        return await self.settings()

    async def mark_purged(self, now: datetime) -> None:
        await self._conn.execute(
            _T.update()
            .where(_T.c.tenant_id == self._tenant, _T.c.purged_at.is_(None))
            .values(purged_at=now)
        )

    def purge_order(self) -> list[str]:
        return [table.name for table in PURGE_ORDER]

    async def count(self, name: str) -> int:
        table = _BY_NAME[name]
        query = (
            sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == self._tenant)
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def purge_batch(self, name: str, limit: int) -> int:
        """Delete up to `limit` of the tenant's rows of table `name`; how many went."""
        table = _BY_NAME[name]
        if table is consent_events:
            result = await self._conn.execute(
                sa.select(sa.func.consentd_purge_consent_events(self._tenant, limit))
            )
            return int(result.scalar_one())
        key = list(table.primary_key.columns)
        batch = sa.select(*key).where(table.c.tenant_id == self._tenant).limit(limit)
        result = await self._conn.execute(table.delete().where(sa.tuple_(*key).in_(batch)))
        return int(result.rowcount)
