"""Who is calling: the tenant and the caller acting inside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from consentd.domain.model import ProcessingRole


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: UUID
    slug: str
    name: str
    processing_role: ProcessingRole


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller. Every use case acts inside `tenant` and nowhere else."""

    tenant: Tenant
    caller: str
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def tenant_id(self) -> UUID:
        return self.tenant.tenant_id
