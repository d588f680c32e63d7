"""The one composition root: settings in, a wired application out. No work at import time."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.audit_servicer import AuditServicer
from consentd.api.browser import connect_apps
from consentd.api.browser_gate import BrowserGate
from consentd.api.browser_portal import PortalServicers, portal_apps
from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.gate import Gate
from consentd.api.http import BrowserApp
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.methods import methods
from consentd.api.pages import DemoPage
from consentd.api.ratelimit import TenantRateLimiter
from consentd.api.retention_servicer import RetentionServicer
from consentd.api.rights_servicer import RightsServicer
from consentd.api.server import (
    Registration,
    Server,
    audit_service,
    campaign_service,
    catalog_service,
    consent_service,
    cookie_service,
    retention_service,
    rights_service,
)
from consentd.app.admin import AdminUseCases
from consentd.app.audit import AuditUseCases
from consentd.app.auth import CredentialAuthenticator
from consentd.app.campaign import CampaignUseCases
from consentd.app.catalog import CatalogUseCases
from consentd.app.changes import ChangeHub
from consentd.app.confirmations import DoubleOptIn
from consentd.app.consents import ConsentUseCases
from consentd.app.cookie_purge import CookiePurge
from consentd.app.cookies import CookieExport, CookieUseCases
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Clock, Notifier
from consentd.app.requests import RightsRequestUseCases
from consentd.app.retention import RetentionJob, RetentionSettingsUseCases
from consentd.app.rights import RightsUseCases
from consentd.app.writers import TenantWriters
from consentd.config import ConfigError, Settings
from consentd.domain.audit import CheckpointSigner
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.retention import Category
from consentd.domain.sealing import Keyring
from consentd.jobs.sequencer import Sequencer
from consentd.notifiers import LogNotifier, SmtpNotifier, SmtpRelay
from consentd.store.admin import SqlAdmin
from consentd.store.callers import SqlCallerDirectory
from consentd.store.database import DatabaseProbe, create_engine, pool_usage
from consentd.store.idempotency import SqlIdempotency
from consentd.store.locks import AdvisoryLock
from consentd.store.reads import ReadPool, ReadUnitOfWork
from consentd.store.sequencer import SqlSequencer
from consentd.store.uow import SqlUnitOfWork
from consentd.telemetry import Telemetry

log = structlog.get_logger("consentd")
# How long closing a pool may wait for PostgreSQL at exit.
CLOSE_SECONDS = 1.0
# The demo banner page of the repository (web/demo; `make setup` bundles it into dist/).
DEMO_DIR = Path(__file__).resolve().parents[2] / "web" / "demo"
# The preference centre (web/preferences; CONSENTD_PREFERENCES), bundled the same way.
PREFERENCES_DIR = DEMO_DIR.with_name("preferences")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """Everything one process serves with. Close it to release the database pools."""

    settings: Settings
    database_url: str
    engine: AsyncEngine
    consents: ConsentUseCases
    catalog: CatalogUseCases
    campaign: CampaignUseCases
    read_pool: ReadPool
    bulk_pool: ReadPool
    cookies: CookieUseCases
    rights: RightsUseCases
    requests: RightsRequestUseCases
    audit: AuditUseCases
    retention_settings: RetentionSettingsUseCases
    gate: Gate
    consent_servicer: ConsentServicer
    cookie_servicer: CookieServicer
    telemetry: Telemetry
    sequencer: Sequencer
    # With the owner's URL only: administration, and the jobs that span tenants (they list
    # them as the owner): the retention job and its cookie category alone (`consentd purge`).
    admin: AdminUseCases | None = None
    retention: RetentionJob | None = None
    cookie_purge: CookiePurge | None = None
    owner_engine: AsyncEngine | None = None
    registrations: list[Registration] = field(default_factory=list)
    interceptors: list[ServiceInterceptor] = field(default_factory=list)
    # The person's own writes and the catalogue on the browser port (the preference centre).
    portal: PortalServicers | None = None

    def server(self) -> Server:
        """The gRPC server; its health follows the database (a probe of its own)."""
        return Server(
            self.registrations,
            list(self.interceptors),
            self.settings.reuse_port,
            probe=DatabaseProbe(self.database_url, self.settings.db_timeout_seconds),
        )

    def browser_app(self, *, demo_key: str | None = None) -> BrowserApp:
        """The browser port's ASGI app: the same servicers behind the same Gate, over Connect
        and gRPC-Web; with `demo_key` (a cookies:write key; CONSENTD_DEMO only) it also serves
        the demo page, that key written into it. Raises ConfigError when the demo is not built."""
        demo = None
        if demo_key is not None:
            if not (DEMO_DIR / "dist" / "banner.js").exists():
                raise ConfigError(
                    f"CONSENTD_DEMO is set but {DEMO_DIR}/dist/banner.js is missing: make setup"
                )
            demo = DemoPage(DEMO_DIR, demo_key)
        gate = BrowserGate(self.gate, self.cookies, self.telemetry)
        services = connect_apps(gate, self.cookie_servicer, self.consent_servicer)
        if self.portal is not None:
            services = portal_apps(gate, services, self.portal)
        preferences = None
        if self.settings.preferences:
            if not (PREFERENCES_DIR / "dist" / "preferences.js").exists():
                raise ConfigError(
                    f"CONSENTD_PREFERENCES is set but {PREFERENCES_DIR}/dist/preferences.js is "
                    "missing: make setup"
                )
            preferences = PREFERENCES_DIR
        return BrowserApp(
            services, self.cookies, demo, preferences, authenticate=self.gate.authenticate
        )

    async def aclose(self, within: float = CLOSE_SECONDS) -> None:
        """Release the pools, waiting `within` seconds at most for each (PostgreSQL may not
        answer: the process must exit all the same; the connections are then dropped)."""
        closing = [
            self.sequencer.aclose(),
            self.read_pool.close(),
            self.bulk_pool.close(),
            self.engine.dispose(),
        ]
        if self.owner_engine is not None:
            closing.append(self.owner_engine.dispose())
        for close in closing:
            try:
                async with asyncio.timeout(within):
                    await close
            except TimeoutError:
                log.warning("pool_close_timed_out", seconds=within)
        self.read_pool.terminate()
        self.bulk_pool.terminate()
        self.telemetry.close()


def derived_signing_key(secret_key: bytes) -> bytes:
    """An Ed25519 seed derived from the service secret, for callers that give no signing key
    (tests, tools). Deployments set CONSENTD_AUDIT_SIGNING_KEY (runtime.py insists)."""
    return hmac.new(secret_key, b"consentd audit signing key", hashlib.sha256).digest()


def notifier_of(settings: Settings) -> Notifier:
    """Email through the configured SMTP relay; without one, messages are only logged."""
    if settings.smtp_host is None:
        return LogNotifier()
    relay = SmtpRelay(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_sender,
        settings.smtp_username,
        settings.smtp_password,
        settings.smtp_tls,
    )
    return SmtpNotifier(relay, settings.notify_language)


def bootstrap(
    settings: Settings,
    database_url: str,
    secret_key: bytes,
    clock: Clock = utc_now,
    owner_url: str | None = None,
    *,
    audit_key: bytes | None = None,
    notifier: Notifier | None = None,
    telemetry: Telemetry | None = None,
) -> App:
    """Wire engines, units of work, use cases, servicers and interceptors.

    `database_url` is the runtime role's (row-level security applies); `owner_url`, when given,
    is the owner's, used for tenant and credential administration and to list the tenants for
    the jobs that span them. `audit_key` is the checkpoint signing seed. `telemetry` (traces
    and metrics) defaults to no exporter and a registry nobody serves; the App closes it."""
    ceiling = settings.db_timeout_seconds
    engine = create_engine(database_url, settings.db_pool_size, ceiling)
    signer = CheckpointSigner(audit_key or derived_signing_key(secret_key))
    every = settings.audit_checkpoint_every

    hub = ChangeHub()
    # Writers queue audit entries; the sequencer chains them into the log and the feed, then
    # wakes the feed's watchers (hub).
    # It has connections of its own: on the writers' pool it would queue behind them under load
    # and the log would fall behind the writes.
    sequencing = create_engine(database_url, 1)
    sequencer = Sequencer(SqlSequencer(sequencing, signer, every), clock, hub)

    def unit_of_work(tenant_id: UUID) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, tenant_id, signer, every, signal=sequencer)

    def purging(tenant_id: UUID) -> SqlUnitOfWork:
        """The retention job's: it works on the tenants it marked purged (0011's guard)."""
        return SqlUnitOfWork(engine, tenant_id, signer, every, guarded=False)

    def snapshot(tenant_id: UUID) -> SqlUnitOfWork:
        # Verification reads: a purged tenant's remaining chain still verifies.
        return SqlUnitOfWork(engine, tenant_id, signer, every, snapshot=True, guarded=False)

    # The hot reads (checks, streams, the feed) run as the same runtime role, under the same
    # row-level security, on a small asyncpg pool of their own.
    read_pool = ReadPool(database_url, settings.db_pool_size, ceiling)

    def read_unit_of_work(tenant_id: UUID) -> ReadUnitOfWork:
        return ReadUnitOfWork(read_pool, tenant_id)

    # Bulk work (recipient-list streams, the feed, suppression exports) reads on a pool of its
    # own, CONSENTD_BULK_CONCURRENCY connections: 500 open streams queue for those, never for
    # the connections single checks need.
    bulk_pool = ReadPool(database_url, settings.bulk_concurrency, ceiling, "consentd-bulk")

    def bulk_unit_of_work(tenant_id: UUID) -> ReadUnitOfWork:
        return ReadUnitOfWork(bulk_pool, tenant_id)

    hasher = IdentifierHasher(secret_key)
    keys = SubjectKeys(Keyring(secret_key))
    telemetry = telemetry or Telemetry()
    tally = telemetry.metrics.decided
    writers = TenantWriters(settings.tenant_writers)
    notifier = notifier or notifier_of(settings)
    double_opt_in = DoubleOptIn(
        unit_of_work,
        clock,
        keys,
        hasher,
        notifier,
        link=settings.confirm_url,
        pending_days=settings.confirmation_days,
    )
    consents = ConsentUseCases(
        unit_of_work,
        hasher,
        clock,
        keys,
        read_unit_of_work,
        writers=writers,
        tally=tally,
        double_opt_in=double_opt_in,
    )
    campaign = CampaignUseCases(
        bulk_unit_of_work,
        hasher,
        clock,
        hub,
        tally=tally,
        bulk=asyncio.Semaphore(settings.bulk_concurrency),
        sequencer=sequencer,
    )
    catalog = CatalogUseCases(unit_of_work, clock)
    cookies = CookieUseCases(unit_of_work, hasher, clock, keys)
    rights = RightsUseCases(
        unit_of_work, hasher, keys, clock, sections={"cookie_choices": CookieExport()}
    )
    requests = RightsRequestUseCases(unit_of_work, hasher, keys, notifier, clock)
    audit = AuditUseCases(unit_of_work, snapshot, signer, clock, sequencer)
    retention_settings = RetentionSettingsUseCases(unit_of_work, clock)
    gate = Gate(
        CredentialAuthenticator(SqlCallerDirectory(engine), clock),
        TenantRateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        SqlIdempotency(engine, clock),
        methods(),
    )
    consent_servicer = ConsentServicer(consents, settings.phone_region, double_opt_in)
    catalog_servicer = CatalogServicer(catalog)
    rights_servicer = RightsServicer(rights, requests, settings.phone_region)
    cookie_servicer = CookieServicer(cookies, settings.phone_region)
    owner_engine = create_engine(owner_url, 2, ceiling) if owner_url else None
    telemetry.metrics.watch_pool("writes", lambda: pool_usage(engine))
    telemetry.metrics.watch_pool("reads", read_pool.usage)
    telemetry.metrics.watch_pool("bulk", bulk_pool.usage)
    if owner_engine is not None:
        telemetry.metrics.watch_pool("owner", lambda: pool_usage(owner_engine))
    admin_store = SqlAdmin(owner_engine, signer, every) if owner_engine else None
    # The jobs list tenants as the owner; each tenant's work runs in units of work of the
    # runtime role (row-level security holds), one tenant at a time, under one lock.
    cookie_purge = retention = None
    if admin_store is not None:
        lock = AdvisoryLock(engine)
        cookie_purge = CookiePurge(
            unit_of_work, admin_store, lock, clock, settings.purge_batch_size
        )
        purgers = {Category.COOKIE_CHOICES: cookie_purge}
        retention = RetentionJob(purging, admin_store, signer, clock, lock, purgers=purgers)
    return App(
        settings=settings,
        database_url=database_url,
        engine=engine,
        consents=consents,
        catalog=catalog,
        campaign=campaign,
        read_pool=read_pool,
        bulk_pool=bulk_pool,
        cookies=cookies,
        rights=rights,
        requests=requests,
        audit=audit,
        retention_settings=retention_settings,
        gate=gate,
        consent_servicer=consent_servicer,
        cookie_servicer=cookie_servicer,
        telemetry=telemetry,
        sequencer=sequencer,
        admin=AdminUseCases(admin_store, clock) if admin_store else None,
        retention=retention,
        cookie_purge=cookie_purge,
        owner_engine=owner_engine,
        registrations=[
            consent_service(consent_servicer),
            catalog_service(catalog_servicer),
            cookie_service(cookie_servicer),
            rights_service(rights_servicer),
            audit_service(AuditServicer(audit)),
            retention_service(RetentionServicer(retention_settings)),
            campaign_service(CampaignServicer(campaign, settings.phone_region)),
        ],
        interceptors=[ServiceInterceptor(gate, telemetry)],
        portal=PortalServicers(consent_servicer, catalog_servicer, rights_servicer),
    )
