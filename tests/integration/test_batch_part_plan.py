"""A write batch's part looks its identifiers' owners up with one generic plan per connection
(migration 0017): planned again at every call, the look-up cost PostgreSQL 0.23 ms of planning
for 0.03 ms of execution, once for every tenant of every batch. Its generic plan, as the runtime
role under row-level security, probes the identifiers' primary key for each digest given; 0016's
join, planned generically with the statistics of many small tenants, read every identifier of
the tenant (a large tenant's million at every write)."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.conftest import owner
from tests.integration.plans import explained

FILL = """
WITH made AS (
    INSERT INTO subjects (tenant_id, subject_id, created_at)
    SELECT :tenant, gen_random_uuid(), now() FROM generate_series(1, :rows)
    RETURNING subject_id
)
INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, created_at)
SELECT :tenant, 'email', sha256(subject_id::text::bytea), subject_id, now() FROM made
"""
EMPTY = """
WITH gone AS (DELETE FROM subject_identifiers WHERE tenant_id = :tenant)
DELETE FROM subjects WHERE tenant_id = :tenant
"""


async def _plans(app: App, tenant: Tenant) -> list[str]:
    """The plans consentd_batch_part's owners look-up ran with, in eight calls (past the five
    custom plans PL/pgSQL makes before it compares), at the function's own plan_cache_mode."""
    digest = hashlib.sha256(b"nobody").digest()

    async def calls(raw: Any) -> None:
        for _ in range(8):
            await raw.fetch(
                "SELECT * FROM consentd_batch_part($1, $2, $3, $4)",
                tenant.tenant_id,
                ["marketing"],
                ["email"],
                [digest],
            )

    return await explained(app, calls, having="FROM subject_identifiers")


async def test_the_owners_look_up_keeps_a_generic_plan_of_key_probes(
    app: App, tenant: Tenant
) -> None:
    """With 5,000 identifiers counted in the tenant: every call ran the generic plan (its
    parameters unknown to it: `$n`, where a custom plan holds the values), an index probe."""
    try:
        async with owner(app).begin() as conn:
            await conn.execute(sa.text(FILL), {"tenant": tenant.tenant_id, "rows": 5000})
        async with owner(app).connect() as conn:
            await conn.exec_driver_sql("ANALYZE subject_identifiers")
            await conn.exec_driver_sql("ANALYZE subjects")
        plans = await _plans(app, tenant)
    finally:
        async with owner(app).begin() as conn:
            await conn.execute(sa.text(EMPTY), {"tenant": tenant.tenant_id})
    assert len(plans) == 8, plans
    for plan in plans:
        assert "Index Scan using pk_subject_identifiers" in plan, plan
        assert "Limit" in plan, plan
        assert "Heap Scan on subject_identifiers" not in plan, plan
        assert "Seq Scan on subject_identifiers" not in plan, plan
        # generic: the tenant is a parameter there, where a custom plan holds its value
        assert "::uuid = $1)" in plan, plan
