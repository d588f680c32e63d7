"""The use cases of the composition root, each given the store's units of work, the clock and
the keys derived from the service secret; and the owner's jobs, which span tenants."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from dataclasses import dataclass

import phonenumbers

from consentd.app.admin import AdminUseCases
from consentd.app.audit import AuditUseCases
from consentd.app.campaign import CampaignUseCases
from consentd.app.catalog import CatalogUseCases
from consentd.app.changes import ChangeHub
from consentd.app.checks import Tally
from consentd.app.confirmation_export import ConfirmationExport
from consentd.app.confirmation_links import ConfirmationLinks
from consentd.app.confirmations import DoubleOptIn
from consentd.app.consents import ConsentUseCases
from consentd.app.cookie_purge import CookiePurge
from consentd.app.cookies import CookieExport, CookieUseCases
from consentd.app.group_commit import Grouping
from consentd.app.idempotency import fingerprint_key
from consentd.app.importing import ConsentImports
from consentd.app.inactive_subjects import InactiveSubjects
from consentd.app.keys import SubjectKeys
from consentd.app.link_requests import LinkRequests
from consentd.app.ports import Clock, Notifier
from consentd.app.preference_links import PreferenceLinks
from consentd.app.requests import RightsRequestUseCases
from consentd.app.retention import CategoryPurger, RetentionJob
from consentd.app.retention_settings import RetentionSettingsUseCases
from consentd.app.rights import RightsUseCases
from consentd.app.subject_export import ExportSection
from consentd.app.unsubscribe import UnsubscribeLinks, Unsubscribes
from consentd.app.webhooks import WebhookAdmin
from consentd.app.writers import TenantWriters
from consentd.config import ConfigError, Settings
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.retention import Category
from consentd.domain.sealing import Keyring
from consentd.store.callers import SqlCallerDirectory
from consentd.store.database import database_not_answering
from consentd.store.importing import SqlImportStore
from consentd.store.locks import AdvisoryLock
from consentd.store.uow import batch_context
from consentd.store.webhooks import SqlWebhooks
from consentd.webhook_delivery import WebhookDelivery
from consentd.wiring.store import Store, database_state


@dataclass(frozen=True, slots=True)
class UseCases:
    """What the servicers call (the double opt-in too: a confirmation link is its own call)."""

    consents: ConsentUseCases
    double_opt_in: DoubleOptIn
    campaign: CampaignUseCases
    catalog: CatalogUseCases
    cookies: CookieUseCases
    rights: RightsUseCases
    requests: RightsRequestUseCases
    audit: AuditUseCases
    retention_settings: RetentionSettingsUseCases
    imports: ConsentImports
    unsubscribes: Unsubscribes
    confirmation_links: ConfirmationLinks
    webhooks: Webhooks
    preferences: PreferenceLinkUses
    # Consent writes' admission per tenant (refused while queued once the database is lost).
    writers: TenantWriters
    # The key of idempotent writes' request fingerprints (app/idempotency.fingerprint_key).
    fingerprints: bytes


@dataclass(frozen=True, slots=True)
class PreferenceLinkUses:
    """The links to the preference centre, and the page's mailing of them."""

    links: PreferenceLinks
    requests: LinkRequests


@dataclass(frozen=True, slots=True)
class Webhooks:
    """The operator's commands, and the delivery every serving process runs."""

    admin: WebhookAdmin
    delivery: WebhookDelivery


@dataclass(frozen=True, slots=True)
class OwnerJobs:
    """With the owner's URL only: administration, and the jobs that span tenants (they list
    them as the owner): the retention job and its cookie category alone (`consentd purge`)."""

    admin: AdminUseCases | None = None
    retention: RetentionJob | None = None
    cookie_purge: CookiePurge | None = None


# The export's sections beyond the rights use case's own (app/subject_export.py).
_EXPORT_SECTIONS: dict[str, ExportSection] = {
    "cookie_choices": CookieExport(),
    "confirmations": ConfirmationExport(),
}


def build_use_cases(
    settings: Settings,
    store: Store,
    *,
    hub: ChangeHub,
    secret_key: bytes,
    clock: Clock,
    notifier: Notifier,
    tally: Tally,
) -> UseCases:
    """Identifiers are hashed and subjects' data sealed with keys of `secret_key`; `notifier`
    sends the confirmation and rights-request emails; `tally` counts the decisions of checks."""
    hasher, keyring = IdentifierHasher(secret_key), Keyring(secret_key)
    keys, uow = SubjectKeys(keyring), store.unit_of_work
    double_opt_in = DoubleOptIn(
        uow, clock, keys, hasher, notifier, link=settings.confirm_url,
        pending_days=settings.confirmation_days, language=settings.notify_language,
    )  # fmt: skip
    writers = TenantWriters(settings.tenant_writers)
    grouping = Grouping(settings.write_batch, batch_context, database_not_answering)
    consents = ConsentUseCases(
        uow, hasher, clock, keys, store.reads,
        writers=writers, tally=tally, double_opt_in=double_opt_in, grouping=grouping,
    )  # fmt: skip
    catalog = CatalogUseCases(uow, clock)
    campaign = build_campaign(
        settings, store, hub=hub, hasher=hasher, clock=clock, tally=tally, keys=keys
    )
    return UseCases(
        consents=consents,
        double_opt_in=double_opt_in,
        campaign=campaign,
        catalog=catalog,
        cookies=CookieUseCases(uow, hasher, clock, keys, grouping),
        rights=RightsUseCases(uow, hasher, keys, clock, sections=_EXPORT_SECTIONS),
        requests=RightsRequestUseCases(uow, hasher, keys, notifier, clock),
        audit=AuditUseCases(uow, store.snapshot, store.signer, clock, store.sequencer),
        retention_settings=RetentionSettingsUseCases(uow, clock),
        imports=build_imports(store, hasher, keyring, clock),
        unsubscribes=build_unsubscribes(settings, store, secret_key, consents, catalog),
        confirmation_links=ConfirmationLinks(
            uow, clock, SqlCallerDirectory(store.engine), double_opt_in
        ),
        webhooks=build_webhooks(store, campaign, hub, secret_key, clock),
        preferences=build_preference_links(
            settings, store, secret_key, clock=clock, consents=consents, notifier=notifier
        ),
        writers=writers,
        fingerprints=fingerprint_key(secret_key),
    )


