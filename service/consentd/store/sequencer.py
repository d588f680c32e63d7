"""One integration pass of a tenant's queued audit rows: entries and feed positions, one order.

A pass is one short transaction as the runtime role inside the tenant: lock the tenant's audit
head (the only tenant-wide lock left on the write path, held for a handful of statements, never
by a writer), take up to `limit` queued rows in queue_id order (deleting them), chain them into
format-2 entries, give the consent events among them change-feed positions in the same order,
move both heads and the Merkle tree's compact range, sign checkpoints and tree heads every
`every` entries, commit. A row visible to a pass implies every earlier row of its subject is
visible (writers of one subject are serialised by store/consents.py's advisory lock), so the
log and the feed agree per subject and in total.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.app.ports import Integrated
from consentd.domain.audit import GENESIS, AuditEntry, CheckpointSigner, chained
from consentd.domain.merkle import Frontier
from consentd.store.audit_tree import leaves
from consentd.store.connections import connected, terminate_connections
from consentd.store.driver import Driver, driver_of
from consentd.store.uow import enter_tenant

_QUEUED_TENANTS = sa.text("SELECT t FROM consentd_queued_tenants() AS t")
# The next tenant of a transaction that integrates several (store/uow.py enter_tenant's setting).
_SWITCH = "SELECT set_config('consentd.tenant_id', $1, true)"

FEED_ACTIONS = ("consent.recorded", "consent.withdrawn")

_LOCK_HEAD = """
INSERT INTO audit_heads AS h (tenant_id, last_seq, last_hash, pruned_through)
VALUES ($1, 0, $2, 0)
ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq
RETURNING last_seq, last_hash, pruned_through, tree_frontier
"""
# The first `limit` visible rows are every visible row up to the last of them: one range of the
# primary key, found once. (`queue_id IN (SELECT ... LIMIT $2)` let the planner run the subquery
# again for each row: with statistics still saying the queue is empty — a backlog made in
# seconds, an import — a nested loop, 2,000 x 2,000 rows a pass, past the statement timeout,
# and the log and the feed stopped.)
_TAKE = """
DELETE FROM audit_queue WHERE tenant_id = $1 AND queue_id <= (
    SELECT max(queue_id) FROM (
        SELECT queue_id FROM audit_queue WHERE tenant_id = $1 ORDER BY queue_id LIMIT $2
    ) AS taken
)
RETURNING queue_id, action, recorded_at, subject_id, fact_id, payload::text AS payload
"""
_APPEND = """
WITH added AS (
    INSERT INTO audit_entries (
        tenant_id, seq, prev_hash, entry_hash, recorded_at, action, subject_id, payload,
        format, fact_id
    )
    SELECT $1, e.seq, e.prev_hash, e.entry_hash, e.recorded_at, e.action, e.subject_id,
        e.payload::jsonb, 2, e.fact_id
    FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::timestamptz[], $6::text[],
        $7::uuid[], $8::text[], $9::uuid[]) AS e(seq, prev_hash, entry_hash, recorded_at, action,
        subject_id, payload, fact_id)
), head AS (
    INSERT INTO consent_change_heads AS h (tenant_id, last_position)
    SELECT $1, cardinality($10::uuid[]) WHERE cardinality($10::uuid[]) > 0
    ON CONFLICT (tenant_id) DO UPDATE SET last_position = h.last_position + excluded.last_position
    RETURNING h.last_position - cardinality($10::uuid[]) AS base
), fed AS (
    INSERT INTO consent_changes (tenant_id, position, event_id)
    SELECT $1, head.base + f.ord, f.event_id
    FROM head CROSS JOIN unnest($10::uuid[]) WITH ORDINALITY AS f(event_id, ord)
)
UPDATE audit_heads SET last_seq = $11, last_hash = $12, tree_frontier = $13, root_hash = $14
WHERE tenant_id = $1
"""
_CHECKPOINT = """
INSERT INTO audit_checkpoints (tenant_id, seq, entry_hash, signed_at, key_id, signature)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
"""
_TREE_HEAD = """
INSERT INTO audit_tree_heads (tenant_id, tree_size, root_hash, signed_at, key_id, signature)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
"""


async def frontier_of(raw: Driver, tenant_id: UUID, head: Any) -> Frontier | None:
    """The tree's compact range as stored, or rebuilt from the entries (a head written before
    0009); None when pruned entries make that impossible."""
    size = int(head["last_seq"])
    if head["tree_frontier"] is not None or size == 0:
        return Frontier.of(size, head["tree_frontier"])
    if head["pruned_through"]:
        return None
    frontier = Frontier(0, [])
    for leaf in await leaves(raw, tenant_id, size):
        frontier.append(leaf)
    return frontier


class SqlSequencer:
    def __init__(self, engine: AsyncEngine, signer: CheckpointSigner, every: int) -> None:
        self._engine = engine
        self._signer = signer
        self._every = every

    async def queued_tenants(self) -> list[UUID]:
        """Tenants with queued rows, through a SECURITY DEFINER function (0009) that returns
        their ids and nothing else."""
        async with connected(self._engine) as conn:
            tenants = list((await conn.execute(_QUEUED_TENANTS)).scalars())
            await conn.rollback()
        return tenants

    async def close(self) -> None:
        await self._engine.dispose()

    def terminate(self) -> None:
        terminate_connections(self._engine)

    async def integrate(self, tenant_id: UUID, limit: int, now: datetime) -> Integrated:
        """One pass (see the module's docstring); Integrated(0, 0) when nothing was queued."""
        return (await self.integrate_many([tenant_id], limit, now))[tenant_id]

    async def integrate_many(
        self, tenants: Sequence[UUID], limit: int, now: datetime
    ) -> dict[UUID, Integrated]:
        """One pass of each tenant, in one transaction: one commit (one WAL flush) for the
        tenants of writes spread over many, where each wrote a few entries. The tenant is set
        before each pass's statements (row-level security reads it per statement); heads are
        locked in tenant id order, as every such transaction does, so two never wait on each
        other crosswise. Nothing is committed when a pass fails."""
        ordered = sorted(set(tenants))
        done: dict[UUID, Integrated] = {}
        async with connected(self._engine) as conn:
            await enter_tenant(conn, ordered[0])
            raw = await driver_of(conn)
            for tenant_id in ordered:
                if done:
                    await raw.execute(_SWITCH, str(tenant_id))
                done[tenant_id] = await self._pass(raw, tenant_id, limit, now)
            if any(d.entries for d in done.values()):
                await conn.commit()
            else:
                await conn.rollback()
        return done

    async def _pass(self, raw: Driver, tenant_id: UUID, limit: int, now: datetime) -> Integrated:
        head = await raw.fetchrow(_LOCK_HEAD, tenant_id, GENESIS)
        rows = sorted(await raw.fetch(_TAKE, tenant_id, limit), key=lambda r: r["queue_id"])
        if not rows:
            return Integrated(0, 0)
        return await self._append(raw, tenant_id, head, rows, now)

    async def _append(
        self, raw: Driver, tenant_id: UUID, head: Any, rows: list[Any], now: datetime
    ) -> Integrated:
        frontier = await frontier_of(raw, tenant_id, head)
        last_seq, last_hash = int(head["last_seq"]), bytes(head["last_hash"])
        entries: list[AuditEntry] = []
        for row in rows:
            # The payload was checked when it was queued (or built by the database): chained,
            # not chain(AuditRecord(...)), which checks it again.
            payload = orjson.loads(row["payload"])
            entry = chained(
                tenant_id, last_seq, last_hash, at=row["recorded_at"], action=row["action"],
                payload=payload, subject_id=row["subject_id"], fact_id=row["fact_id"],
            )  # fmt: skip
            entries.append(entry)
            last_seq, last_hash = entry.seq, entry.entry_hash
            if frontier is not None:
                frontier.append(entry.leaf_hash())
        fed = [e.fact_id for e in entries if e.action in FEED_ACTIONS and e.fact_id]
        await raw.execute(
            _APPEND,
            tenant_id,
            [e.seq for e in entries],
            [e.prev_hash for e in entries],
            [e.entry_hash for e in entries],
            [e.recorded_at for e in entries],
            [e.action for e in entries],
            [e.subject_id for e in entries],
            [row["payload"] for row in rows],  # as queued: the same jsonb value
            [e.fact_id for e in entries],
            fed,
            last_seq,
            last_hash,
            frontier.packed() if frontier else None,
            frontier.root() if frontier else None,
        )
        await self._sign(raw, tenant_id, entries, frontier, now)
        return Integrated(len(entries), len(fed))

    async def _sign(
        self,
        raw: Driver,
        tenant_id: UUID,
        entries: list[AuditEntry],
        frontier: Frontier | None,
        now: datetime,
    ) -> None:
        """A checkpoint at every multiple of `every`; a tree head when the pass crossed one."""
        if not self._every:
            return
        marks = [e for e in entries if e.seq % self._every == 0]
        for entry in marks:
            c = self._signer.sign(tenant_id, entry.seq, entry.entry_hash, entry.recorded_at)
            await raw.execute(
                _CHECKPOINT, tenant_id, c.seq, c.entry_hash, c.signed_at, c.key_id, c.signature
            )
        if marks and frontier is not None:
            h = self._signer.sign_tree(tenant_id, frontier.size, frontier.root(), now)
            await raw.execute(
                _TREE_HEAD, tenant_id, h.tree_size, h.root_hash, h.signed_at, h.key_id, h.signature
            )
