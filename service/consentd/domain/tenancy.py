"""Who is calling: the tenant and the caller acting inside it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from consentd.domain.identifiers import Identifier
from consentd.domain.model import ProcessingRole


def tenant_id_of(text: object) -> UUID | None:
    """The tenant id `text` spells in its one spelling, lower case and hyphenated (a URL's, a
    token's claim); None for anything else (upper case, braces, `urn:uuid:`, no dashes made
    several spellings of one id: probes AN, BK, IE)."""
    if not isinstance(text, str):
        return None
    try:
        tenant_id = UUID(text)
    except ValueError:
        return None
    return tenant_id if str(tenant_id) == text else None


class Scope(enum.StrEnum):
    """What a caller may do. Each RPC requires one of a few scopes; no scope, no access."""

    CHECK = "consent:check"  # marketing tools: checks, bulk checks, feeds
    WRITE = "consent:write"  # systems that record and withdraw consent
    COOKIES = "cookies:write"  # web frontends: cookie choices only
    SELF = "subject:self"  # the portal acting for one person (signed token)
    ADMIN = "admin"  # the tenant's operators: catalogue, rights, audit
    # A support desk taking a person's rights by phone: files their requests, checks who they
    # are, records their objection or restriction at once, reads the requests' state; never
    # erases, exports nor decides a request (admin's), nor changes the catalogue.
    SUPPORT = "rights:support"
    # With consent:write: the key speaks for the person (a portal backend, a support desk that
    # identified the caller), so its grants in person (PORTAL, BANNER, SUPPORT) may lift the
    # person's objection or take back a contact point closed to systems (app/standing.py).
    ATTEST = "consent:attest"


# The scopes of callers that speak for the person (Principal.vouches).
VOUCHING = frozenset({Scope.ATTEST, Scope.ADMIN, Scope.SELF})


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: UUID
    slug: str
    name: str
    processing_role: ProcessingRole
    # Its data was purged (its contract ended), or is being: its callers are refused.
    purged: bool = False


# What a purged tenant's caller is told (the credential refused, a unit of work refused).
PURGED_MESSAGE = "this tenant's data was purged (its contract ended); nothing more is kept"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. Every use case acts inside `tenant` and nowhere else."""

    tenant: Tenant
    caller: str
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    # Set for a portal token: the one person this caller may act for.
    subject: Identifier | None = None

    @property
    def tenant_id(self) -> UUID:
        return self.tenant.tenant_id

    @property
    def vouches(self) -> bool:
        """Whether the caller speaks for the person, so its grants in person (PORTAL, BANNER,
        SUPPORT) are the person's (app/standing.py): any consent:write key could say
        SOURCE_PORTAL, and a CRM sync's key saying so lifted objections and brought erased
        people back (probe X). A tenant gives consent:attest to its portal backend only."""
        return bool(self.scopes & VOUCHING)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An API key as stored: its public id, scopes and the SHA-256 of its secret."""

    key_id: str
    name: str
    scopes: frozenset[Scope]
    secret_sha256: bytes
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    """Who may sign portal tokens for a tenant, for which audience, with which public key."""

    issuer: str
    audience: str
    public_key_pem: str
