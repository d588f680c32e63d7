"""The watches that read across tenants as the owner (the clock check, the rights-request
deadline watch) see every tenant's rows when the owner is no superuser and has no BYPASSRLS,
as docs/operations.md sets up an external database: under FORCE row-level security they saw
none, `clock_behind_database` could never fire and no request was ever overdue (probe IA)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy.engine import make_url

from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.rights import RequestKind
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import clock_facts, migrate
from consentd.store.request_deadlines import open_deadlines
from tests.conftest import TEST_SECRET, TestClock
from tests.integration.helpers import (
    NEWSLETTER,
    as_superuser,
    catalogue,
    email,
    grant,
    principal,
)


@pytest.fixture
async def plain_owner(
    postgres: EmbeddedPostgres, database_url: str, clock: TestClock
) -> AsyncIterator[tuple[App, str]]:
    """An app on a database of its own whose owner is a plain role (CREATEROLE, no
    superuser, no BYPASSRLS), and that owner's URL."""
    tag = uuid4().hex[:8]
    role, name = f"own_{tag}", f"ow_{tag}"
    await as_superuser(
        postgres,
        f"CREATE ROLE {role} LOGIN PASSWORD 'owner-pw' NOSUPERUSER CREATEROLE",
        f"CREATE DATABASE {name} OWNER {role}",
    )
    owner_url = f"postgresql+asyncpg://{role}:owner-pw@127.0.0.1:{postgres.port}/{name}"
    await migrate(owner_url)
    runtime = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    app = bootstrap(Settings(), runtime, TEST_SECRET, clock, owner_url=owner_url)
    try:
        yield app, owner_url
    finally:
        await app.aclose()
        await as_superuser(postgres, f"DROP DATABASE {name} WITH (FORCE)")


async def test_the_clock_and_deadline_watches_see_every_tenant(
    plain_owner: tuple[App, str],
) -> None:
    app, owner_url = plain_owner
    assert app.admin is not None
    assert app.owner_engine is not None
    tenant = await app.admin.create_tenant(f"w-{uuid4().hex[:8]}")
    await catalogue(app, tenant)
    await grant(app, tenant, email("watched@example.fr"), targets=(NEWSLETTER,))
    submitted = await app.requests.submit(
        principal(tenant), RequestKind.ACCESS, email("watched@example.fr"), None
    )
    await app.sequencer.drain(tenant.tenant_id)

    newest, now = await clock_facts(owner_url)
    assert newest is not None  # None: the clock alarm could never fire
    assert newest > now - timedelta(minutes=5)  # ours at least (tests may date facts ahead)

    due = submitted.request.due_at
    assert due is not None
    (late,) = await open_deadlines(app.owner_engine, due + timedelta(days=1), timedelta(days=3))
    assert (late.tenant, late.overdue, late.due_soon) == (tenant.slug, 1, 0)
