"""A person asks for their preference link by e-mail (api/link_request_page.py): the page of a
tenant takes an address and, when it is a person of that tenant (known, not erased), mails them
their link (app/preference_links.py). Possession of the mailbox is the proof, as a double
opt-in's; the answer is the same whether the address is known or not (no oracle of who is a
customer), and it comes before any look-up (nor one in its timing).

Bounded, per process: one message per address in ADDRESS_SECONDS (the same address asked ten
times gets one mail: nobody can flood a person's mailbox from the page); CLIENT_ASKS asks a
minute per client address (an IPv6 address's /64) and TENANT_ASKS per tenant, of well-formed
addresses (more are RESOURCE_EXHAUSTED, said 429: they bound the look-ups); TENANT_MAILS mails a
minute per tenant,
counted when one goes to a known person (past them a mail is dropped, logged `tenant_busy`: six
clients asking for made-up addresses kept a tenant's page at 429 for everyone; probe PA)."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from uuid import UUID

import structlog

from consentd.app.consents import ConsentUseCases
from consentd.app.ports import Notifier, TenantDirectory
from consentd.app.preference_links import PreferenceLinks
from consentd.app.throttle import TokenBuckets
from consentd.domain.errors import ConsentError, NotFound, ResourceExhausted
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.tenancy import Principal, Scope, Tenant

log = structlog.get_logger("consentd.link_requests")
ADDRESS_SECONDS = 600.0
TENANT_ASKS = 600.0  # a minute, per tenant
TENANT_MAILS = 60.0  # a minute, per tenant
CLIENT_ASKS = 10.0  # a minute, per client address
TENANT_SECONDS = 30.0  # a tenant's name and state, read again after
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
        self._mails = _buckets(TENANT_MAILS)
        # tenant id -> (monotonic time read, the tenant): the page is public and its address
        # too (each GET was a query, ~1,100 a second from one client; probe PA).
        self._known: dict[UUID, tuple[float, Tenant | None]] = {}
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
        """The tenant whose page this is; None for none, or one purged. Read again after
        TENANT_SECONDS (`tenant_id` is one of the tenants there are: api/link_pages.py)."""
        now = time.monotonic()
        cached = self._known.get(tenant_id)
        if cached is None or now - cached[0] >= TENANT_SECONDS:
            found = await self._directory.tenant(tenant_id)
            if len(self._known) >= REMEMBERED:
                self._known.clear()
            cached = self._known[tenant_id] = (now, found)
        found = cached[1]
        return found if found is not None and not found.purged else None

    def admit_client(self, client: str) -> None:
        """One ask from `client` (its address), before its address is read. The client's first:
        one refused spends nothing of the tenant's (probe MA). Raises ResourceExhausted."""
        network = client_network(client)
        if network is None:  # no address known: the tenant's limits alone (probe SA)
            return
        if len(self._clients) >= REMEMBERED:
            self._clients = _buckets(CLIENT_ASKS)
        self._clients.take(network, BUSY)

    def admit(self, tenant: Tenant) -> None:
        """One ask of a well-formed address of the tenant's page. Raises ResourceExhausted."""
        if len(self._tenants) >= REMEMBERED:
            self._tenants, self._mails = _buckets(TENANT_ASKS), _buckets(TENANT_MAILS)
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
            # Those asked long enough ago go; forgetting all at once let asks spread over a
            # few tenants' pages mail an address again within minutes (probe QB).
            self._sent = {d: at for d, at in self._sent.items() if now - at < ADDRESS_SECONDS}
            if len(self._sent) >= REMEMBERED:
                log.warning("preference_link_asked", tenant=tenant.slug, outcome="too_many")
                return
        self._sent[digest] = now
        task = asyncio.create_task(self._send(tenant, address, digest))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def holder(self, tenant: Tenant, person: Identifier) -> UUID | None:
        """The subject holding the identifier; None for nobody (or a person erased)."""
        try:
            return await self._subject(tenant, person)
        except NotFound:
            return None

    async def on_record(self, tenant: Tenant, person: Identifier) -> bool:
        """Whether a person of the tenant holds the identifier: a link is for them alone (one
        for an identifier nobody holds would make them, with a grant in their name). Raises
        NotFound for a person erased."""
        return await self._subject(tenant, person) is not None

    async def _subject(self, tenant: Tenant, person: Identifier) -> UUID | None:
        own = Principal(tenant, "preference link", frozenset({Scope.SELF}), subject=person)
        return (await self._consents.subject_consents(own, person))[0]

    async def _send(self, tenant: Tenant, address: Identifier, digest: str) -> None:
        try:
            if not await self.on_record(tenant, address):
                log.info("preference_link_asked", tenant=tenant.slug, outcome="unknown")
                return
            try:
                self._mails.take(tenant.tenant_id)
            except ResourceExhausted:
                log.warning("preference_link_asked", tenant=tenant.slug, outcome="tenant_busy")
                self._sent.pop(digest, None)  # none went: the person may ask again
                return
            token, expires = self._links.token(tenant.tenant_id, address)
            await self._notifier.send_link(tenant, address, self._links.url(token), expires)
            log.info("preference_link_asked", tenant=tenant.slug, outcome="sent")
        except ConsentError as refused:  # erased (NOT_FOUND), purged
            log.info("preference_link_asked", tenant=tenant.slug, outcome=type(refused).__name__)
        except Exception as error:  # noqa: BLE001 - the relay or the database: said, not raised
            log.warning("preference_link_failed", tenant=tenant.slug, error=type(error).__name__)
            self._sent.pop(digest, None)  # nothing went: the person may ask again at once


def client_network(client: str) -> str | None:
    """The bucket of a client address: an IPv6 address's /64 (one host holds a whole /64:
    counted by address, one machine asked without end; probe QB), an IPv4 one as it is; None
    for no address: a proxy writing `unknown` or what the client wrote (one bucket per text
    held 15 KB each, probe RA; one bucket for all let one visitor hold the page at 429 for
    everyone behind such a proxy, probe SA). The tenant's limits still bound those."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _buckets(per_minute: float) -> TokenBuckets:
    return TokenBuckets(per_minute / 60, per_minute)
