"""Passes of several tenants in one transaction (store/sequencer.py integrate_many), as the
runtime role under row-level security: each tenant's queued rows become its own entries and
feed positions, every chain verifies, and a failure of one pass commits nothing of the others."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.audit import AuditRecord
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.tenancy import Tenant
from consentd.store.sequencer import SqlSequencer
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import owner


async def _queue(app: App, tenant: Tenant, count: int) -> None:
    """`count` entries queued (a unit of work without the app's signal: nothing integrates
    them until the test does)."""
    for n in range(count):
        async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
            uow.audit.record(AuditRecord("test.appended", datetime.now(UTC), {"n": n}))
            await uow.commit()


async def _entries(app: App, tenant_id: UUID) -> tuple[list[int], int]:
    async with owner(app).connect() as conn:
        seqs = (
            await conn.execute(
                sa.text(
                    "SELECT seq FROM audit_entries WHERE tenant_id = :t AND action = "
                    "'test.appended' ORDER BY seq"
                ),
                {"t": tenant_id},
            )
        ).scalars()
        queued = (
            await conn.execute(
                sa.text("SELECT count(*) FROM audit_queue WHERE tenant_id = :t"), {"t": tenant_id}
            )
        ).scalar_one()
    return list(seqs), queued


async def test_one_transaction_integrates_each_tenant_into_its_own_log(
    app: App, admin: AdminUseCases
) -> None:
    tenants = [await admin.create_tenant(f"group-{uuid4().hex[:12]}") for _ in range(3)]
    await app.sequencer.settled()
    for count, tenant in enumerate(tenants, start=2):
        await _queue(app, tenant, count)
    sequencer = SqlSequencer(app.engine, CheckpointSigner(bytes(range(32))), 0)
    done = await sequencer.integrate_many([t.tenant_id for t in tenants], 100, datetime.now(UTC))
    # Each tenant's rows and its creation's entry (administration queues it, does not wake).
    assert {t: d.entries for t, d in done.items()} == {
        t.tenant_id: count + 1 for count, t in enumerate(tenants, start=2)
    }
    for count, tenant in enumerate(tenants, start=2):
        seqs, queued = await _entries(app, tenant.tenant_id)
        assert len(seqs) == count
        assert queued == 0
        assert (await app.audit.verify(tenant)).ok


async def test_a_failed_pass_commits_nothing_of_the_group(
    app: App, admin: AdminUseCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants = [await admin.create_tenant(f"fail-{uuid4().hex[:12]}") for _ in range(2)]
    await app.sequencer.settled()
    for tenant in tenants:
        await _queue(app, tenant, 2)
    sequencer = SqlSequencer(app.engine, CheckpointSigner(bytes(range(32))), 0)
    last = max(t.tenant_id for t in tenants)
    chain = SqlSequencer._chain

    async def failing(self: SqlSequencer, raw: object, tenant_id: UUID, *rest: object) -> object:
        if tenant_id == last:
            raise RuntimeError("the second pass fails")
        return await chain(self, raw, tenant_id, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlSequencer, "_chain", failing)
    with pytest.raises(RuntimeError):
        await sequencer.integrate_many([t.tenant_id for t in tenants], 100, datetime.now(UTC))
    for tenant in tenants:
        # Still queued (its creation's entry and ours), none appended.
        assert await _entries(app, tenant.tenant_id) == ([], 3)
    monkeypatch.undo()
    for tenant in tenants:
        assert (await app.audit.verify(tenant)).ok  # integrated now, by the app's sequencer
        assert (await _entries(app, tenant.tenant_id))[1] == 0
