"""The retention job deletes the answers idempotent writes stored for replay once their key has
expired (24 h), tenant by tenant under row-level security; a live key stays and still replays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from consentd.app.idempotency import IdempotencyKey
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.tenancy import Tenant
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import migrate
from consentd.store.tables import idempotency_keys
from tests.conftest import TEST_SECRET, TestClock, keyed_write, owner

METHOD = "/consent.v1.ConsentService/RecordConsent"


@pytest.fixture
async def app(
    postgres: EmbeddedPostgres, database_url: str, clock: TestClock
) -> AsyncIterator[App]:
    name = f"replays_{uuid4().hex[:12]}"
    await asyncio.to_thread(postgres.create_database, name)
    url = postgres.url(name)
    await migrate(url)
    runtime_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    made = bootstrap(Settings(), runtime_url, TEST_SECRET, clock, owner_url=url)
    try:
        yield made
    finally:
        clock.pinned = None
        await made.aclose()


async def _write(app: App, clock: TestClock, tenant: Tenant, key: str, answer: bytes) -> bytes:
    claim = IdempotencyKey("key:test", key, METHOD, b"\x01" * 32, clock())
    return await keyed_write(app.engine, tenant.tenant_id, claim, answer)


async def _keys(app: App) -> set[tuple[str, str]]:
    async with owner(app).connect() as conn:
        rows = await conn.execute(sa.select(idempotency_keys.c.tenant_id, idempotency_keys.c.key))
        return {(str(tenant), key) for tenant, key in rows}


async def test_expired_replays_go_live_ones_stay(app: App, clock: TestClock) -> None:
    """Two days ago each tenant stored an answer under key "old"; now one under "fresh". The dry
    run counts the expired ones per tenant and deletes nothing; the run deletes exactly them, in
    batches; "fresh" still replays its stored answer, "old" runs anew."""
    assert app.admin is not None
    assert app.retention is not None
    first = await app.admin.create_tenant("replays-a")
    second = await app.admin.create_tenant("replays-b")
    now = datetime.now(UTC)
    clock.pinned = now - timedelta(days=2)
    for tenant in (first, second):
        await _write(app, clock, tenant, "old", b"old answer")
    clock.pinned = now
    for tenant in (first, second):
        await _write(app, clock, tenant, "fresh", b"fresh answer")
    everything = await _keys(app)
    assert len(everything) == 4

    dry = await app.retention.run(dry_run=True)
    assert {t.tenant: t.deleted for t in dry.tenants} == {
        "replays-a": {"idempotency_keys": 1},
        "replays-b": {"idempotency_keys": 1},
    }
    assert await _keys(app) == everything

    done = await app.retention.run(batch_size=1)
    swept = {t.tenant: t.deleted.get("idempotency_keys", 0) for t in done.tenants}
    assert swept["replays-a"] == swept["replays-b"] == 1
    assert await _keys(app) == {
        (str(first.tenant_id), "fresh"),
        (str(second.tenant_id), "fresh"),
    }
    assert await _write(app, clock, first, "fresh", b"another answer") == b"fresh answer"
    assert await _write(app, clock, first, "old", b"a new answer") == b"a new answer"
