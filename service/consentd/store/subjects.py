"""Subjects and their identifiers (keyed hashes only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.ports import Digest
from consentd.domain.identifiers import IdentifierKind
from consentd.store.tables import consent_events, subject_identifiers, subject_keys, subjects


class SqlSubjects:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def owners(self, digests: Sequence[Digest]) -> dict[IdentifierKind, UUID]:
        if not digests:
            return {}
        t = subject_identifiers
        keys = [(kind.value, digest) for kind, digest in digests]
        rows = await self._conn.execute(
            sa.select(t.c.kind, t.c.subject_id).where(
                t.c.tenant_id == self._tenant, sa.tuple_(t.c.kind, t.c.digest).in_(keys)
            )
        )
        return {IdentifierKind(kind): subject_id for kind, subject_id in rows}

    async def exists(self, subject_id: UUID) -> bool:
        query = sa.select(subjects.c.subject_id).where(
            subjects.c.tenant_id == self._tenant, subjects.c.subject_id == subject_id
        )
        return (await self._conn.execute(query)).first() is not None

    async def create(self, subject_id: UUID, now: datetime) -> None:
        await self._conn.execute(
            subjects.insert().values(tenant_id=self._tenant, subject_id=subject_id, created_at=now)
        )

    async def delete_unreferenced(self, subject_id: UUID) -> None:
        referenced = sa.exists().where(
            consent_events.c.tenant_id == self._tenant, consent_events.c.subject_id == subject_id
        )
        linked = sa.exists().where(
            subject_identifiers.c.tenant_id == self._tenant,
            subject_identifiers.c.subject_id == subject_id,
        )
        orphan = sa.select(subjects.c.subject_id).where(
            subjects.c.tenant_id == self._tenant,
            subjects.c.subject_id == subject_id,
            ~referenced,
            ~linked,
        )
        await self._conn.execute(
            subject_keys.delete().where(
                subject_keys.c.tenant_id == self._tenant, subject_keys.c.subject_id.in_(orphan)
            )
        )
        await self._conn.execute(
            subjects.delete().where(
                subjects.c.tenant_id == self._tenant, subjects.c.subject_id.in_(orphan)
            )
        )

    async def attach(
        self, subject_id: UUID, digest: Digest, now: datetime, sealed: bytes | None = None
    ) -> UUID:
        kind, value = digest
        t = subject_identifiers
        inserted = await self._conn.execute(
            insert(t)
            .values(
                tenant_id=self._tenant,
                kind=kind.value,
                digest=value,
                subject_id=subject_id,
                created_at=now,
                sealed_value=sealed,
            )
            .on_conflict_do_nothing()
            .returning(t.c.subject_id)
        )
        owner: UUID | None = inserted.scalar_one_or_none()
        if owner is not None:
            return owner
        # The identifier was linked already (maybe by a transaction that just committed).
        existing = await self._conn.execute(
            sa.select(t.c.subject_id).where(
                t.c.tenant_id == self._tenant, t.c.kind == kind.value, t.c.digest == value
            )
        )
        linked: UUID = existing.scalar_one()
        return linked
