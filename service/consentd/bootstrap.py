"""The one composition root: settings in, a wired application out. No work at import time.
bootstrap() calls the builders of consentd/wiring/ in turn: the store, the use cases, the API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.api.browser import connect_apps
from consentd.api.browser_gate import BrowserGate
from consentd.api.browser_portal import PortalServicers, portal_apps
from consentd.api.confirm_page import ConfirmPage
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.gate import Gate
from consentd.api.health import SERVING
from consentd.api.http import BrowserApp
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.link_request_page import LinkRequestPage
from consentd.api.server import Registration, Server
from consentd.api.unsubscribe_page import UnsubscribePage
from consentd.app.admin import AdminUseCases
from consentd.app.audit import AuditUseCases
from consentd.app.campaign import CampaignUseCases
from consentd.app.catalog import CatalogUseCases
from consentd.app.changes import ChangeHub
from consentd.app.confirmation_links import ConfirmationLinks
from consentd.app.consents import ConsentUseCases
from consentd.app.cookie_purge import CookiePurge
from consentd.app.cookies import CookieUseCases
from consentd.app.importing import ConsentImports
from consentd.app.link_requests import LinkRequests
from consentd.app.ports import Clock, Notifier
from consentd.app.preference_links import PreferenceLinks
from consentd.app.requests import RightsRequestUseCases
from consentd.app.retention import RetentionJob
from consentd.app.retention_settings import RetentionSettingsUseCases
from consentd.app.rights import RightsUseCases
from consentd.app.unsubscribe import Unsubscribes
from consentd.config import Settings
from consentd.domain.audit_signer import CheckpointSigner
from consentd.jobs.sequencer import Sequencer
from consentd.notifiers import notifier_of
from consentd.store.connections import terminate_connections
from consentd.store.probe import DatabaseProbe
from consentd.store.reads import ReadPool
from consentd.telemetry import Telemetry
from consentd.wiring.api import Api, build_api, demo_page, preferences_dir
from consentd.wiring.store import Store, build_store
from consentd.wiring.use_cases import (
    OwnerJobs,
    UseCases,
    Webhooks,
    build_owner_jobs,
    build_use_cases,
    known_region,
)  # fmt: skip

log = structlog.get_logger("consentd")
# How long closing a pool may wait for PostgreSQL at exit.
CLOSE_SECONDS = 1.0


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
    imports: ConsentImports
    unsubscribes: Unsubscribes
    confirmation_links: ConfirmationLinks
    webhooks: Webhooks
    preference_links: PreferenceLinks
    link_requests: LinkRequests
    # With the owner's URL only: administration and the jobs that span tenants (OwnerJobs).
    admin: AdminUseCases | None = None
    retention: RetentionJob | None = None
    cookie_purge: CookiePurge | None = None
    owner_engine: AsyncEngine | None = None
    registrations: list[Registration] = field(default_factory=list)
    interceptors: list[ServiceInterceptor] = field(default_factory=list)
    # The person's own writes and the catalogue on the browser port (the preference centre).
    portal: PortalServicers | None = None
    # The embedded database's folder, whose disk health watches (runtime.serve sets it).
    disk: Path | None = None

    def server(self) -> Server:
        """The gRPC server; its health follows the database (a probe of its own), and the
        metrics' `consentd_serving` its health."""
        server = Server(
            self.registrations,
            list(self.interceptors),
            self.settings.reuse_port,
            probe=DatabaseProbe(self.database_url, self.settings.db_timeout_seconds, self.disk),
            reachability=self.gate.reachability,
        )
        self.telemetry.metrics.watch_health(lambda: server.health.status == SERVING)
        return server

    def browser_app(self, *, demo_key: str | None = None) -> BrowserApp:
        """The browser port's ASGI app: the same servicers behind the same Gate, over Connect
        and gRPC-Web; with `demo_key` (a cookies:write key; CONSENTD_DEMO only) it also serves
        the demo page, that key written into it. Raises ConfigError when the demo is not built."""
        demo = demo_page(self.settings, demo_key)
        confirm = ConfirmPage(self.confirmation_links, self.gate.tenant_exists)
        gate = BrowserGate(self.gate, self.cookies, self.telemetry)
        services = connect_apps(gate, self.cookie_servicer, self.consent_servicer)
        if self.portal is not None:
            services = portal_apps(gate, services, self.portal)
        return BrowserApp(
            services,
            self.cookies,
            demo,
            preferences_dir(self.settings),
            authenticate=self.gate.admit_unread,
            tenant_exists=self.gate.tenant_exists,
            telemetry=self.telemetry,
            links=(UnsubscribePage(self.unsubscribes), confirm, *self._link_request_page()),
        )

    def _link_request_page(self) -> list[LinkRequestPage]:
        """The page mailing a person their link: with the preference centre, when a link can
        reach anyone (its address set, an SMTP relay)."""
        if not (self.settings.preferences and self.link_requests.served):
            return []
        return [LinkRequestPage(self.link_requests, self.gate.tenant_exists)]

    async def aclose(self, within: float = CLOSE_SECONDS) -> None:
        """Release the pools, one after the other (SQLAlchemy's pools lock a thread mutex: two
        disposing at once on one event loop can block it), `within` seconds at most each; once
        one did not close in time (PostgreSQL does not answer), the sockets of every connection
        are dropped, so the rest close at once and the process exits."""
        closing = [
            self.sequencer.aclose,
            self.read_pool.close,
            self.bulk_pool.close,
            self.engine.dispose,
        ]
        if self.owner_engine is not None:
            closing.append(self.owner_engine.dispose)
        stuck = False
        for close in closing:
            try:
                async with asyncio.timeout(within):
                    await close()
            except TimeoutError:
                if not stuck:
                    log.warning("pool_close_timed_out", seconds=within)
                    self._terminate_connections()
                stuck = True
        self.read_pool.terminate()
        self.bulk_pool.terminate()
        self.telemetry.close()

    def _terminate_connections(self) -> None:
        self.sequencer.terminate()
        for engine in (self.engine, self.owner_engine):
            if engine is not None:
                terminate_connections(engine)
        self.read_pool.terminate()
        self.bulk_pool.terminate()


