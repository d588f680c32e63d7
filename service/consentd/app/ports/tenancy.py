"""Ports of tenants and callers: keys, issuers, administration and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from consentd.app.idempotency import IdempotencyKey
from consentd.domain.tenancy import StoredKey, Tenant, TokenIssuer


class CallerDirectory(Protocol):
    """Credentials, read inside the tenant the credential claims (row-level security holds)."""

    async def api_key(self, tenant_id: UUID, key_id: str) -> tuple[Tenant, StoredKey] | None: ...

    async def issuer(self, tenant_id: UUID, issuer: str) -> tuple[Tenant, TokenIssuer] | None: ...


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

    async def insert_key(self, tenant_id: UUID, key: StoredKey) -> None: ...

    async def revoke_key(self, tenant_id: UUID, key_id: str, now: datetime) -> bool:
        """True when a live key was revoked."""
        ...

    async def keys(self, tenant_id: UUID) -> list[StoredKey]: ...

    async def put_issuer(self, tenant_id: UUID, issuer: TokenIssuer, now: datetime) -> None: ...


class IdempotencyRepository(Protocol):
    """Idempotency keys, inside a unit of work's transaction (app/idempotency.py)."""

    async def claim(self, key: IdempotencyKey) -> None:
        """Take the key for this transaction, waiting while a concurrent call holds it. Raises
        Replayed with the stored answer when its write is done, InvalidInput when the key was
        used with another request."""
        ...

    async def complete(self, key: IdempotencyKey, response: bytes) -> None:
        """Store the answer under the claimed key (committed with the write)."""
        ...

    async def release(self, key: IdempotencyKey) -> None:
        """Give the claimed key up (committed with the transaction): it stays unused."""
        ...
