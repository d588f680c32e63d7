"""The runtime role (consentd_app) runs on least privilege: INSERT and SELECT on audit entries
are enough to append, deleting them is refused by privileges, retention removes what it may only
through the SECURITY DEFINER functions, and every new tenant table has forced row-level security.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.audit import AuditRecord
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.tenancy import Tenant
from consentd.store.audit import SqlAudit
from consentd.store.database import RUNTIME_ROLE
from consentd.store.driver import driver_of
from consentd.store.sequencer import SqlSequencer
from consentd.store.uow import SET_TENANT, SqlUnitOfWork
from tests.conftest import owner

TENANT_TABLES = (
    "subject_keys",
    "suppressions",
    "subject_blocks",
    "contact_changes",
    "rights_requests",
    "audit_heads",
    "audit_entries",
    "audit_checkpoints",
    "tenant_retention",
    "audit_queue",
    "audit_tree_heads",
    "webhooks",
)


async def test_insert_and_select_are_enough_to_append(app: App, tenant: Tenant) -> None:
    """As the runtime role, queueing and integrating work (row-level security lets the
    transaction's tenant in) and DELETE of entries is refused by privileges, not only by the
    trigger."""
    async with app.engine.connect() as conn:
        await conn.execute(SET_TENANT, {"tenant": str(tenant.tenant_id)})
        assert (await conn.execute(sa.text("SELECT current_user"))).scalar() == RUNTIME_ROLE
        audit = SqlAudit(conn, await driver_of(conn), tenant.tenant_id)
        audit.record(AuditRecord("test.appended", datetime.now(UTC), {"ok": True}))
        await audit.flush()
        await conn.commit()
    signer = CheckpointSigner(bytes(range(32)))
    done = await SqlSequencer(app.engine, signer, 0).integrate(
        tenant.tenant_id, 10, datetime.now(UTC)
    )
    assert done.entries == 2  # tenant.created, then this one
    async with app.engine.connect() as conn:
        await conn.execute(SET_TENANT, {"tenant": str(tenant.tenant_id)})
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            await conn.execute(sa.text("DELETE FROM audit_entries"))
        await conn.rollback()


async def test_the_runtime_role_cannot_call_the_purge_for_a_tenant_not_due(
    app: App, tenant: Tenant
) -> None:
    """consentd_purge_tenant_rows refuses a tenant whose contract has not ended, another tenant
    than the transaction's, and a table outside its list."""
    for tenant_arg, table, message in (
        (tenant.tenant_id, "subjects", "not due for purge"),
        (uuid4(), "subjects", "not this transaction's tenant"),
    ):
        async with app.engine.connect() as conn:
            await conn.execute(SET_TENANT, {"tenant": str(tenant.tenant_id)})
            with pytest.raises(sa.exc.DBAPIError, match=message):
                await conn.execute(
                    sa.select(sa.func.consentd_purge_tenant_rows(tenant_arg, table, 10))
                )
            await conn.rollback()


async def test_checkpoints_are_signed_inline_every_n_entries(app: App, tenant: Tenant) -> None:
    """With checkpoint_every=3, the sequencer signs entries 3 and 6 as it integrates them, and
    a tree head of the pass's size."""
    signer = CheckpointSigner(bytes(range(32)))
    for _ in range(5):
        async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
            uow.audit.record(AuditRecord("test.appended", datetime.now(UTC)))
            await uow.commit()
    await SqlSequencer(app.engine, signer, 3).integrate(tenant.tenant_id, 100, datetime.now(UTC))
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        checkpoints = await uow.audit.checkpoints()
        head = await uow.audit.tree_head(6)
    assert [c.seq for c in checkpoints] == [3, 6]
    assert all(signer.verifies(c) for c in checkpoints)
    assert head is not None
    assert signer.verifies(head)


async def test_every_new_tenant_table_forces_row_level_security(app: App) -> None:
    """ENABLE + FORCE row-level security and a `tenant_isolation` policy on each new table."""
    async with owner(app).connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.policyname "
                "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname "
                "WHERE c.relname = ANY(:names)"
            ),
            {"names": list(TENANT_TABLES)},
        )
        found: dict[str, tuple[bool, bool, set[str]]] = {}
        for name, enabled, forced, policy in rows:
            found.setdefault(name, (enabled, forced, set()))[2].add(policy)
    # The owner reads heads, entries and requests across tenants (0056: its watches).
    owner_reads = {"audit_heads", "audit_entries", "rights_requests", "webhooks"}
    assert found == {
        name: (
            True,
            True,
            {"tenant_isolation", "owner_read"} if name in owner_reads else {"tenant_isolation"},
        )
        for name in TENANT_TABLES
    }


async def test_row_level_security_hides_other_tenants_entries(app: App, tenant: Tenant) -> None:
    """As the runtime role, a transaction set to another tenant sees none of these rows."""
    async with app.engine.connect() as conn:
        await conn.execute(SET_TENANT, {"tenant": str(uuid4())})
        count = await conn.execute(
            sa.text("SELECT count(*) FROM audit_entries WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
        assert count.scalar_one() == 0
        await conn.rollback()
