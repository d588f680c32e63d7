"""Rights requests still open, counted per tenant against their deadline (as the owner: row-level
security shows the runtime role one tenant at a time). Read by deadline_watch.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.store.requests import EFFECTIVE_DUE, IS_OPEN
from consentd.store.tables import rights_requests, tenants


class TenantDeadlines(NamedTuple):
    tenant: str  # its slug
    overdue: int
    due_soon: int


async def open_deadlines(
    owner: AsyncEngine, now: datetime, soon: timedelta
) -> list[TenantDeadlines]:
    """The tenants with open requests past their deadline or due within `soon`."""
    due, slug = EFFECTIVE_DUE, tenants.c.slug
    query = (
        sa.select(
            slug,
            sa.func.count().filter(due < now).label("overdue"),
            sa.func.count().filter(due >= now).label("due_soon"),
        )
        .select_from(
            rights_requests.join(tenants, tenants.c.tenant_id == rights_requests.c.tenant_id)
        )
        .where(IS_OPEN, due <= now + soon)
        .group_by(slug)
        .order_by(slug)
    )
    async with owner.connect() as conn:
        return [TenantDeadlines(*row) for row in await conn.execute(query)]
