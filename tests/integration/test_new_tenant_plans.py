"""A tenant's contact points are looked up by their key whatever the planner's statistics say
of the tenant: a new tenant's first import, its rows not yet in the statistics ("one row"), was
planned as a scan of all its identifiers, and past 70,000 people each batch outlived the
statement timeout, rerun after rerun (probe QA); after an import stopped mid-way, every call
naming a person by e-mail did (probe RB: GetSubjectConsents, WithdrawConsent, 5 s each)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.admin import AdminUseCases
from consentd.app.ports.imports import ImportFile
from consentd.bootstrap import App
from consentd.store.imports import ANALYZED
from consentd.store.subjects import _OWNERS
from consentd.store.uow import enter_tenant
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


def _scans(
    plan: dict[str, Any], table: str = "subject_identifiers", under: str = ""
) -> list[tuple[dict[str, Any], str]]:
    """The plan's nodes that read `table`, each with the type of the node above it."""
    found = [(plan, under)] if plan.get("Relation Name") == table else []
    for child in plan.get("Plans", []):
        found += _scans(child, table, plan["Node Type"])
    return found


@pytest.fixture
async def stale(app: App, admin: AdminUseCases) -> AsyncIterator[UUID]:
    """A tenant of 20,000 people the statistics do not know (another one's 5,000 analyzed)."""
    known = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    new = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    try:
        await _people(app, known.tenant_id, 5_000)
        async with owner(app).connect() as conn:
            await conn.execute(sa.text("ANALYZE subjects, subject_keys, subject_identifiers"))
            await conn.commit()
        await _people(app, new.tenant_id, 20_000)  # not in the statistics: "one row"
        yield new.tenant_id
    finally:
        await _forget(app, known.tenant_id, new.tenant_id)


async def _owners_plan(conn: AsyncConnection, tenant: UUID) -> dict[str, Any]:
    """The plan of the owners look-up (store/subjects.py) of 500 of the tenant's contact
    points, as a connection that prepared it plans its first execution."""
    hexes = (hashlib.sha256(f"{tenant}{n}".encode()).hexdigest() for n in range(1, 501))
    digests = "{" + ",".join(f"\\\\x{h}" for h in hexes) + "}"  # an array literal of bytea
    prepared = _OWNERS.replace("SELECT", "PREPARE owners(uuid, text[], bytea[]) AS SELECT", 1)
    await conn.exec_driver_sql(prepared)
    explained = await conn.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) EXECUTE owners('{tenant}', "
        f"array_fill('email'::text, ARRAY[500]), '{digests}')"
    )
    await conn.exec_driver_sql("DEALLOCATE owners")
    plan: dict[str, Any] = explained.scalar_one()[0]["Plan"]  # asyncpg decodes the json
    return plan


def _by_key(plan: dict[str, Any]) -> None:
    scans = _scans(plan)
    assert scans, plan
    for scan, _ in scans:  # by its key (tenant, kind, digest), not all the tenant's rows
        assert "digest" in str(scan.get("Index Cond", "")), scan


def _bounded(plan: dict[str, Any]) -> None:
    """At worst one pass over the tenant's identifiers per contact point (under its LIMIT 1),
    and each key read by its subject: never all the identifiers times all the keys."""
    identifiers, keys = _scans(plan), _scans(plan, "subject_keys")
    assert identifiers, plan
    assert keys, plan
    assert all(under in ("Limit", "Result") for _, under in identifiers), identifiers
    for scan, _ in keys:
        assert "subject_id" in str(scan.get("Index Cond", "")), scan


async def test_an_import_batch_looks_each_contact_point_up_by_its_key(
    app: App, stale: UUID
) -> None:
    store = app.imports._store
    async with store.batch(stale, ImportFile("0" * 64, "plans.csv", 1)) as batch:
        _by_key(await _owners_plan(batch._conn, stale))


async def test_a_calls_look_up_stays_bounded_whatever_the_statistics(app: App, stale: UUID) -> None:
    async with app.engine.connect() as conn:
        await enter_tenant(conn, stale)
        _bounded(await _owners_plan(conn, stale))
        await conn.rollback()


async def test_the_tables_a_tenants_people_fill_are_analyzed_every_ten_thousand_rows(
    app: App,
) -> None:
    """Whatever the table's size: PostgreSQL's 10 % of a table of ten million rows, a new
    tenant of a hundred thousand people never reached it (probe RB); at 0061's 1 %, the change
    feed of a tenant of 60,000 took 9 s a page until it had grown past 110,000."""
    query = sa.text(
        "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:tables) AND relkind = 'r'"
    )
    async with owner(app).connect() as conn:
        found = dict((await conn.execute(query, {"tables": list(ANALYZED)})).all())
    assert set(found) == set(ANALYZED)
    for table, options in found.items():
        assert "autovacuum_analyze_scale_factor=0" in (options or []), table
        assert "autovacuum_analyze_threshold=10000" in (options or []), table
