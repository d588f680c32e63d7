"""The rights desk's digest, as the owner (rights_desk.py): the tenants whose desk is due one,
each taken in a transaction of its own (the row locked, its time moved: one replica sends it),
and the requests it lists. Migration 0059."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.domain.tenancy import Tenant
from consentd.store.callers import tenant_of
from consentd.store.requests import EFFECTIVE_DUE, IS_OPEN
from consentd.store.tables import rights_requests, tenants
from consentd.store.uow import enter_tenant

_R = rights_requests
# At most this many requests in one digest (the counts above them are whole).
DIGEST_LINES = 200


@dataclass(frozen=True)
class DeskLine:
    request_id: UUID
    kind: str
    state: str
    received_at: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class Digest:
    """One tenant's digest: its desk, the counts and the requests to answer."""

    tenant: Tenant
    address: str
    before: datetime | None  # the digest taken before this one
    taken_at: datetime
    overdue: int
    due_soon: int
    received: int  # since the digest before (or the last day)
    lines: list[DeskLine]


async def due_desks(owner: AsyncEngine, since: datetime) -> list[UUID]:
    """The tenants with a rights desk whose last digest was taken before `since`."""
    query = sa.select(tenants.c.tenant_id).where(
        tenants.c.rights_desk.is_not(None),
        sa.or_(tenants.c.rights_digest_at.is_(None), tenants.c.rights_digest_at < since),
    )
    async with owner.connect() as conn:
        return list((await conn.execute(query)).scalars())


async def take_digest(
    owner: AsyncEngine, tenant_id: UUID, since: datetime, now: datetime, soon: timedelta
) -> Digest | None:
    """The tenant's digest, its time moved to `now` in the same transaction; None when another
    replica took it since `since`, or the desk was removed (a purge removes it)."""
    async with owner.connect() as conn:
        await enter_tenant(conn, tenant_id)
        row = (
            await conn.execute(
                # NO KEY: the writes' foreign key checks (KEY SHARE) on the row go on meanwhile
                sa.select(tenants)
                .where(tenants.c.tenant_id == tenant_id)
                .with_for_update(key_share=True)
            )
        ).mappings().first()  # fmt: skip
        taken_before = row["rights_digest_at"] if row else None
        if row is None or row["rights_desk"] is None or (taken_before and taken_before >= since):
            return None
        await conn.execute(
            sa.update(tenants).where(tenants.c.tenant_id == tenant_id).values(rights_digest_at=now)
        )
        received_after = taken_before or now - timedelta(days=1)
        digest = await _digest(conn, row, received_after, now, soon)
        await conn.commit()
    return digest


async def _digest(
    conn: AsyncConnection,
    row: sa.RowMapping,
    received_after: datetime,
    now: datetime,
    soon: timedelta,
) -> Digest:
    mine = _R.c.tenant_id == row["tenant_id"]
    near = sa.and_(IS_OPEN, now + soon >= EFFECTIVE_DUE)
    new = _R.c.received_at > received_after
    counts = sa.select(
        sa.func.count().filter(IS_OPEN, now > EFFECTIVE_DUE),
        sa.func.count().filter(IS_OPEN, now <= EFFECTIVE_DUE, now + soon >= EFFECTIVE_DUE),
        sa.func.count().filter(new),
    ).where(mine)
    overdue, due_soon, received = (await conn.execute(counts)).one()
    listed = (
        sa.select(_R.c.request_id, _R.c.kind, _R.c.state, _R.c.received_at, EFFECTIVE_DUE)
        .where(mine, sa.or_(near, new))
        .order_by(EFFECTIVE_DUE.nulls_last(), _R.c.received_at)
        .limit(DIGEST_LINES + 1)  # one more: whether there are more than are shown
    )
    lines = [DeskLine(*values) for values in (await conn.execute(listed)).all()]
    return Digest(
        tenant_of(row), row["rights_desk"], row["rights_digest_at"], now, overdue, due_soon,
        received, lines,
    )  # fmt: skip


async def give_back(owner: AsyncEngine, digest: Digest) -> None:
    """The digest not sent (the relay refused): its time put back, for the next watch."""
    async with owner.connect() as conn:
        await enter_tenant(conn, digest.tenant.tenant_id)
        await conn.execute(
            sa.update(tenants)
            .where(
                tenants.c.tenant_id == digest.tenant.tenant_id,
                tenants.c.rights_digest_at == digest.taken_at,
            )
            .values(rights_digest_at=digest.before)
        )
        await conn.commit()
