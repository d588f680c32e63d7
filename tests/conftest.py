"""Shared fixtures: one throwaway PostgreSQL per test session, migrated once; one tenant per test
(every row is tenant-scoped, so tests never see each other's data); the real gRPC server on a
free port of 127.0.0.1."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import grpc
import pytest
from consent.v1 import catalog_pb2_grpc, consent_pb2_grpc, cookies_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.http import HttpServer
from consentd.app.admin import AdminUseCases
from consentd.app.auth import AUTHORIZATION
from consentd.app.idempotency import IdempotencyKey, Once, Replayed
from consentd.bootstrap import App, bootstrap, derived_signing_key
from consentd.config import Settings
from consentd.domain.tenancy import Scope, Tenant
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import migrate, provision_runtime_role
from consentd.store.uow import SqlUnitOfWork

TEST_SECRET = bytes(range(32))


class TestClock:
    """The injected clock: real time unless a test pins it with `at`."""

    __test__ = False

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or datetime.now(UTC)


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    base = Path(tempfile.mkdtemp(prefix="consentd-test-"))
    base.chmod(0o711)  # as root, PostgreSQL runs as `postgres` and must traverse this folder
    server = EmbeddedPostgres(base / "pg", ephemeral=True)
    server.start()
    try:
        server.create_database("consentd_test")
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
async def owner_url(postgres: EmbeddedPostgres) -> str:
    """The owner's (a superuser here) URL of the migrated test database."""
    url = postgres.url("consentd_test")
    await migrate(url)
    return url


@pytest.fixture(scope="session")
async def database_url(owner_url: str) -> str:
    """The runtime role's URL: row-level security applies to everything the service does."""
    return await provision_runtime_role(owner_url, "runtime-role-test-password")


@pytest.fixture(scope="session")
def clock() -> TestClock:
    return TestClock()


@pytest.fixture(autouse=True)
def _unpin_clock(clock: TestClock) -> Iterator[None]:
    yield
    clock.pinned = None


@pytest.fixture(scope="session")
async def app(database_url: str, owner_url: str, clock: TestClock) -> AsyncIterator[App]:
    application = bootstrap(Settings(), database_url, TEST_SECRET, clock, owner_url=owner_url)
    yield application
    await application.aclose()


@pytest.fixture(scope="session")
def admin(app: App) -> AdminUseCases:
    assert app.admin is not None
    return app.admin


@pytest.fixture
async def tenant(admin: AdminUseCases) -> Tenant:
    return await admin.create_tenant(f"t-{uuid4().hex[:12]}")


@pytest.fixture
async def admin_key(admin: AdminUseCases, tenant: Tenant) -> str:
    """An API key of the test tenant with the admin scope (every RPC allowed)."""
    key, _ = await admin.issue_key(tenant.slug, [Scope.ADMIN.value], name="tests")
    return key.token


@pytest.fixture(scope="session")
async def grpc_port(app: App) -> AsyncIterator[int]:
    server = app.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    yield port
    await server.stop(grace=1)


@pytest.fixture(scope="session")
async def http_port(app: App, admin: AdminUseCases) -> AsyncIterator[int]:
    """The browser port (Connect, gRPC-Web, the demo page) of the same app, on a free port; its
    demo page carries a cookies:write key of a tenant of its own, as CONSENTD_DEMO does."""
    demo = await admin.create_tenant(f"demo-{uuid4().hex[:12]}")
    key, _ = await admin.issue_key(demo.slug, [Scope.COOKIES.value], name="demo page")
    server = HttpServer(app.browser_app(demo_key=key.token), grace=1)
    port = await server.start("127.0.0.1:0")
    yield port
    await server.stop()


@pytest.fixture(scope="session")
async def channel(grpc_port: int) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as opened:
        yield opened


@dataclass
class Stubs:
    consent: consent_pb2_grpc.ConsentServiceStub
    catalog: catalog_pb2_grpc.CatalogServiceStub
    metadata: tuple[tuple[str, str], ...]
    cookies: cookies_pb2_grpc.CookieServiceStub


def owner(app: App) -> AsyncEngine:
    """The superuser's engine of a bootstrapped app: it sees every tenant's rows."""
    assert app.owner_engine is not None
    return app.owner_engine


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return ((AUTHORIZATION, f"Bearer {token}"),)


def command_env(database_url: str, owner_url: str) -> dict[str, str]:
    """The environment of a `consentd` command on the test database, as an operator runs one."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
        "CONSENTD_MIGRATE_ON_START": "false",
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(derived_signing_key(TEST_SECRET)).decode(),
    }


@pytest.fixture
def stubs(channel: grpc.aio.Channel, admin_key: str) -> Stubs:
    """Generated stubs and the metadata carrying this test tenant's admin key."""
    return Stubs(
        consent_pb2_grpc.ConsentServiceStub(channel),
        catalog_pb2_grpc.CatalogServiceStub(channel),
        bearer(admin_key),
        cookies_pb2_grpc.CookieServiceStub(channel),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tier markers follow the folder, so `-m 'not e2e'` and friends work."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in ("integration", "e2e"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


os.environ.setdefault("CONSENTD_LOG_FORMAT", "json")


async def keyed_write(
    engine: AsyncEngine, tenant_id: UUID, key: IdempotencyKey, answer: bytes
) -> bytes:
    """A write under `key` whose answer is `answer`, through a unit of work as a use case opens
    one: the stored answer when the key was done already."""
    try:
        async with SqlUnitOfWork(engine, tenant_id, once=Once(key, bytes)) as uow:
            await uow.commit(answer)
    except Replayed as replay:
        return replay.response
    return answer
