"""Ports of tenants and callers: keys, issuers and administration. (Idempotency keys are the
unit of work's own: app/idempotency.py.)"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from consentd.domain.tenancy import StoredKey, Tenant, TokenIssuer


class CallerDirectory(Protocol):
    """Credentials, read inside the tenant the credential claims (row-level security holds)."""

    async def api_key(self, tenant_id: UUID, key_id: str) -> tuple[Tenant, StoredKey] | None: ...

    async def issuer(self, tenant_id: UUID, issuer: str) -> tuple[Tenant, TokenIssuer] | None: ...

    async def tenant(self, tenant_id: UUID) -> Tenant | None:
        """The tenant of this id (purged marked), read inside it; None for none."""
        ...

    async def link_holder(
        self, tenant_id: UUID, caller: str, kind: str, digest: bytes
    ) -> tuple[Tenant, datetime | None] | None:
        """The tenant (purged marked) and when links of the identifier named `caller` (keyed
        `digest` of its `kind`), or of the person holding it, were last revoked (None: never),
        read inside it; None for no tenant."""
        ...

    async def key_ids(self, tenant_id: UUID) -> frozenset[str]:
        """The ids of the tenant's API keys (revoked and expired ones too)."""
        ...

    async def tenant_ids(self) -> frozenset[UUID]:
        """The ids of every tenant (migration 0025), and nothing else of them."""
        ...


class TenantDirectory(Protocol):
    async def tenant(self, tenant_id: UUID) -> Tenant | None:
        """The tenant of this id (purged marked), read inside it; None for none."""
        ...


class TenantList(Protocol):
    async def tenants(self) -> list[Tenant]:
        """Every tenant, across tenants (the owner's lookup: the runtime role sees only the
        tenant it is in): jobs that span tenants loop over them, one unit of work each."""
        ...


class AdminRepository(Protocol):
    """Tenant and credential management; runs with the owner's connection (CLI, provisioning)."""

    async def tenant_by_slug(self, slug: str) -> Tenant | None: ...

    async def tenants(self) -> list[Tenant]: ...

    async def create_tenant(self, tenant: Tenant, now: datetime) -> Tenant:
        """Create the tenant, or return the existing one with that slug."""
        ...

    async def rename_tenant(self, tenant_id: UUID, name: str, now: datetime) -> bool:
        """Set its name; False when it had that name already."""
        ...

    async def set_rights_desk(self, tenant_id: UUID, address: str | None, now: datetime) -> bool:
        """Set (None: remove) its rights desk's address; False when it was that already."""
        ...

    async def rights_desk(self, tenant_id: UUID) -> str | None: ...

    async def revoke_links(
        self, tenant_id: UUID, caller: str, subject_id: UUID | None, now: datetime
    ) -> None:
        """Refuse the preference links naming the identifier whose links' caller name is
        `caller`, and those of its holder `subject_id` (any identifier), made until `now`;
        audited on the subject."""
        ...

    async def insert_key(self, tenant_id: UUID, key: StoredKey) -> None: ...

    async def revoke_key(self, tenant_id: UUID, key_id: str, now: datetime) -> bool:
        """True when a live key was revoked."""
        ...

    async def keys(self, tenant_id: UUID) -> list[StoredKey]: ...

    async def put_issuer(self, tenant_id: UUID, issuer: TokenIssuer, now: datetime) -> None: ...

    async def issuers(self, tenant_id: UUID) -> list[TokenIssuer]: ...

    async def remove_issuer(self, tenant_id: UUID, issuer: str, now: datetime) -> bool:
        """Stop trusting it (audited); False when the tenant had no such issuer."""
        ...