def build_preference_links(
    settings: Settings,
    store: Store,
    secret_key: bytes,
    *,
    clock: Clock,
    consents: ConsentUseCases,
    notifier: Notifier,
) -> PreferenceLinkUses:
    links = PreferenceLinks(
        secret_key, clock, settings.preferences_url, settings.preference_link_days
    )
    requests = LinkRequests(links, consents, notifier, SqlCallerDirectory(store.engine))
    return PreferenceLinkUses(links, requests)


def build_webhooks(
    store: Store, campaign: CampaignUseCases, hub: ChangeHub, secret_key: bytes, clock: Clock
) -> Webhooks:
    """Both read the feed as consentd itself (no caller), under the runtime role."""
    webhooks = SqlWebhooks(store.engine)
    feed = campaign.feed()
    return Webhooks(
        WebhookAdmin(webhooks, feed, secret_key, clock),
        WebhookDelivery(webhooks, feed, hub, secret_key, clock),
    )


def build_unsubscribes(
    settings: Settings,
    store: Store,
    secret_key: bytes,
    consents: ConsentUseCases,
    catalog: CatalogUseCases,
) -> Unsubscribes:
    """Links under a key of their own from the service secret: every replica opens the links
    any other made."""
    key = hmac.new(secret_key, b"consentd unsubscribe links", hashlib.sha256).digest()
    links = UnsubscribeLinks(key, settings.unsubscribe_url)
    return Unsubscribes(links, SqlCallerDirectory(store.engine), consents, catalog)


def build_imports(
    store: Store, hasher: IdentifierHasher, keyring: Keyring, clock: Clock
) -> ConsentImports:
    """`consentd import consents`: COPY-staged batches in the runtime role's units of work; the
    sequencer integrates what they queue (the import waits for it at the end)."""
    sequencer = store.sequencer
    import_store = SqlImportStore(store.engine, store.unit_of_work, sequencer, sequencer.drain)
    return ConsentImports(import_store, hasher, keyring, clock)


def build_campaign(
    settings: Settings,
    store: Store,
    *,
    hub: ChangeHub,
    hasher: IdentifierHasher,
    clock: Clock,
    tally: Tally,
    keys: SubjectKeys,
) -> CampaignUseCases:
    """Recipient lists and the feed read on the bulk pool, CONSENTD_BULK_CONCURRENCY at once;
    the feed's watchers wake on `hub`, and a feed read first pushes the sequencer along."""
    return CampaignUseCases(
        store.bulk_reads,
        hasher,
        clock,
        hub,
        tally=tally,
        bulk=asyncio.Semaphore(settings.bulk_concurrency),
        sequencer=store.sequencer,
        keys=keys,
    )


def build_owner_jobs(
    settings: Settings, store: Store, clock: Clock, secret_key: bytes
) -> OwnerJobs:
    """None of them without the owner's URL. The jobs list tenants as the owner; each tenant's
    work runs in units of work of the runtime role (row-level security holds), one tenant at a
    time, under one lock. `secret_key`: the erasure of inactive subjects keeps the secret's
    check as it destroys their data keys (app/keys.py)."""
    if store.admin is None:
        return OwnerJobs()
    lock = AdvisoryLock(store.engine)
    # Purge jobs work on every tenant, purged ones included (0011's guard is the API's).
    cookie_purge = CookiePurge(store.purging, store.admin, lock, clock, settings.purge_batch_size)
    inactive = InactiveSubjects(
        store.purging, SubjectKeys(Keyring(secret_key)), clock, settings.purge_batch_size
    )
    purgers: dict[Category, CategoryPurger] = {
        Category.COOKIE_CHOICES: cookie_purge,
        Category.INACTIVE_SUBJECTS: inactive,
    }
    retention = RetentionJob(
        store.purging, store.admin, store.signer, clock, lock,
        purgers=purgers, database_state=database_state,
    )  # fmt: skip
    return OwnerJobs(AdminUseCases(store.admin, clock), retention, cookie_purge)


def known_region(region: str) -> None:
    """ZZ served, and then refused every national number as invalid: refused here, where
    libphonenumber is loaded (config.py checks only the shape), and by every command before it
    starts anything (an embedded PostgreSQL was started and stopped first; probe BD)."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"CONSENTD_PHONE_REGION {region!r} is no region libphonenumber knows "
            "(an ISO 3166 code, e.g. FR)"
        )
