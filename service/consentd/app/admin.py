"""Tenant and credential management, for the `consentd` command line and provisioning."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from consentd.app.auth import refuse_purged
from consentd.app.ports import AdminRepository, Clock
from consentd.domain.catalog import check_text
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.free_text import without_contacts
from consentd.domain.identifiers import normalise_email
from consentd.domain.keys import ApiKey, new_api_key
from consentd.domain.model import ProcessingRole
from consentd.domain.slugs import SLUG, SLUG_RULE
from consentd.domain.tenancy import Scope, StoredKey, Tenant, TokenIssuer


class AdminUseCases:
    def __init__(self, repository: AdminRepository, clock: Clock) -> None:
        self._repo = repository
        self._clock = clock

    async def create_tenant(
        self, slug: str, name: str = "", role: ProcessingRole | None = None
    ) -> Tenant:
        """Create a tenant (idempotent by slug; a new one is a processor unless `role` says).
        Raises InvalidInput for a bad slug, FailedPrecondition when the tenant exists with
        another role than the one asked (a role never changes: it decides whose notices and
        purge rules apply)."""
        if not SLUG.fullmatch(slug):
            raise InvalidInput("slug", SLUG_RULE)
        # One line: it heads the tenant's mails (a line break in it broke every one of them).
        asked = role or ProcessingRole.PROCESSOR
        tenant = Tenant(uuid4(), slug, check_text("name", name or slug, 200, one_line=True), asked)
        made = await self._repo.create_tenant(tenant, self._clock())
        if role is not None and made.processing_role is not role:
            raise FailedPrecondition(
                f"tenant {slug!r} exists as a {made.processing_role.value}; a tenant's role "
                "never changes"
            )
        if name and made.name != tenant.name:
            # A name given to an existing tenant was dropped without a word, its mails still
            # headed by the slug (probe IC).
            raise FailedPrecondition(
                f"tenant {slug!r} exists, named {made.name!r}: `consentd tenants rename "
                f"{slug} NAME` renames it"
            )
        return await self.tenant(slug)  # with whether it was purged (an existing one may be)

    async def rename_tenant(self, slug: str, name: str) -> Tenant:
        """Set the name that heads the tenant's mails and pages (audited). Raises InvalidInput
        for an empty or multi-line name, NotFound, FailedPrecondition for a purged tenant."""
        named = check_text("name", name, 200, required=True, one_line=True)
        tenant = await self.tenant(slug)
        refuse_purged(tenant)
        await self._repo.rename_tenant(tenant.tenant_id, named, self._clock())
        return await self.tenant(slug)

    async def set_rights_desk(self, slug: str, address: str | None) -> str | None:
        """Set the address mailed a daily digest of the tenant's rights requests to answer
        (rights_desk.py), or remove it (None); audited. Returns the address as kept. Raises
        InvalidInput for an address that is not one, NotFound, FailedPrecondition (purged)."""
        tenant = await self.tenant(slug)
        if address is not None:  # removing it works on a purged tenant too (probe RA)
            refuse_purged(tenant)
        kept = normalise_email(address).value if address is not None else None
        if kept is not None and not kept.isascii():
            # A relay without SMTPUTF8 refused it at every pass, the digest never sent (RA).
            raise InvalidInput("address", "the part before @ must be ASCII for a rights desk")
        await self._repo.set_rights_desk(tenant.tenant_id, kept, self._clock())
        return kept

    async def revoke_links(self, tenant: Tenant, caller: str, subject_id: UUID | None) -> datetime:
        """Refuse the preference links of an identifier (`caller`: their caller name) and of its
        holder `subject_id` by any identifier, made until now (audited); when."""
        now = self._clock()
        await self._repo.revoke_links(tenant.tenant_id, caller, subject_id, now)
        return now

    async def rights_desk(self, slug: str) -> str | None:
        return await self._repo.rights_desk((await self.tenant(slug)).tenant_id)

    async def tenant(self, slug: str) -> Tenant:
        found = await self._repo.tenant_by_slug(slug)
        if found is None:
            raise NotFound(f"no tenant {slug!r}")
        return found

    async def issue_key(
        self, slug: str, scopes: Iterable[str], name: str = "", expires_at: datetime | None = None
    ) -> tuple[ApiKey, StoredKey]:
        """A new key; its token is returned here once and stored only as a digest."""
        granted = frozenset(_scope(s) for s in scopes)
        if not granted:
            raise InvalidInput("scopes", "at least one scope is required")
        if Scope.SELF in granted:
            raise InvalidInput("scopes", "subject:self comes only from a signed portal token")
        tenant = await self.tenant(slug)
        refuse_purged(tenant)  # a key of a purged tenant was made, and worked (probe R)
        key = new_api_key(tenant.tenant_id)
        now = self._clock()
        stored = StoredKey(
            # A key's name is in `keys list` and its audit entry for good: no address kept.
            key.key_id,
            without_contacts(check_text("name", name, 200, one_line=True)),
            granted,
            key.digest,
            now,
            expires_at,
        )
        await self._repo.insert_key(tenant.tenant_id, stored)
        return key, stored

    async def revoke_key(self, slug: str, key_id: str) -> None:
        """Revoke a live key (effective within the authenticator's cache time). Raises NotFound."""
        tenant = await self.tenant(slug)
        if not await self._repo.revoke_key(tenant.tenant_id, key_id, self._clock()):
            raise NotFound(f"no live key {key_id!r} for tenant {slug!r}")

    async def tenants(self) -> list[Tenant]:
        """Every tenant, by slug (the owner's lookup)."""
        return await self._repo.tenants()

    async def keys(self, slug: str) -> list[StoredKey]:
        return await self._repo.keys((await self.tenant(slug)).tenant_id)

    async def put_issuer(self, slug: str, issuer: str, audience: str, public_key_pem: str) -> None:
        """Trust portal tokens signed by this issuer's key (EC P-256 or RSA >= 2048 bits)."""
        try:
            public_key = load_pem_public_key(public_key_pem.encode())
        except ValueError:
            raise InvalidInput("public_key_pem", "is not a PEM public key") from None
        usable = (
            isinstance(public_key, ec.EllipticCurvePublicKey)
            and public_key.curve.name == "secp256r1"
        ) or (isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048)
        if not usable:
            raise InvalidInput(
                "public_key_pem", "must be an EC P-256 (ES256) or RSA >= 2048 (RS256) key"
            )
        tenant = await self.tenant(slug)
        refuse_purged(tenant)
        record = TokenIssuer(
            check_text("issuer", issuer, 500, required=True, one_line=True),
            check_text("audience", audience, 500, required=True, one_line=True),
            public_key_pem,
        )
        await self._repo.put_issuer(tenant.tenant_id, record, self._clock())

    async def issuers(self, slug: str) -> list[TokenIssuer]:
        return await self._repo.issuers((await self.tenant(slug)).tenant_id)

    async def remove_issuer(self, slug: str, issuer: str) -> None:
        """Stop trusting its tokens (a compromised portal key): within the authenticator's
        cache time (5 s). Raises NotFound when the tenant has no such issuer."""
        tenant = await self.tenant(slug)
        if not await self._repo.remove_issuer(tenant.tenant_id, issuer, self._clock()):
            raise NotFound(f"tenant {slug!r} has no issuer {issuer!r}")


def _scope(name: str) -> Scope:
    try:
        return Scope(name)
    except ValueError:
        allowed = ", ".join(s.value for s in Scope)
        raise InvalidInput("scopes", f"unknown scope {name!r} (one of: {allowed})") from None
