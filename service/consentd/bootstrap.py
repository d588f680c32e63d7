"""The one composition root: settings in, a wired application out. No work at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.browser import BrowserGate, connect_apps
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.http import BrowserApp
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.server import (
    Registration,
    Server,
    catalog_service,
    consent_service,
    cookie_service,
)
from consentd.app.auth import Authenticator, TenantHeaderAuthenticator
from consentd.app.catalog import CatalogUseCases
from consentd.app.consents import ConsentUseCases
from consentd.app.cookies import CookieUseCases
from consentd.app.ports import Clock
from consentd.app.retention import RetentionUseCases
from consentd.config import ConfigError, Settings
from consentd.domain.identifiers import IdentifierHasher
from consentd.store.database import create_engine
from consentd.store.retention import advisory_lock
from consentd.store.tenants import SqlTenants
from consentd.store.uow import SqlUnitOfWork

# The demo banner page of the repository (web/demo; `make setup` bundles it into dist/).
DEMO_DIR = Path(__file__).resolve().parents[2] / "web" / "demo"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything one process serves with. Close it to release the database pool."""

    settings: Settings
    engine: AsyncEngine
    tenants: SqlTenants
    consents: ConsentUseCases
    catalog: CatalogUseCases
    cookies: CookieUseCases
    retention: RetentionUseCases
    authenticator: Authenticator
    consent_servicer: ConsentServicer
    cookie_servicer: CookieServicer
    registrations: list[Registration] = field(default_factory=list)
    interceptors: list[ServiceInterceptor] = field(default_factory=list)

    def server(self) -> Server:
        return Server(self.registrations, list(self.interceptors))

    def browser_app(self, *, demo: bool | None = None) -> BrowserApp:
        """The browser port's ASGI app: the same servicers over Connect and gRPC-Web, with the
        demo page when CONSENTD_DEMO is set (or `demo`). Raises ConfigError when the demo is
        asked for but not built."""
        demo_dir = DEMO_DIR if (self.settings.demo if demo is None else demo) else None
        if demo_dir is not None and not (demo_dir / "dist" / "banner.js").exists():
            raise ConfigError(
                f"CONSENTD_DEMO is set but {demo_dir}/dist/banner.js is missing: run make setup"
            )
        gate = BrowserGate(self.authenticator, self.cookies)
        services = connect_apps(gate, self.cookie_servicer, self.consent_servicer)
        return BrowserApp(services, self.authenticator, self.cookies, demo_dir)

    async def aclose(self) -> None:
        await self.engine.dispose()


def bootstrap(
    settings: Settings, database_url: str, secret_key: bytes, clock: Clock = utc_now
) -> App:
    """Wire engine, unit of work, use cases, servicers and interceptors for `settings`."""
    engine = create_engine(database_url, settings.db_pool_size)

    def unit_of_work(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, tenant_id)

    tenants = SqlTenants(engine)
    hasher = IdentifierHasher(secret_key)
    consents = ConsentUseCases(unit_of_work, hasher, clock)
    catalog = CatalogUseCases(unit_of_work, clock)
    cookies = CookieUseCases(unit_of_work, hasher, clock)
    retention = RetentionUseCases(
        unit_of_work, tenants, advisory_lock(engine), clock, settings.purge_batch_size
    )
    authenticator = TenantHeaderAuthenticator(tenants, settings.default_tenant)
    consent_servicer = ConsentServicer(consents, settings.phone_region)
    cookie_servicer = CookieServicer(cookies, settings.phone_region)
    return App(
        settings=settings,
        engine=engine,
        tenants=tenants,
        consents=consents,
        catalog=catalog,
        cookies=cookies,
        retention=retention,
        authenticator=authenticator,
        consent_servicer=consent_servicer,
        cookie_servicer=cookie_servicer,
        registrations=[
            consent_service(consent_servicer),
            catalog_service(CatalogServicer(catalog)),
            cookie_service(cookie_servicer),
        ],
        interceptors=[ServiceInterceptor(authenticator)],
    )
