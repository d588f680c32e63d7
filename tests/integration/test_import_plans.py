"""An import's batches look contact points up by their key whatever the planner's statistics
say of the tenant (store/importing.py): a new tenant's first import, its rows not yet in the
statistics, was planned as a scan of all its identifiers, and past 70,000 people each batch
outlived the statement timeout, rerun after rerun (probe QA)."""

from __future__ import annotations

import hashlib
from uuid import UUID, uuid4

import sqlalchemy as sa

from consentd.app.admin import AdminUseCases
from consentd.app.ports.imports import ImportFile
from consentd.bootstrap import App
from consentd.store.subjects import _OWNERS
from tests.conftest import owner

_PEOPLE = """
WITH people AS (
    SELECT gen_random_uuid() AS s, n FROM generate_series(1, :count) AS n
), made AS (
    INSERT INTO subjects (tenant_id, subject_id, created_at)
    SELECT :t, s, now() FROM people
), keyed AS (
    INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at)
    SELECT :t, s, '\\x00'::bytea, now() FROM people
)
INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, created_at)
SELECT :t, 'email', sha256(convert_to(:t || n::text, 'UTF8')), s, now() FROM people
"""


_ENTER = sa.text("SELECT set_config('consentd.tenant_id', :t, true)")


async def _people(app: App, tenant_id: UUID, count: int) -> None:
    async with owner(app).begin() as conn:
        await conn.execute(_ENTER, {"t": str(tenant_id)})
        await conn.execute(sa.text(_PEOPLE), {"t": str(tenant_id), "count": count})


async def _forget(app: App, *tenants: UUID) -> None:
    """The made-up people gone: their keys wrap nothing, and a command's start tries the
    tenants' keys against the secret (the next tests' commands were refused)."""
    async with owner(app).begin() as conn:
        for tenant_id in tenants:
            await conn.execute(_ENTER, {"t": str(tenant_id)})
            for table in ("subject_identifiers", "subject_keys", "subjects"):
                forget = f"DELETE FROM {table} WHERE tenant_id = :t"  # noqa: S608 - constants
                await conn.execute(sa.text(forget), {"t": tenant_id})


def _scans(plan: dict[str, object]) -> list[dict[str, object]]:
    """The plan's nodes that read subject_identifiers."""
    found = [plan] if plan.get("Relation Name") == "subject_identifiers" else []
    for child in plan.get("Plans", []):  # type: ignore[union-attr]
        found += _scans(child)
    return found


async def test_a_new_tenants_batch_looks_each_contact_point_up_by_its_key(
    app: App, admin: AdminUseCases
) -> None:
    known = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    new = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    try:
        await _plans(app, known.tenant_id, new.tenant_id)
    finally:
        await _forget(app, known.tenant_id, new.tenant_id)


async def _plans(app: App, known: UUID, new: UUID) -> None:
    await _people(app, known, 5_000)
    async with owner(app).connect() as conn:
        await conn.execute(sa.text("ANALYZE subjects, subject_keys, subject_identifiers"))
        await conn.commit()
    await _people(app, new, 20_000)  # not in the statistics: "one row"
    hexes = (hashlib.sha256(f"{new}{n}".encode()).hexdigest() for n in range(1, 501))
    digests = "{" + ",".join(f"\\\\x{h}" for h in hexes) + "}"  # an array literal of bytea
    prepared = _OWNERS.replace("SELECT", "PREPARE owners(uuid, text[], bytea[]) AS SELECT", 1)
    store = app.imports._store
    async with store.batch(new, ImportFile("0" * 64, "plans.csv", 1)) as batch:
        conn = batch._conn
        await conn.exec_driver_sql(prepared)
        explained = await conn.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) EXECUTE owners('{new}', "
            f"array_fill('email'::text, ARRAY[500]), '{digests}')"
        )
        plan = explained.scalar_one()[0]["Plan"]  # asyncpg decodes the json
        await conn.exec_driver_sql("DEALLOCATE owners")
    scans = _scans(plan)
    assert scans, plan
    for scan in scans:  # by its key (tenant, kind, digest), not all the tenant's rows
        assert "digest" in str(scan.get("Index Cond", "")), scan
