"""The audit prune keeps every entry younger than 12 months, whatever the clock that dated the
checkpoints did (migration 0064)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import sqlalchemy as sa

from consentd.app.admin import AdminUseCases
from consentd.app.cookie_choices import RecordCookieChoice
from consentd.bootstrap import App
from consentd.domain.cookie_policy import DEFAULT_POLICY
from consentd.domain.cookies import ChoiceMethod
from consentd.domain.tenancy import Principal
from consentd.store.tables import audit_entries
from tests.conftest import TestClock, owner
from tests.integration.helpers import catalogue, email, grant


async def test_a_clock_set_back_prunes_no_entry_younger_than_a_year(
    app: App, admin: AdminUseCases, clock: TestClock
) -> None:
    """Probe XB: a host whose clock ran ahead (a cookie choice logged two months from now),
    then was set back 14 months and signed a checkpoint, left a checkpoint dated before the
    entries it covers; the next run pruned them and the choice, still stored, was no longer in
    the log: `audit verify` failed until it expired. Now the run prunes only through the
    checkpoint before the first young entry, and the database refuses the later one."""
    now = datetime.now(UTC)
    try:
        clock.pinned = now - timedelta(days=430)
        tenant = await admin.create_tenant(f"clock-back-{uuid4().hex[:8]}")
        who = Principal(tenant, "test")
        await catalogue(app, tenant)
        await app.cookies.put_cookie_policy(who, DEFAULT_POLICY)
        await grant(app, tenant, email("old@example.fr"))
        first = await app.audit.checkpoint(tenant)
        clock.pinned = now + timedelta(days=60)  # ahead...
        await app.cookies.record_cookie_choice(
            who, RecordCookieChoice(uuid4().hex, ChoiceMethod.ACCEPT_ALL, policy_revision=1)
        )
        clock.pinned = now - timedelta(days=420)  # ...then set back
        await grant(app, tenant, email("behind@example.fr"))
        second = await app.audit.checkpoint(tenant)
        clock.pinned = None
        assert first is not None
        assert second is not None
        assert second.seq > first.seq
        assert app.retention is not None
        report = {t.tenant: t for t in (await app.retention.run()).tenants}
    finally:
        clock.pinned = None
    assert report[tenant.slug].status == "kept", report[tenant.slug]
    async with owner(app).connect() as conn:
        query = sa.select(sa.func.min(audit_entries.c.seq)).where(
            audit_entries.c.tenant_id == tenant.tenant_id
        )
        assert (await conn.execute(query)).scalar_one() == first.seq + 1
        await conn.execute(
            sa.select(sa.func.set_config("consentd.tenant_id", str(tenant.tenant_id), True))
        )
        with pytest.raises(sa.exc.DBAPIError, match="younger than 12 months"):
            await conn.execute(
                sa.select(sa.func.consentd_prune_audit(tenant.tenant_id, second.seq))
            )
        await conn.rollback()
    verified = await app.audit.verify(tenant)
    assert verified.ok, verified
