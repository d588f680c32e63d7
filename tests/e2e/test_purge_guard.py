"""A purged tenant writes nothing more, with no cache window: the retention job marks the tenant
in a transaction every unit of work waits for and then checks (migration 0011), so a credential
still cached gets FAILED_PRECONDITION, never a write; a rerun purges anything left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import catalog_pb2, consent_pb2

from consentd.api.calls import failure_of
from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.model import LawfulBasis, Purpose
from consentd.domain.tenancy import Principal, Scope, Tenant
from consentd.store.tables import purposes
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import Stubs, bearer, owner
from tests.e2e.helpers import CONSENT, by_email
from tests.integration.helpers import ended_long_ago


async def _purposes(app: App, tenant: Tenant) -> int:
    async with owner(app).connect() as conn:
        query = sa.select(sa.func.count()).where(purposes.c.tenant_id == tenant.tenant_id)
        return int((await conn.execute(query)).scalar_one())


async def test_a_cached_key_of_a_purged_tenant_writes_nothing_and_a_rerun_purges_leftovers(
    app: App, admin: AdminUseCases, stubs: Stubs
) -> None:
    """The tenant's key is cached (it just wrote); the job purges the tenant; the same key's
    next write is FAILED_PRECONDITION in our words and nothing is stored. A row an older
    server slipped in after the mark (written here without the guard) is purged by a rerun."""
    tenant = await admin.create_tenant("purged-" + datetime.now(UTC).strftime("%H%M%S%f"))
    key, _ = await admin.issue_key(tenant.slug, [Scope.ADMIN.value], name="soon purged")
    metadata = bearer(key.token)
    purpose = catalog_pb2.Purpose(purpose_id="news", lawful_basis=CONSENT)
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=metadata
    )
    ended = datetime.now(UTC) - timedelta(days=92)
    await ended_long_ago(app, tenant, ended)
    assert app.retention is not None
    first = await app.retention.run()
    assert [t.status for t in first.tenants if t.tenant == tenant.slug] == ["purged"]

    late = catalog_pb2.Purpose(purpose_id="late", lawful_basis=CONSENT)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.catalog.PutPurpose(
            catalog_pb2.PutPurposeRequest(purpose=late), metadata=metadata
        )
    # FAILED_PRECONDITION while the key is cached (the guard), UNAUTHENTICATED after (the key
    # went with the tenant): never a write.
    refusals = (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAUTHENTICATED)
    assert refused.value.code() in refusals
    # The guard itself, whatever the cache: the use case's unit of work is refused.
    caller = Principal(tenant=tenant, caller="key:cached", scopes=frozenset({Scope.ADMIN}))
    with pytest.raises(Exception) as guarded:  # noqa: PT011 - the store's error, mapped below
        await app.catalog.put_purpose(caller, Purpose("late", LawfulBasis.CONSENT))
    failure = failure_of(guarded.value)
    assert failure is not None
    assert failure.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "purged" in failure.message
    with pytest.raises(grpc.aio.AioRpcError) as also:
        await stubs.consent.GetSubjectConsents(
            consent_pb2.GetSubjectConsentsRequest(subject=by_email("a@example.fr")),
            metadata=metadata,
        )
    assert also.value.code() in (
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.UNAUTHENTICATED,
    )
    assert await _purposes(app, tenant) == 0

    async with SqlUnitOfWork(app.engine, tenant.tenant_id, guarded=False) as uow:
        leftover = Purpose("leftover", LawfulBasis.CONSENT)
        await uow.catalog.put_purpose(leftover, datetime.now(UTC))
        await uow.commit()
    assert await _purposes(app, tenant) == 1
    rerun = await app.retention.run()
    assert [t.status for t in rerun.tenants if t.tenant == tenant.slug] == ["purged"]
    assert await _purposes(app, tenant) == 0
    again = await app.retention.run()
    assert [t.status for t in again.tenants if t.tenant == tenant.slug] == ["already_purged"]
