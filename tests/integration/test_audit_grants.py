"""The schema lets the runtime role run on least privilege: INSERT and SELECT on audit entries
are enough to append, retention prunes through the SECURITY DEFINER function, and every new
tenant table has forced row-level security."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.bootstrap import App
from consentd.domain.audit import AuditRecord, CheckpointSigner
from consentd.domain.tenancy import Tenant
from consentd.store.audit import SqlAudit
from consentd.store.uow import SET_TENANT, SqlUnitOfWork

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
)
ROLE = "consentd_audit_writer"
GRANTS = (
    f"GRANT SELECT, INSERT ON audit_entries, audit_checkpoints TO {ROLE}",
    f"GRANT SELECT, INSERT, UPDATE ON audit_heads TO {ROLE}",
)


async def _least_privilege(conn: AsyncConnection) -> None:
    exists = await conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE})
    if exists.first() is None:
        await conn.execute(sa.text(f"CREATE ROLE {ROLE} NOLOGIN"))
    for grant in GRANTS:
        await conn.execute(sa.text(grant))


async def test_insert_and_select_are_enough_to_append(app: App, tenant: Tenant) -> None:
    """As a role with only INSERT+SELECT on audit entries, appending works (row-level security
    lets the transaction's tenant in) and DELETE is refused by privileges, not only the trigger."""
    async with app.engine.begin() as conn:
        await _least_privilege(conn)
    async with app.engine.connect() as conn:
        await conn.execute(SET_TENANT, {"tenant": str(tenant.tenant_id)})
        await conn.execute(sa.text(f"SET LOCAL ROLE {ROLE}"))
        audit = SqlAudit(conn, tenant.tenant_id)
        audit.record(AuditRecord("test.appended", datetime.now(UTC), {"ok": True}))
        entries = await audit.flush()
        assert entries[0].seq == 2  # after tenant.created
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            await conn.execute(sa.text("DELETE FROM audit_entries"))
        await conn.rollback()


async def test_checkpoints_are_signed_inline_every_n_entries(app: App, tenant: Tenant) -> None:
    """With checkpoint_every=3, entries 3 and 6 get signed checkpoints as they are appended."""
    signer = CheckpointSigner(bytes(range(32)))
    for _ in range(5):
        async with SqlUnitOfWork(app.engine, tenant.tenant_id, signer, 3) as uow:
            uow.audit.record(AuditRecord("test.appended", datetime.now(UTC)))
            await uow.commit()
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        checkpoints = await uow.audit.checkpoints()
    assert [c.seq for c in checkpoints] == [3, 6]
    assert all(signer.verifies(c) for c in checkpoints)


async def test_every_new_tenant_table_forces_row_level_security(app: App) -> None:
    """ENABLE + FORCE row-level security and a `tenant_isolation` policy on each new table."""
    async with app.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, p.policyname "
                "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname "
                "WHERE c.relname = ANY(:names)"
            ),
            {"names": list(TENANT_TABLES)},
        )
        found = {name: (enabled, forced, policy) for name, enabled, forced, policy in rows}
    assert found == dict.fromkeys(TENANT_TABLES, (True, True, "tenant_isolation"))


async def test_row_level_security_hides_other_tenants_entries(app: App, tenant: Tenant) -> None:
    """Under a non-superuser role, a transaction set to another tenant sees none of these rows."""
    async with app.engine.begin() as conn:
        await _least_privilege(conn)
    async with app.engine.connect() as conn:
        await conn.execute(SET_TENANT, {"tenant": str(uuid4())})
        await conn.execute(sa.text(f"SET LOCAL ROLE {ROLE}"))
        count = await conn.execute(
            sa.text("SELECT count(*) FROM audit_entries WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
        assert count.scalar_one() == 0
        await conn.rollback()
