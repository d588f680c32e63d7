"""The one composition root: settings in, a wired application out. No work at import time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.audit_servicer import AuditServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.retention_servicer import RetentionServicer
from consentd.api.rights_servicer import RightsServicer
from consentd.api.server import (
    Registration,
    Server,
    audit_service,
    catalog_service,
    consent_service,
    retention_service,
    rights_service,
)
from consentd.app.audit import AuditUseCases
from consentd.app.auth import TenantHeaderAuthenticator
from consentd.app.catalog import CatalogUseCases
from consentd.app.consents import ConsentUseCases
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Clock, Notifier
from consentd.app.requests import RightsRequestUseCases
from consentd.app.retention import RetentionJob, RetentionSettingsUseCases
from consentd.app.rights import RightsUseCases
from consentd.config import Settings
from consentd.domain.audit import CheckpointSigner
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.sealing import Keyring
from consentd.notifiers import LogNotifier
from consentd.store.database import create_engine
from consentd.store.locks import AdvisoryLock
from consentd.store.tenants import SqlTenants
from consentd.store.uow import SqlUnitOfWork


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
    rights: RightsUseCases
    requests: RightsRequestUseCases
    audit: AuditUseCases
    retention: RetentionJob
    retention_settings: RetentionSettingsUseCases
    registrations: list[Registration] = field(default_factory=list)
    interceptors: list[ServiceInterceptor] = field(default_factory=list)

    def server(self) -> Server:
        return Server(self.registrations, list(self.interceptors))

    async def aclose(self) -> None:
        await self.engine.dispose()


def derived_signing_key(secret_key: bytes) -> bytes:
    """An Ed25519 seed derived from the service secret, for callers that give no signing key
    (tests, tools). Deployments set CONSENTD_AUDIT_SIGNING_KEY (runtime.py insists)."""
    return hmac.new(secret_key, b"consentd audit signing key", hashlib.sha256).digest()


def bootstrap(
    settings: Settings,
    database_url: str,
    secret_key: bytes,
    clock: Clock = utc_now,
    *,
    audit_key: bytes | None = None,
    notifier: Notifier | None = None,
) -> App:
    """Wire engine, unit of work, use cases, servicers and interceptors for `settings`."""
    engine = create_engine(database_url, settings.db_pool_size)
    signer = CheckpointSigner(audit_key or derived_signing_key(secret_key))
    every = settings.audit_checkpoint_every

    def unit_of_work(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, tenant_id, signer, every)

    def snapshot(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, tenant_id, signer, every, snapshot=True)

    hasher = IdentifierHasher(secret_key)
    keys = SubjectKeys(Keyring(secret_key))
    tenants = SqlTenants(engine)
    consents = ConsentUseCases(unit_of_work, hasher, clock, keys)
    catalog = CatalogUseCases(unit_of_work, clock)
    rights = RightsUseCases(unit_of_work, hasher, keys, clock)
    requests = RightsRequestUseCases(unit_of_work, hasher, keys, notifier or LogNotifier(), clock)
    audit = AuditUseCases(unit_of_work, snapshot, signer, clock)
    retention = RetentionJob(unit_of_work, tenants, signer, clock, AdvisoryLock(engine))
    retention_settings = RetentionSettingsUseCases(unit_of_work, clock)
    authenticator = TenantHeaderAuthenticator(tenants, settings.default_tenant)
    region = settings.phone_region
    return App(
        settings=settings,
        engine=engine,
        tenants=tenants,
        consents=consents,
        catalog=catalog,
        rights=rights,
        requests=requests,
        audit=audit,
        retention=retention,
        retention_settings=retention_settings,
        registrations=[
            consent_service(ConsentServicer(consents, region)),
            catalog_service(CatalogServicer(catalog)),
            rights_service(RightsServicer(rights, requests, region)),
            audit_service(AuditServicer(audit, tenants)),
            retention_service(RetentionServicer(retention_settings)),
        ],
        interceptors=[ServiceInterceptor(authenticator)],
    )
