"""Rights requests still open, counted per tenant against their deadline (as the owner: row-level
security shows the runtime role one tenant at a time). Read by deadline_watch.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

# Open: not yet done or refused. The deadline: the extended one once the person was told of the
# extension within the first month, else the first (domain/rights.py effective_due_at).
_DEADLINES = sa.text("""
WITH pending AS (
    SELECT r.tenant_id,
        CASE WHEN r.extended_due_at IS NOT NULL AND r.person_told_at <= r.due_at
             THEN r.extended_due_at ELSE r.due_at END AS due
    FROM rights_requests r
    WHERE r.state IN ('received', 'identity_verified', 'in_progress')
)
SELECT t.slug,
    count(*) FILTER (WHERE o.due < :now) AS overdue,
    count(*) FILTER (WHERE o.due >= :now) AS due_soon
FROM pending o JOIN tenants t ON t.tenant_id = o.tenant_id
WHERE o.due <= :soon
GROUP BY t.slug ORDER BY t.slug
""")


class TenantDeadlines(NamedTuple):
    tenant: str  # its slug
    overdue: int
    due_soon: int


async def open_deadlines(
    owner: AsyncEngine, now: datetime, soon: timedelta
) -> list[TenantDeadlines]:
    """The tenants with open requests past their deadline or due within `soon`."""
    async with owner.connect() as conn:
        rows = await conn.execute(_DEADLINES, {"now": now, "soon": now + soon})
        return [TenantDeadlines(*row) for row in rows]
