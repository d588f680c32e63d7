"""Subjects and their identifiers (keyed hashes only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.ports import Digest, NewSubject
from consentd.domain.identifiers import IdentifierKind
from consentd.store.driver import Driver
from consentd.store.tables import consent_events, subject_identifiers, subject_keys, subjects

# Every write looks subjects up and links identifiers: plain statements through the driver
# (prepared once per connection) rather than Core statements built and compiled per call.
# With each owner's data key: a batch of writes to known subjects needs every key, and a
# look-up per subject was a round trip per call inside the batch's transaction.
# One look-up per contact point asked (LIMIT 1: each is a primary key; the limit keeps the
# planner from merging the subqueries into a join), and one key per subject found. As a join, a
# tenant the planner's statistics do not know yet ("one row": a new tenant grown by an import
# stopped mid-way, or by a sync, before autovacuum's analyze) was planned as all its identifiers
# times all its keys: every call naming a person by e-mail outlived the statement timeout
# (probe RB). Whatever the statistics, this stays one pass per contact point at worst.
_OWNERS = """
SELECT p.kind, p.digest, i.subject_id, k.wrapped_key
FROM (SELECT DISTINCT * FROM unnest($2::text[], $3::bytea[])) AS p(kind, digest)
CROSS JOIN LATERAL (
    SELECT s.subject_id FROM subject_identifiers s
    WHERE s.tenant_id = $1 AND s.kind = p.kind AND s.digest = p.digest LIMIT 1
) AS i
LEFT JOIN LATERAL (
    SELECT w.wrapped_key FROM subject_keys w
    WHERE w.tenant_id = $1 AND w.subject_id = i.subject_id LIMIT 1
) AS k ON true
"""
# Per (tenant, kind, digest), in one order (app/subjects.py: writers linking several new contact
# points to new subjects split them between their subjects, probe DV).
# The grouped path's batches take them too, for the subjects they make with several contact
# points (store/write_batch.py): one tenant per contact point ($1).
LOCK_POINTS = """
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT ('x' || substr(md5(t::text || kind || encode(digest, 'hex')), 1, 16))
    ::bit(64)::bigint AS k FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS p(t, kind, digest))
    AS keys
ORDER BY k
"""
_CREATE = "INSERT INTO subjects (tenant_id, subject_id, created_at) VALUES ($1, $2, $3)"
# Linking an identifier opens its holding (store/tables/subjects.py) in the same statement.
_ATTACH = """
WITH linked AS (
    INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, created_at, sealed_value)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
    RETURNING tenant_id, kind, digest, subject_id, created_at
), held AS (
    INSERT INTO contact_point_holdings (tenant_id, holding_id, kind, digest, subject_id, held_from)
    SELECT tenant_id, gen_random_uuid(), kind, digest, subject_id, created_at FROM linked
)
SELECT subject_id FROM linked
"""
# New subjects (the one-call path, app/subjects.py; imports, store/importing.py; write batches
# run the same statement inside migration 0018's consentd_batch_writes): the subjects, their
# keys, their identifiers and the identifiers' holdings in one statement (foreign keys are
# checked at its end); the identifiers linked, those another writer linked first left.
CREATE_LINKED = """
WITH made AS (
    INSERT INTO subjects (tenant_id, subject_id, created_at)
    SELECT $1, s, $2 FROM unnest($3::uuid[]) AS s
), keyed AS (
    INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at)
    SELECT $1, k.s, k.w, $2 FROM unnest($3::uuid[], $4::bytea[]) AS k(s, w)
), linked AS (
    INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, created_at, sealed_value)
    SELECT $1, i.kind, i.digest, i.s, $2, i.sealed
    FROM unnest($5::text[], $6::bytea[], $7::uuid[], $8::bytea[]) AS i(kind, digest, s, sealed)
    ON CONFLICT DO NOTHING
    RETURNING tenant_id, kind, digest, subject_id, created_at
), held AS (
    INSERT INTO contact_point_holdings (tenant_id, holding_id, kind, digest, subject_id, held_from)
    SELECT tenant_id, gen_random_uuid(), kind, digest, subject_id, created_at FROM linked
)
SELECT kind, digest, subject_id FROM linked
"""
_OWNER = (
    "SELECT subject_id FROM subject_identifiers WHERE tenant_id = $1 AND kind = $2 AND digest = $3"
)


class SqlSubjects:
    def __init__(
        self, conn: AsyncConnection, raw: Driver, tenant_id: UUID, keys: dict[UUID, bytes]
    ) -> None:
        self._conn = conn
        self._raw = raw
        self._tenant = tenant_id
        self._keys = keys  # the data keys known in this transaction (SqlRights reads them)

    async def owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]:
        if not digests:
            return {}
        kinds = [kind.value for kind, _ in digests]
        values = [digest for _, digest in digests]
        rows = await self._raw.fetch(_OWNERS, self._tenant, kinds, values)
        for row in rows:  # their data keys, for this transaction (SqlRights reads them)
            if row["wrapped_key"] is not None:
                self._keys.setdefault(row["subject_id"], bytes(row["wrapped_key"]))
        return {(IdentifierKind(r["kind"]), r["digest"]): r["subject_id"] for r in rows}

    async def exists(self, subject_id: UUID) -> bool:
        query = sa.select(subjects.c.subject_id).where(
            subjects.c.tenant_id == self._tenant, subjects.c.subject_id == subject_id
        )
        return (await self._conn.execute(query)).first() is not None

    async def heard_from(self, subject_id: UUID, now: datetime) -> None:
        heard = sa.func.greatest(subjects.c.last_heard_at, now)  # NULLs ignored
        await self._conn.execute(
            subjects.update()
            .where(subjects.c.tenant_id == self._tenant, subjects.c.subject_id == subject_id)
            .values(last_heard_at=heard)
        )

    async def create(self, subject_id: UUID, now: datetime) -> None:
        await self._raw.execute(_CREATE, self._tenant, subject_id, now)

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
        self._keys.pop(subject_id, None)
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

    async def create_many(self, created: Sequence[NewSubject], now: datetime) -> int:
        if not created:
            return 0
        # In one order (the digests'): two batches linking the same new identifiers wait for each
        # other in that order, never crosswise (a deadlock).
        links = sorted((d, sealed, s.subject_id) for s in created for d, sealed in s.identifiers)
        rows = await self._raw.fetch(
            CREATE_LINKED,
            self._tenant,
            now,
            [s.subject_id for s in created],
            [s.wrapped_key for s in created],
            [kind.value for (kind, _), _, _ in links],
            [digest for (_, digest), _, _ in links],
            [subject_id for _, _, subject_id in links],
            [sealed for _, sealed, _ in links],
        )
        self._keys.update((s.subject_id, s.wrapped_key) for s in created)
        return len(rows)

    async def lock_points(self, digests: Sequence[Digest]) -> None:
        kinds = [kind.value for kind, _ in digests]
        tenants = [self._tenant] * len(digests)
        await self._raw.execute(LOCK_POINTS, tenants, kinds, [d for _, d in digests])

    async def attach(
        self, subject_id: UUID, digest: Digest, now: datetime, sealed: bytes | None = None
    ) -> UUID:
        kind, value = digest
        owner = await self._raw.fetchrow(
            _ATTACH, self._tenant, kind.value, value, subject_id, now, sealed
        )
        if owner is not None:
            return UUID(str(owner["subject_id"]))
        # The identifier was linked already (maybe by a transaction that just committed).
        linked = await self._raw.fetchrow(_OWNER, self._tenant, kind.value, value)
        return UUID(str(linked["subject_id"]))
