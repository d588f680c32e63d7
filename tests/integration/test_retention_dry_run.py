"""A retention dry run counts what the run would prune: the run signs the head first and prunes
up to it when its entry is old enough; the dry run counted only the checkpoints already signed
(probe IK: 70 entries said, 90 pruned)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import sqlalchemy as sa

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.store.tables import audit_checkpoints, audit_entries
from tests.conftest import TestClock, owner
from tests.integration.helpers import catalogue, email, grant


async def test_a_dry_run_counts_the_entries_up_to_an_old_unsigned_head(
    app: App, admin: AdminUseCases, clock: TestClock
) -> None:
    assert app.retention is not None
    clock.pinned = datetime.now(UTC) - timedelta(days=430)
    try:  # the tenant made then too: a prune keeps every entry after the first young one
        tenant = await admin.create_tenant(f"dry-{uuid4().hex[:8]}")
        await catalogue(app, tenant)
        await grant(app, tenant, email("long-ago@example.fr"))
        await app.sequencer.drain(tenant.tenant_id)
    finally:
        clock.pinned = None
    async with owner(app).connect() as conn:
        mine = audit_entries.c.tenant_id == tenant.tenant_id
        entries = (await conn.execute(sa.select(sa.func.count()).where(mine))).scalar_one()
    report = await app.retention.run(dry_run=True)
    (found,) = (t for t in report.tenants if t.tenant == tenant.slug)
    assert found.deleted.get("audit_entries") == entries
    async with owner(app).connect() as conn:  # the dry run signed nothing for good
        signed = audit_checkpoints.c.tenant_id == tenant.tenant_id
        assert (await conn.execute(sa.select(sa.func.count()).where(signed))).scalar_one() == 0
