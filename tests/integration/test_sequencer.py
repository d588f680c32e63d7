"""The sequencer's sweep: it finds every tenant with queued audit rows (what another process or
a killed one left, no wake-up here) and integrates them all."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.audit import AuditRecord
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import owner


async def _queued(app: App) -> dict[object, int]:
    async with owner(app).connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT tenant_id, count(*) FROM audit_queue GROUP BY tenant_id")
        )
        return dict(rows.all())


async def test_the_sweep_integrates_every_tenant_left_queued(
    app: App, admin: AdminUseCases
) -> None:
    """Three tenants with rows queued by units of work that woke nobody: the runtime role's
    consentd_queued_tenants() names each, and one sweep leaves none of them queued, their logs
    verifying."""
    tenants = [
        await admin.create_tenant(f"sweep-{i}-{datetime.now(UTC):%H%M%S%f}") for i in range(3)
    ]
    for tenant in tenants:
        async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:  # no signal: not woken
            uow.audit.record(AuditRecord("test.left", datetime.now(UTC)))
            await uow.commit()
    queued = await _queued(app)
    assert all(queued.get(t.tenant_id) for t in tenants)
    async with app.engine.connect() as conn:  # the runtime role, no tenant set
        listed = set((await conn.execute(sa.text("SELECT consentd_queued_tenants()"))).scalars())
    assert {t.tenant_id for t in tenants} <= listed

    await app.sequencer.sweep()

    queued = await _queued(app)
    assert not any(queued.get(t.tenant_id) for t in tenants)
    for tenant in tenants:
        assert (await app.audit.verify(tenant)).ok
