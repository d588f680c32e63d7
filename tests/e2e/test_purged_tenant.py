"""A tenant marked purged (its contract ended a month ago; the retention job marks it, then
deletes its rows in batches) is refused to its callers at once, checks included: they said
ALLOW from the rows a purge in progress had not deleted yet, and NOT_FOUND for the purpose once
they were gone; a key made for it afterwards worked (probes P and R)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import types_pb2
from grpc_status import rpc_status

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.breach import Window
from consentd.domain.errors import FailedPrecondition
from consentd.domain.retention import TenantRetention
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, bearer, command_env, owner
from tests.e2e.helpers import ALLOW, by_email, check, grant, put_purpose, record, target
from tests.e2e.security_helpers import fails, issue

NEWSLETTER = target("newsletter")


async def _mark_purged(app: App, tenant: Tenant) -> None:
    """What the retention job does first, before it deletes anything."""
    ended = TenantRetention(contract_ended_at=datetime.now(UTC) - timedelta(days=40))
    await app.retention_settings.put(tenant, ended)
    async with owner(app).begin() as conn:
        await conn.execute(
            sa.text("SELECT set_config('consentd.tenant_id', :t, true)"),
            {"t": str(tenant.tenant_id)},
        )
        await conn.execute(
            sa.text("SELECT consentd_mark_tenant_purged(:t, now())"), {"t": tenant.tenant_id}
        )


async def test_a_purged_tenants_callers_are_refused_checks_included(
    app: App, stubs: Stubs, admin: AdminUseCases, tenant: Tenant
) -> None:
    await put_purpose(stubs, "newsletter")
    identity = types_pb2.SubjectIdentity(email="purged-tenant@example.fr")
    await record(stubs, identity, grant(NEWSLETTER))
    ref = by_email("purged-tenant@example.fr")
    assert (await check(stubs, ref, NEWSLETTER)).decision == ALLOW
    unused = replace(stubs, metadata=bearer(await issue(admin, tenant, Scope.CHECK.value)))
    await _mark_purged(app, tenant)
    error = await fails(check(unused, ref, NEWSLETTER))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "purged" in str(error.details())
    status = rpc_status.from_call(error)
    assert status is not None
    assert "TENANT_PURGED" in str(status.details[0].value)
    with pytest.raises(FailedPrecondition, match="purged"):
        await admin.issue_key(tenant.slug, [Scope.ADMIN.value])
    assert [t.purged for t in await admin.tenants() if t.slug == tenant.slug] == [True]


async def test_breach_scoping_lists_a_purged_tenant_and_scopes_the_others(
    app: App, stubs: Stubs, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Probe GD: once one tenant was purged, `consentd breach scope` (all tenants) failed
    with "the database refused" and scoped none, 48 hours from a notice. The purged one is
    listed as such, the others counted."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email="scoped@example.fr"), grant(NEWSLETTER))
    gone = await admin.create_tenant(f"gone-{uuid4().hex[:12]}")
    await _mark_purged(app, gone)
    every = {t.slug: t for t in await admin.tenants()}
    window = Window(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    scopes = await app.audit.scope_breach([every[gone.slug], every[tenant.slug]], window)
    assert [(s.tenant_slug, s.purged) for s in scopes] == [(gone.slug, True), (tenant.slug, False)]
    assert scopes[0].subjects_touched == 0
    assert scopes[1].subjects_touched >= 1


async def test_breach_commands_name_a_purged_tenant_as_such(
    app: App, admin: AdminUseCases, database_url: str, owner_url: str
) -> None:
    """Probe GE: `consentd breach subjects --tenant <purged>` wrote a CSV header, then failed
    with "the database refused ... check DATABASE_URL". It says the tenant was purged, and
    writes nothing; `breach scope` lists it purged."""
    gone = await admin.create_tenant(f"gone-{uuid4().hex[:12]}")
    await _mark_purged(app, gone)
    env = command_env(database_url, owner_url)
    now = datetime.now(UTC)
    window = ["--since", (now - timedelta(hours=1)).isoformat()]
    window += ["--until", (now + timedelta(hours=1)).isoformat(), "--tenant", gone.slug]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "consentd", "breach", *args, *window]
        return subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    listed = await asyncio.to_thread(run, "subjects")
    assert (listed.returncode, listed.stdout) == (1, "")
    assert f"tenant {gone.tenant_id} was purged at " in listed.stderr
    assert listed.stderr.rstrip().endswith("its contract ended, nothing more is kept")
    assert "DATABASE_URL" not in listed.stderr
    scoped = await asyncio.to_thread(run, "scope")
    assert scoped.returncode == 0, scoped.stderr
    assert json.loads(scoped.stdout)["tenants"] == [
        {"tenant_slug": gone.slug, "subjects_touched": 0, "subjects_held": 0,
         "categories": {}, "purged": True}
    ]  # fmt: skip
