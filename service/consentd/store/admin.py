"""Tenant and credential administration, on the owner's connection (never the runtime role's)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.domain.audit import Action, AuditRecord
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.canonical import stamp
from consentd.domain.tenancy import StoredKey, Tenant, TokenIssuer
from consentd.store.audit import SqlAudit
from consentd.store.callers import REVOKED_PERSON, key_of, tenant_of
from consentd.store.driver import driver_of
from consentd.store.tables import (
    api_keys,
    preference_link_revocations,
    tenant_retention,
    tenants,
    token_issuers,
)
from consentd.store.uow import enter_tenant, set_tenant


async def queue_now(
    conn: AsyncConnection,
    tenant_id: UUID,
    record: AuditRecord,
    signer: CheckpointSigner | None = None,
    every: int = 0,
) -> None:
    """`record` queued in `conn`'s transaction: an administrative change audited with it."""
    audit = SqlAudit(conn, await driver_of(conn), tenant_id, signer, every)
    audit.record(record)
    await audit.flush()


class SqlAdmin:
    """Each change is audited in its own transaction: the tenant's chain gets an entry (never a
    secret: key ids, scopes and names only) committed together with the change."""

    def __init__(
        self, engine: AsyncEngine, signer: CheckpointSigner | None = None, every: int = 0
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._every = every

    async def _audit(self, conn: AsyncConnection, tenant_id: UUID, record: AuditRecord) -> None:
        await queue_now(conn, tenant_id, record, self._signer, self._every)

    async def tenant_by_slug(self, slug: str) -> Tenant | None:
        """Across tenants: the `owner_lookup` policy allows it to the owner, not to the runtime."""
        async with self._engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(tenants).where(tenants.c.slug == slug)))
                .mappings()
                .first()
            )
            return await _with_purged(conn, tenant_of(row)) if row else None

    async def tenants(self) -> list[Tenant]:
        """Every tenant, by slug (the `owner_lookup` policy again): the purge loops over them."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(tenants).order_by(tenants.c.slug))).mappings()
            return [await _with_purged(conn, tenant_of(row)) for row in rows.all()]

    async def create_tenant(self, tenant: Tenant, now: datetime) -> Tenant:
        async with self._engine.connect() as conn:
            await enter_tenant(conn, tenant.tenant_id)
            created = await conn.execute(
                insert(tenants)
                .values(
                    tenant_id=tenant.tenant_id,
                    slug=tenant.slug,
                    name=tenant.name,
                    processing_role=tenant.processing_role.value,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["slug"])
                .returning(tenants.c.tenant_id)
            )
            if created.first() is not None:  # the tenant's first audit entry, same transaction
                payload = {"slug": tenant.slug, "processing_role": tenant.processing_role.value}
                record = AuditRecord(Action.TENANT_CREATED, now, payload)
                await self._audit(conn, tenant.tenant_id, record)
            await conn.commit()
        found = await self.tenant_by_slug(tenant.slug)
        assert found is not None  # inserted, or there already; tenants are never deleted
        return found

    async def rename_tenant(self, tenant_id: UUID, name: str, now: datetime) -> bool:
        """Set the name its messages and pages show; False when it was that already."""
        async with self._in_tenant(tenant_id) as conn:
            renamed = await conn.execute(
                sa.update(tenants)
                .where(tenants.c.tenant_id == tenant_id, tenants.c.name != name)
                .values(name=name)
            )
            if not renamed.rowcount:
                return False
            record = AuditRecord(Action.TENANT_RENAMED, now, {"name": name})
            await self._audit(conn, tenant_id, record)
        return True

    async def set_rights_desk(self, tenant_id: UUID, address: str | None, now: datetime) -> bool:
        """Set (None: remove) the address mailed the rights requests' digest; False when it
        was that already. Audited with the address's digest, never the address."""
        async with self._in_tenant(tenant_id) as conn:
            changed = await conn.execute(
                sa.update(tenants)
                .where(
                    tenants.c.tenant_id == tenant_id,
                    tenants.c.rights_desk.is_distinct_from(address),
                )
                # The first digest at the next 08:00, as every other (not at once, whatever
                # the hour: probe RA).
                .values(rights_desk=address, rights_digest_at=now)
            )
            if not changed.rowcount:
                return False
            digest = hashlib.sha256(address.encode()).hexdigest() if address else None
            record = AuditRecord(Action.RIGHTS_DESK_SET, now, {"address_sha256": digest})
            await self._audit(conn, tenant_id, record)
        return True

    async def revoke_links(
        self, tenant_id: UUID, caller: str, subject_id: UUID | None, now: datetime
    ) -> None:
        """Refuse the links naming the identifier whose links' caller name is `caller`, and
        those of its holder `subject_id` by any identifier, made until `now` (audited)."""
        r = preference_link_revocations
        callers = [caller, *([f"{REVOKED_PERSON}{subject_id}"] if subject_id else [])]
        async with self._in_tenant(tenant_id) as conn:
            rows = [{"tenant_id": tenant_id, "caller": c, "revoked_at": now} for c in callers]
            await conn.execute(
                insert(r)
                .values(rows)
                .on_conflict_do_update(
                    index_elements=[r.c.tenant_id, r.c.caller],
                    set_={"revoked_at": sa.func.greatest(r.c.revoked_at, now)},
                )
            )
            payload = {"callers": callers}
            record = AuditRecord("preference_link.revoked", now, payload, subject_id=subject_id)
            await self._audit(conn, tenant_id, record)

    async def rights_desk(self, tenant_id: UUID) -> str | None:
        query = sa.select(tenants.c.rights_desk).where(tenants.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def insert_key(self, tenant_id: UUID, key: StoredKey) -> None:
        async with self._in_tenant(tenant_id) as conn:
            await conn.execute(
                api_keys.insert().values(
                    tenant_id=tenant_id,
                    key_id=key.key_id,
                    secret_sha256=key.secret_sha256,
                    name=key.name,
                    scopes=sorted(s.value for s in key.scopes),
                    created_at=key.created_at,
                    expires_at=key.expires_at,
                )
            )
            payload = {
                "key_id": key.key_id,
                "name": key.name,
                "scopes": sorted(s.value for s in key.scopes),
                "expires_at": stamp(key.expires_at) if key.expires_at else None,
            }
            record = AuditRecord(Action.KEY_ISSUED, key.created_at, payload)
            await self._audit(conn, tenant_id, record)

    async def revoke_key(self, tenant_id: UUID, key_id: str, now: datetime) -> bool:
        async with self._in_tenant(tenant_id) as conn:
            done = await conn.execute(
                api_keys.update()
                .where(
                    api_keys.c.tenant_id == tenant_id,
                    api_keys.c.key_id == key_id,
                    api_keys.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            if done.rowcount:
                record = AuditRecord(Action.KEY_REVOKED, now, {"key_id": key_id})
                await self._audit(conn, tenant_id, record)
        return bool(done.rowcount)

    async def keys(self, tenant_id: UUID) -> list[StoredKey]:
        query = (
            sa.select(api_keys)
            .where(api_keys.c.tenant_id == tenant_id)
            .order_by(api_keys.c.created_at)
        )
        async with self._in_tenant(tenant_id) as conn:
            return [key_of(m) for m in (await conn.execute(query)).mappings()]

    async def put_issuer(self, tenant_id: UUID, issuer: TokenIssuer, now: datetime) -> None:
        stmt = insert(token_issuers).values(
            tenant_id=tenant_id,
            issuer=issuer.issuer,
            audience=issuer.audience,
            public_key_pem=issuer.public_key_pem,
            created_at=now,
        )
        async with self._in_tenant(tenant_id) as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["tenant_id", "issuer"],
                    set_={
                        "audience": stmt.excluded.audience,
                        "public_key_pem": stmt.excluded.public_key_pem,
                    },
                )
            )
            payload = {"issuer": issuer.issuer, "audience": issuer.audience}
            await self._audit(conn, tenant_id, AuditRecord(Action.ISSUER_PUT, now, payload))

    async def issuers(self, tenant_id: UUID) -> list[TokenIssuer]:
        t = token_issuers
        query = sa.select(t.c.issuer, t.c.audience, t.c.public_key_pem).order_by(t.c.issuer)
        async with self._in_tenant(tenant_id) as conn:
            rows = (await conn.execute(query.where(t.c.tenant_id == tenant_id))).mappings()
            return [TokenIssuer(r["issuer"], r["audience"], r["public_key_pem"]) for r in rows]

    async def remove_issuer(self, tenant_id: UUID, issuer: str, now: datetime) -> bool:
        t = token_issuers
        async with self._in_tenant(tenant_id) as conn:
            gone = await conn.execute(
                sa.delete(t).where(t.c.tenant_id == tenant_id, t.c.issuer == issuer)
            )
            if not gone.rowcount:
                return False
            record = AuditRecord(Action.ISSUER_REMOVED, now, {"issuer": issuer})
            await self._audit(conn, tenant_id, record)
        return True

    def _in_tenant(self, tenant_id: UUID) -> _TenantTransaction:
        return _TenantTransaction(self._engine, tenant_id)


class _TenantTransaction:
    """`async with`: a committed transaction inside one tenant on the owner's connection."""

    def __init__(self, engine: AsyncEngine, tenant_id: UUID) -> None:
        self._engine = engine
        self._tenant = tenant_id
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        self._conn = await self._engine.connect()
        await enter_tenant(self._conn, self._tenant)
        return self._conn

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._conn is not None
        try:
            if exc_type is None:
                await self._conn.commit()
            else:
                await self._conn.rollback()
        finally:
            await self._conn.close()


async def _with_purged(conn: AsyncConnection, tenant: Tenant) -> Tenant:
    """The tenant with whether it was purged, read inside it (its retention row is under
    row-level security, even for the owner)."""
    await set_tenant(conn, tenant.tenant_id)
    query = sa.select(tenant_retention.c.purged_at).where(
        tenant_retention.c.tenant_id == tenant.tenant_id
    )
    purged = (await conn.execute(query)).scalar_one_or_none() is not None
    return replace(tenant, purged=purged)