def derived_signing_key(secret_key: bytes) -> bytes:
    """An Ed25519 seed derived from the service secret, for callers that give no signing key
    (tests, tools). Deployments set CONSENTD_AUDIT_SIGNING_KEY (runtime.py insists)."""
    return hmac.new(secret_key, b"consentd audit signing key", hashlib.sha256).digest()


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
    known_region(settings.phone_region)
    signer = CheckpointSigner(
        audit_key or derived_signing_key(secret_key), settings.audit_retired_keys
    )
    # Writers queue audit entries; the sequencer chains them into the log and the feed, then
    # wakes the feed's watchers (hub).
    hub = ChangeHub()
    store = build_store(
        settings, database_url, owner_url=owner_url, signer=signer, clock=clock, hub=hub
    )
    telemetry = telemetry or Telemetry()
    store.watch_pools(telemetry.metrics)
    telemetry.metrics.watch_sequencer(store.sequencer.stalled_seconds)
    use_cases = build_use_cases(
        settings,
        store,
        hub=hub,
        secret_key=secret_key,
        clock=clock,
        notifier=notifier or notifier_of(settings),
        tally=telemetry.metrics.decided,
    )
    api = build_api(settings, store, use_cases, clock, telemetry)
    jobs = build_owner_jobs(settings, store, clock, secret_key)
    return assemble(
        settings,
        database_url=database_url,
        telemetry=telemetry,
        store=store,
        use_cases=use_cases,
        api=api,
        jobs=jobs,
    )


def assemble(
    settings: Settings,
    *,
    database_url: str,
    telemetry: Telemetry,
    store: Store,
    use_cases: UseCases,
    api: Api,
    jobs: OwnerJobs,
) -> App:
    """The App of what the builders made."""
    return App(
        settings=settings,
        database_url=database_url,
        engine=store.engine,
        consents=use_cases.consents,
        catalog=use_cases.catalog,
        campaign=use_cases.campaign,
        read_pool=store.read_pool,
        bulk_pool=store.bulk_pool,
        cookies=use_cases.cookies,
        rights=use_cases.rights,
        requests=use_cases.requests,
        audit=use_cases.audit,
        retention_settings=use_cases.retention_settings,
        gate=api.gate,
        consent_servicer=api.consent_servicer,
        cookie_servicer=api.cookie_servicer,
        telemetry=telemetry,
        sequencer=store.sequencer,
        imports=use_cases.imports,
        unsubscribes=use_cases.unsubscribes,
        confirmation_links=use_cases.confirmation_links,
        webhooks=use_cases.webhooks,
        preference_links=use_cases.preferences.links,
        link_requests=use_cases.preferences.requests,
        admin=jobs.admin,
        retention=jobs.retention,
        cookie_purge=jobs.cookie_purge,
        owner_engine=store.owner_engine,
        registrations=api.registrations,
        interceptors=api.interceptors,
        portal=api.portal,
    )
