"""The sequencer's take of queued rows, as the runtime role under row-level security and its
generic plan, reads the queue once: `queue_id IN (SELECT ... LIMIT n)` let the planner run the
subquery again for every row, and with statistics still saying the queue was empty (a backlog
made in seconds: an import of 30,000 rows) a pass took 2,000 x 2,000 rows, went past the
statement timeout, and the audit log and the change feed stopped until the statistics caught
up."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.audit import GENESIS
from consentd.domain.tenancy import Tenant
from tests.conftest import owner
from tests.integration.plans import explained

FILL = """
INSERT INTO audit_queue (tenant_id, action, subject_id, fact_id, payload)
SELECT :tenant, 'consent.recorded', gen_random_uuid(), gen_random_uuid(), '{}'::jsonb
FROM generate_series(1, :rows)
"""


async def _plan(app: App, tenant: Tenant) -> str:
    """The plans of consentd_take_queued's statements (migration 0015), generic, as the runtime
    role under row-level security, as the sequencer runs it."""

    async def take(raw: Any) -> None:
        await raw.fetch(
            "SELECT * FROM consentd_take_queued($1, 2000, $2)", [tenant.tenant_id], GENESIS
        )

    generic = "plan_cache_mode = force_generic_plan"
    taken = await explained(app, take, generic, having="DELETE FROM audit_queue")
    assert taken
    return "\n".join(taken)


async def test_the_take_reads_the_queue_once_whatever_the_statistics(
    app: App, tenant: Tenant
) -> None:
    """Planned with statistics saying the queue is empty, and again once they count a backlog:
    never a join of the queue with itself (the per-row re-run of the subquery), always a range
    of the queue's primary key bounded by one sub-plan."""
    async with owner(app).connect() as conn:
        await conn.exec_driver_sql("ANALYZE audit_queue")
    plans = [await _plan(app, tenant)]
    try:
        async with owner(app).begin() as conn:
            await conn.execute(sa.text(FILL), {"tenant": tenant.tenant_id, "rows": 5000})
        async with owner(app).connect() as conn:
            await conn.exec_driver_sql("ANALYZE audit_queue")
        plans.append(await _plan(app, tenant))
    finally:  # rows of no fact: never for the sequencer to integrate
        async with owner(app).begin() as conn:
            query = "DELETE FROM audit_queue WHERE tenant_id = :tenant AND payload = '{}'"
            await conn.execute(sa.text(query), {"tenant": tenant.tenant_id})
    for plan in plans:
        assert "Join" not in plan, plan
        assert "Nested Loop" not in plan, plan
        assert "queue_id <= $0" in plan or "queue_id <= (InitPlan" in plan, plan
