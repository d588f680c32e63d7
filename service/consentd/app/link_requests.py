"""A person asks for their preference link by e-mail (api/link_request_page.py): the page of a
tenant takes an address and, when it is a person of that tenant (known, not erased), mails them
their link (app/preference_links.py). Possession of the mailbox is the proof, as a double
opt-in's; the answer is the same whether the address is known or not (no oracle of who is a
customer), and it comes before any look-up (nor one in its timing).

Bounded, per process: one message per address in ADDRESS_SECONDS (the same address asked ten
times gets one mail: nobody can flood a person's mailbox from the page), TENANT_ASKS asks a
minute per tenant and CLIENT_ASKS per client address (more are RESOURCE_EXHAUSTED, said 429)."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import structlog

from consentd.app.consents import ConsentUseCases
from consentd.app.ports import Notifier, TenantDirectory
from consentd.app.preference_links import PreferenceLinks
from consentd.app.throttle import TokenBuckets
from consentd.domain.errors import ConsentError
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.tenancy import Principal, Scope, Tenant

log = structlog.get_logger("consentd.link_requests")
ADDRESS_SECONDS = 600.0
TENANT_ASKS = 60.0  # a minute, per tenant
CLIENT_ASKS = 10.0  # a minute, per client address
# Remembered addresses and clients at most (then forgotten all at once: the limits are a
# brake on abuse, not a ledger).
REMEMBERED = 100_000
BUSY = "too many link requests at once: try again in a minute"


class LinkRequests:
    def __init__(
        self,
        links: PreferenceLinks,
        consents: ConsentUseCases,
        notifier: Notifier,
        directory: TenantDirectory,
    ) -> None:
        self._links = links
        self._consents = consents
        self._notifier = notifier
        self._directory = directory
        self._tenants, self._clients = _buckets(TENANT_ASKS), _buckets(CLIENT_ASKS)
        self._sent: dict[str, float] = {}  # a keyed digest of (tenant, address) -> when
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def served(self) -> bool:
        """Whether a link can reach anyone: the page's address is configured
        (CONSENTD_PREFERENCES_URL) and e-mail is sent (an SMTP relay)."""
        return self._links.serves_urls and self._notifier.delivers(IdentifierKind.EMAIL)

    @property
    def days(self) -> int:
        """How long a link mailed works."""
        return self._links.lifetime.days

    async def tenant(self, tenant_id: UUID) -> Tenant | None:
        """The tenant whose page this is; None for none, or one purged."""
        found = await self._directory.tenant(tenant_id)
        return found if found is not None and not found.purged else None

    def admit(self, tenant: Tenant, client: str) -> None:
        """One ask of the tenant's page from `client` (its address). Raises ResourceExhausted."""
        if len(self._tenants) >= REMEMBERED or len(self._clients) >= REMEMBERED:
            self._tenants, self._clients = _buckets(TENANT_ASKS), _buckets(CLIENT_ASKS)
        # The client's first: one refused spends nothing of the tenant's (a client asking
        # once a second kept its tenant's page at 429 for everyone; probe MA).
        self._clients.take(client, BUSY)
        self._tenants.take(tenant.tenant_id, BUSY)

    def ask(self, tenant: Tenant, address: Identifier) -> None:
        """Mails the person their link, later (the caller's answer does not wait for it), when
        `address` is a person's of the tenant and none was sent to it lately."""
        digest = self._links.pseudonym(f"{tenant.tenant_id}|{address.kind}:{address.value}")
        now = time.monotonic()
        if now - self._sent.get(digest, -ADDRESS_SECONDS) < ADDRESS_SECONDS:
            log.info("preference_link_asked", tenant=tenant.slug, outcome="sent_lately")
            return
        if len(self._sent) >= REMEMBERED:
            self._sent.clear()
        self._sent[digest] = now
        task = asyncio.create_task(self._send(tenant, address, digest))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_record(self, tenant: Tenant, person: Identifier) -> bool:
        """Whether a person of the tenant holds the identifier: a link is for them alone (one
        for an identifier nobody holds would make them, with a grant in their name). Raises
        NotFound for a person erased."""
        own = Principal(tenant, "preference link", frozenset({Scope.SELF}), subject=person)
        return (await self._consents.subject_consents(own, person))[0] is not None

    async def _send(self, tenant: Tenant, address: Identifier, digest: str) -> None:
        try:
            if not await self.on_record(tenant, address):
                log.info("preference_link_asked", tenant=tenant.slug, outcome="unknown")
                return
            token, expires = self._links.token(tenant.tenant_id, address)
            await self._notifier.send_link(tenant, address, self._links.url(token), expires)
            log.info("preference_link_asked", tenant=tenant.slug, outcome="sent")
        except ConsentError as refused:  # erased (NOT_FOUND), purged
            log.info("preference_link_asked", tenant=tenant.slug, outcome=type(refused).__name__)
        except Exception as error:  # noqa: BLE001 - the relay or the database: said, not raised
            log.warning("preference_link_failed", tenant=tenant.slug, error=type(error).__name__)
            self._sent.pop(digest, None)  # nothing went: the person may ask again at once


def _buckets(per_minute: float) -> TokenBuckets:
    return TokenBuckets(per_minute / 60, per_minute)
