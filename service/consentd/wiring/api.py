"""The API side of the composition root: the Gate every call passes (credentials, rate
limits, idempotency), the servicers over the use cases, their gRPC registrations and the
interceptor; and the browser port's own pages (the demo, the preference centre)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from consentd.api.audit_servicer import AuditServicer
from consentd.api.browser_portal import PortalServicers
from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.gate import Gate
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.methods import methods
from consentd.api.outages import DatabaseLost
from consentd.api.pages import DemoPage
from consentd.api.ratelimit import TenantRateLimiter
from consentd.api.retention_servicer import RetentionServicer
from consentd.api.rights_servicer import RightsServicer
from consentd.api.server import (
    Registration,
    audit_service,
    campaign_service,
    catalog_service,
    consent_service,
    cookie_service,
    retention_service,
    rights_service,
)
from consentd.app.auth import CredentialAuthenticator
from consentd.app.ports import Clock
from consentd.config import ConfigError, Settings
from consentd.store.callers import SqlCallerDirectory
from consentd.telemetry import Telemetry
from consentd.wiring.store import Store
from consentd.wiring.use_cases import UseCases

# The repository's web/: the demo banner page (web/demo) and the preference centre
# (web/preferences), each bundled into its dist/ by `make setup`. CONSENTD_WEB_DIR names another
# folder of the same layout (the container image's /opt/consentd/web).
REPOSITORY_WEB = Path(__file__).resolve().parents[3] / "web"


def web_dir(settings: Settings) -> Path:
    return Path(settings.web_dir) if settings.web_dir else REPOSITORY_WEB


@dataclass(frozen=True, slots=True)
class Api:
    """What the gRPC server and the browser port serve."""

    gate: Gate
    consent_servicer: ConsentServicer
    cookie_servicer: CookieServicer
    registrations: list[Registration]
    interceptors: list[ServiceInterceptor]
    # The person's own writes and the catalogue on the browser port (the preference centre).
    portal: PortalServicers


def build_gate(settings: Settings, store: Store, clock: Clock, use_cases: UseCases) -> Gate:
    """Callers' credentials are read as the runtime role."""
    links = use_cases.preferences.links
    return Gate(
        CredentialAuthenticator(SqlCallerDirectory(store.engine), clock, links),
        TenantRateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        clock,
        methods(),
        fingerprints=use_cases.fingerprints,
    )


def build_api(
    settings: Settings, store: Store, use_cases: UseCases, clock: Clock, telemetry: Telemetry
) -> Api:
    """One servicer per service, each registered with the gRPC server behind one interceptor
    (the Gate, traces and metrics); the browser port reuses some of them."""
    gate = build_gate(settings, store, clock, use_cases)
    # Writes queued in the process when the database is lost are refused then, not each after
    # its turn and the database's ceiling (probe PA).
    gate.reachability.when_lost(partial(use_cases.writers.refuse_waiting, DatabaseLost))
    region = settings.phone_region
    consent_servicer = ConsentServicer(use_cases.consents, region, use_cases.double_opt_in)
    catalog_servicer = CatalogServicer(use_cases.catalog)
    rights_servicer = RightsServicer(use_cases.rights, use_cases.requests, region)
    cookie_servicer = CookieServicer(use_cases.cookies, region)
    campaign_servicer = CampaignServicer(
        use_cases.campaign, region, links=use_cases.unsubscribes.links,
        preferences=use_cases.preferences.links,
    )  # fmt: skip
    registrations = [
        consent_service(consent_servicer),
        catalog_service(catalog_servicer),
        cookie_service(cookie_servicer),
        rights_service(rights_servicer),
        audit_service(AuditServicer(use_cases.audit)),
        retention_service(RetentionServicer(use_cases.retention_settings)),
        campaign_service(campaign_servicer),
    ]
    return Api(
        gate=gate,
        consent_servicer=consent_servicer,
        cookie_servicer=cookie_servicer,
        registrations=registrations,
        interceptors=[ServiceInterceptor(gate, telemetry)],
        portal=PortalServicers(catalog_servicer, rights_servicer, campaign_servicer),
    )


def demo_page(settings: Settings, demo_key: str | None) -> DemoPage | None:
    """The demo page with `demo_key` (a cookies:write key; CONSENTD_DEMO only) written into it;
    None without a key. Raises ConfigError when the demo is not built."""
    if demo_key is None:
        return None
    demo = web_dir(settings) / "demo"
    if not (demo / "dist" / "banner.js").exists():
        raise ConfigError(f"CONSENTD_DEMO is set but {demo}/dist/banner.js is missing: make setup")
    return DemoPage(demo, demo_key)


def preferences_dir(settings: Settings) -> Path | None:
    """The preference centre's folder with CONSENTD_PREFERENCES, else None. Raises ConfigError
    when it is not built."""
    if not settings.preferences:
        return None
    preferences = web_dir(settings) / "preferences"
    if not (preferences / "dist" / "preferences.js").exists():
        raise ConfigError(
            f"CONSENTD_PREFERENCES is set but {preferences}/dist/preferences.js is "
            "missing: make setup"
        )
    return preferences
