"""Credentials as the authenticator reads them: inside the tenant a credential claims."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Scope, StoredKey, Tenant, TokenIssuer
from consentd.store.connections import connected
from consentd.store.tables import (
    api_keys,
    contact_point_holdings,
    preference_link_revocations,
    subject_identifiers,
    tenant_retention,
    tenants,
    token_issuers,
)
from consentd.store.uow import enter_tenant

# A revocation of every preference link of one person (`subject:<subject id>`, migration 0060),
# beside those of one identifier (its links' caller name, `link:<keyed digest>`).
REVOKED_PERSON = "subject:"


def tenant_of(m: sa.RowMapping) -> Tenant:
    role = ProcessingRole(m["processing_role"])
    return Tenant(m["tenant_id"], m["slug"], m["name"], role, bool(m.get("purged")))


# Whether the tenant was purged (or is being), read inside the tenant (row-level security).
_PURGED = tenant_retention.c.purged_at.is_not(None).label("purged")


def _with_purge(query: sa.Select[tuple[object, ...]]) -> sa.Select[tuple[object, ...]]:
    return query.add_columns(_PURGED).outerjoin(
        tenant_retention, tenant_retention.c.tenant_id == tenants.c.tenant_id
    )


def key_of(m: sa.RowMapping) -> StoredKey:
    return StoredKey(
        key_id=m["key_id"],
        name=m["name"],
        scopes=frozenset(Scope(s) for s in m["scopes"]),
        secret_sha256=m["secret_sha256"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


class SqlCallerDirectory:
    """Each look-up runs in its own transaction with the claimed tenant set, so row-level
    security answers: a credential naming another tenant finds nothing."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def api_key(self, tenant_id: UUID, key_id: str) -> tuple[Tenant, StoredKey] | None:
        query = _with_purge(
            sa.select(tenants, *[c for c in api_keys.c if c.name != "tenant_id"])
            .join(api_keys, api_keys.c.tenant_id == tenants.c.tenant_id)
            .where(api_keys.c.tenant_id == tenant_id, api_keys.c.key_id == key_id)
        )
        row = await self._one(tenant_id, query)
        return (tenant_of(row), key_of(row)) if row else None

    async def issuer(self, tenant_id: UUID, issuer: str) -> tuple[Tenant, TokenIssuer] | None:
        t = token_issuers
        query = _with_purge(
            sa.select(tenants, t.c.issuer, t.c.audience, t.c.public_key_pem)
            .join(t, t.c.tenant_id == tenants.c.tenant_id)
            .where(t.c.tenant_id == tenant_id, t.c.issuer == issuer)
        )
        row = await self._one(tenant_id, query)
        if row is None:
            return None
        return tenant_of(row), TokenIssuer(row["issuer"], row["audience"], row["public_key_pem"])

    async def tenant(self, tenant_id: UUID) -> Tenant | None:
        query = _with_purge(sa.select(tenants).where(tenants.c.tenant_id == tenant_id))
        row = await self._one(tenant_id, query)
        return tenant_of(row) if row else None

    async def link_holder(
        self, tenant_id: UUID, caller: str, kind: str, digest: bytes
    ) -> tuple[Tenant, datetime | None] | None:
        r, i = preference_link_revocations, subject_identifiers
        holder = sa.select(i.c.subject_id).where(
            i.c.tenant_id == tenant_id, i.c.kind == kind, i.c.digest == digest
        )
        person = sa.literal(REVOKED_PERSON) + sa.cast(holder.scalar_subquery(), sa.Text)
        revoked = sa.select(sa.func.max(r.c.revoked_at)).where(
            r.c.tenant_id == tenant_id, r.c.caller.in_([sa.literal(caller), person])
        )
        # Once another holds the contact point, a holding of it that ended (an erasure, a
        # rectification away) revokes the links made before: one mailed before an erasure
        # acted for whoever held the address next (probe TC).
        h = contact_point_holdings
        point = (h.c.tenant_id == tenant_id, h.c.kind == kind, h.c.digest == digest)
        now_held = sa.select(h.c.subject_id).where(*point, h.c.held_until.is_(None))
        # Another's holding that ended: the same person's (rectified away and back) is none.
        passed_on = (
            sa.select(sa.func.max(h.c.held_until))
            .where(*point, h.c.subject_id != now_held.scalar_subquery())
            .scalar_subquery()
        )
        revoked = sa.select(sa.func.greatest(revoked.scalar_subquery(), passed_on))
        query = _with_purge(sa.select(tenants).where(tenants.c.tenant_id == tenant_id))
        row = await self._one(tenant_id, query.add_columns(revoked.label("revoked_at")))
        return (tenant_of(row), row["revoked_at"]) if row else None

    async def key_ids(self, tenant_id: UUID) -> frozenset[str]:
        async with connected(self._engine) as conn:
            await enter_tenant(conn, tenant_id)
            query = sa.select(api_keys.c.key_id).where(api_keys.c.tenant_id == tenant_id)
            ids = frozenset((await conn.execute(query)).scalars())
            await conn.rollback()
        return ids

    async def tenant_ids(self) -> frozenset[UUID]:
        async with connected(self._engine) as conn:
            found = await conn.execute(sa.text("SELECT t FROM consentd_tenant_ids() AS t"))
            ids = frozenset(found.scalars())
            await conn.rollback()
        return ids

    async def _one(
        self, tenant_id: UUID, query: sa.Select[tuple[object, ...]]
    ) -> sa.RowMapping | None:
        # A look-up cancelled (its caller gone) or timed out drops its connection at once:
        # SQLAlchemy's own close waited up to 2 s on a frozen database, and the call's
        # CANCELLED line came that late, its duration with it (probe IF).
        async with connected(self._engine) as conn:
            await enter_tenant(conn, tenant_id)
            row = (await conn.execute(query)).mappings().first()
            await conn.rollback()
        return row
