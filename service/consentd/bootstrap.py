"""The one composition root: settings in, a wired application out. No work at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.gate import Gate
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.methods import methods
from consentd.api.ratelimit import TenantRateLimiter
from consentd.api.server import Registration, Server, catalog_service, consent_service
from consentd.app.admin import AdminUseCases
from consentd.app.auth import CredentialAuthenticator
from consentd.app.catalog import CatalogUseCases
from consentd.app.consents import ConsentUseCases
from consentd.app.ports import Clock
from consentd.config import Settings
from consentd.domain.identifiers import IdentifierHasher
from consentd.store.admin import SqlAdmin
from consentd.store.callers import SqlCallerDirectory
from consentd.store.database import create_engine
from consentd.store.idempotency import SqlIdempotency
from consentd.store.uow import SqlUnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything one process serves with. Close it to release the database pools."""

    settings: Settings
    engine: AsyncEngine
    consents: ConsentUseCases
    catalog: CatalogUseCases
    admin: AdminUseCases | None = None
    owner_engine: AsyncEngine | None = None
    registrations: list[Registration] = field(default_factory=list)
    interceptors: list[ServiceInterceptor] = field(default_factory=list)

    def server(self) -> Server:
        return Server(self.registrations, list(self.interceptors))

    async def aclose(self) -> None:
        await self.engine.dispose()
        if self.owner_engine is not None:
            await self.owner_engine.dispose()


def bootstrap(
    settings: Settings,
    database_url: str,
    secret_key: bytes,
    clock: Clock = utc_now,
    owner_url: str | None = None,
) -> App:
    """Wire engines, units of work, use cases, servicers and interceptors.

    `database_url` is the runtime role's (row-level security applies); `owner_url`, when given,
    is the owner's, used only for tenant and credential administration."""
    engine = create_engine(database_url, settings.db_pool_size)

    def unit_of_work(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, tenant_id)

    consents = ConsentUseCases(unit_of_work, IdentifierHasher(secret_key), clock)
    catalog = CatalogUseCases(unit_of_work, clock)
    gate = Gate(
        CredentialAuthenticator(SqlCallerDirectory(engine), clock),
        TenantRateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        SqlIdempotency(engine, clock),
        methods(),
    )
    owner_engine = create_engine(owner_url, 2) if owner_url else None
    return App(
        settings=settings,
        engine=engine,
        consents=consents,
        catalog=catalog,
        admin=AdminUseCases(SqlAdmin(owner_engine), clock) if owner_engine else None,
        owner_engine=owner_engine,
        registrations=[
            consent_service(ConsentServicer(consents, settings.phone_region)),
            catalog_service(CatalogServicer(catalog)),
        ],
        interceptors=[ServiceInterceptor(gate)],
    )
