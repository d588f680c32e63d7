"""The one composition root: settings in, a wired application out. No work at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.server import (
    Registration,
    Server,
    campaign_service,
    catalog_service,
    consent_service,
)
from consentd.app.auth import TenantHeaderAuthenticator
from consentd.app.campaign import CampaignUseCases
from consentd.app.catalog import CatalogUseCases
from consentd.app.changes import ChangeHub
from consentd.app.consents import ConsentUseCases
from consentd.app.ports import Clock
from consentd.config import Settings
from consentd.domain.identifiers import IdentifierHasher
from consentd.store.database import create_engine
from consentd.store.reads import ReadPool, ReadUnitOfWork
from consentd.store.tenants import SqlTenants
from consentd.store.uow import SqlUnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything one process serves with. Close it to release the database pool."""

    settings: Settings
    engine: AsyncEngine
    read_pool: ReadPool
    tenants: SqlTenants
    consents: ConsentUseCases
    catalog: CatalogUseCases
    campaign: CampaignUseCases
    registrations: list[Registration] = field(default_factory=list)
    interceptors: list[ServiceInterceptor] = field(default_factory=list)

    def server(self) -> Server:
        return Server(self.registrations, list(self.interceptors), self.settings.reuse_port)

    async def aclose(self) -> None:
        await self.read_pool.close()
        await self.engine.dispose()


def bootstrap(
    settings: Settings, database_url: str, secret_key: bytes, clock: Clock = utc_now
) -> App:
    """Wire engine, unit of work, use cases, servicers and interceptors for `settings`."""
    engine = create_engine(database_url, settings.db_pool_size)

    hub = ChangeHub()

    def unit_of_work(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, tenant_id, hub)

    read_pool = ReadPool(database_url, settings.db_pool_size)

    def read_unit_of_work(tenant_id: UUID) -> ReadUnitOfWork:
        return ReadUnitOfWork(read_pool, tenant_id)

    tenants = SqlTenants(engine)
    hasher = IdentifierHasher(secret_key)
    consents = ConsentUseCases(unit_of_work, hasher, clock, read_unit_of_work)
    campaign = CampaignUseCases(read_unit_of_work, hasher, clock, hub)
    catalog = CatalogUseCases(unit_of_work, clock)
    authenticator = TenantHeaderAuthenticator(tenants, settings.default_tenant)
    return App(
        settings=settings,
        engine=engine,
        read_pool=read_pool,
        tenants=tenants,
        consents=consents,
        catalog=catalog,
        campaign=campaign,
        registrations=[
            consent_service(ConsentServicer(consents, settings.phone_region)),
            catalog_service(CatalogServicer(catalog)),
            campaign_service(CampaignServicer(campaign, settings.phone_region)),
        ],
        interceptors=[ServiceInterceptor(authenticator)],
    )
