"""Who is calling. Credentials arrive as gRPC metadata; the result is a Principal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from consentd.app.ports import TenantRepository
from consentd.domain.errors import Unauthenticated
from consentd.domain.tenancy import Principal, Tenant

TENANT_HEADER = "x-consentd-tenant"
ALL_SCOPES = frozenset({"consent:check", "consent:write", "cookies:write", "admin"})


class Authenticator(Protocol):
    async def authenticate(self, metadata: Mapping[str, str]) -> Principal:
        """The caller, or Unauthenticated."""
        ...


class TenantHeaderAuthenticator:
    """Local-development authentication: the tenant named by slug in `x-consentd-tenant`, or the
    default tenant, with every scope. TODO(#4): API keys and signed portal tokens replace it."""

    def __init__(self, tenants: TenantRepository, default_slug: str) -> None:
        self._tenants = tenants
        self._default = default_slug
        self._known: dict[str, Tenant] = {}

    async def authenticate(self, metadata: Mapping[str, str]) -> Principal:
        slug = metadata.get(TENANT_HEADER) or self._default
        tenant = self._known.get(slug)
        if tenant is None:
            tenant = await self._tenants.by_slug(slug)
            if tenant is None:
                raise Unauthenticated()
            self._known[slug] = tenant
        return Principal(tenant=tenant, caller=f"dev:{slug}", scopes=ALL_SCOPES)
