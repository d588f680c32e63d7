"""One integration pass of a tenant's queued audit rows: entries and feed positions, one order.

A pass is one short transaction as the runtime role inside the tenant: lock the tenant's audit
head (the only tenant-wide lock left on the write path, held for a handful of statements, never
by a writer), take up to `limit` queued rows in queue_id order (deleting them), chain them into
format-2 entries, give the consent events among them change-feed positions in the same order,
move both heads and the Merkle tree's compact range, sign checkpoints and tree heads every
`every` entries, commit. Several tenants' passes share one transaction, in two statements
(migration 0015's functions, which set each tenant before its statements). A row visible to
a pass implies every earlier row of its subject is visible (writers of one subject are
serialised by store/consents.py's advisory lock), so the log and the feed agree per subject and
in total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.app.ports import Integrated
from consentd.domain.audit import GENESIS, AuditEntry, chained
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.merkle import Frontier
from consentd.store.audit_tree import leaves
from consentd.store.connections import connected, terminate_connections
from consentd.store.driver import Driver, driver_of
from consentd.store.uow import enter_tenant

_QUEUED_TENANTS = sa.text("SELECT t FROM consentd_queued_tenants() AS t")
# The next tenant of a transaction that integrates several (store/uow.py enter_tenant's setting).
_SWITCH = "SELECT set_config('consentd.tenant_id', $1, true)"

# The entries that take a feed position, and the kind of change each is (migration 0028): a
# consent event, a block put in force, a restriction lifted.
FEED_ACTIONS = {
    "consent.recorded": "event",
    "consent.withdrawn": "event",
    "subject.restricted": "begun",
    "subject.objected": "begun",
    "subject.restriction_lifted": "lifted",
}

# Migration 0015's and 0028's functions: every tenant's head locked and queue taken, then every
# tenant's entries appended, feed positions given and heads moved, each with the tenant set first.
_TAKE = "SELECT * FROM consentd_take_queued($1, $2, $3)"
_APPEND = (
    "SELECT consentd_append_integrated("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
)
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
        # Never traced: polled several times a second, a trace of one span each however idle
        # (probe HF); the integration of what it finds is.
        with suppress_instrumentation():
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
        """One pass of each tenant, in one transaction of four round trips (begin, take,
        append, commit): one commit (one WAL flush) for the tenants of writes spread over many,
        where each wrote a few entries. Heads are locked in tenant id order, as every such
        transaction does, so two never wait on each other crosswise. Nothing is committed when
        a pass fails."""
        ordered = sorted(set(tenants))
        async with connected(self._engine) as conn:
            await enter_tenant(conn, ordered[0])
            raw = await driver_of(conn)
            taken = _by_tenant(await raw.fetch(_TAKE, ordered, limit, GENESIS))
            chains = [
                await self._chain(raw, tenant_id, head, rows)
                for tenant_id, (head, rows) in taken.items()
                if rows
            ]
            if chains:
                await raw.execute(_APPEND, *_columns(chains))
                for chain in chains:
                    await self._sign(raw, chain, now)
                await conn.commit()
            else:
                await conn.rollback()
        done = {c.tenant_id: Integrated(len(c.entries), len(c.fed)) for c in chains}
        return {tenant_id: done.get(tenant_id, Integrated(0, 0)) for tenant_id in ordered}

    async def _chain(self, raw: Driver, tenant_id: UUID, head: Any, rows: list[Any]) -> _Chain:
        """The tenant's queued rows chained after its head, and its tree's new compact range."""
        if head["tree_frontier"] is None and head["last_seq"]:
            await raw.execute(_SWITCH, str(tenant_id))  # a head from before 0009: read leaves
        frontier = await frontier_of(raw, tenant_id, head)
        last_seq, last_hash = int(head["last_seq"]), bytes(head["last_hash"])
        chain = _Chain(tenant_id, frontier)
        for row in rows:
            # The payload was checked when it was queued (or built by the database): chained,
            # not chain(AuditRecord(...)), which checks it again.
            entry = chained(
                tenant_id, last_seq, last_hash, at=row["o_recorded_at"], action=row["o_action"],
                payload=orjson.loads(row["o_payload"]), subject_id=row["o_subject_id"],
                fact_id=row["o_fact_id"],
            )  # fmt: skip
            chain.entries.append(entry)
            chain.payloads.append(row["o_payload"])  # as queued: the same jsonb value
            last_seq, last_hash = entry.seq, entry.entry_hash
            if frontier is not None:
                frontier.append(entry.leaf_hash())
            kind = FEED_ACTIONS.get(entry.action)
            if kind is not None and entry.fact_id:
                chain.fed.append((entry.fact_id, kind))
        return chain

    async def _sign(self, raw: Driver, chain: _Chain, now: datetime) -> None:
        """A checkpoint at every multiple of `every`; a tree head when the pass crossed one."""
        marks = [e for e in chain.entries if self._every and e.seq % self._every == 0]
        if not marks:
            return
        tenant_id, frontier = chain.tenant_id, chain.frontier
        await raw.execute(_SWITCH, str(tenant_id))
        for entry in marks:
            c = self._signer.sign(tenant_id, entry.seq, entry.entry_hash, entry.recorded_at)
            await raw.execute(
                _CHECKPOINT, tenant_id, c.seq, c.entry_hash, c.signed_at, c.key_id, c.signature
            )
        if frontier is not None:
            h = self._signer.sign_tree(tenant_id, frontier.size, frontier.root(), now)
            await raw.execute(
                _TREE_HEAD, tenant_id, h.tree_size, h.root_hash, h.signed_at, h.key_id, h.signature
            )


@dataclass
class _Chain:
    """One tenant's part of a pass."""

    tenant_id: UUID
    frontier: Frontier | None
    entries: list[AuditEntry] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)
    fed: list[tuple[UUID, str]] = field(default_factory=list)  # each fact and its kind


def _by_tenant(rows: list[Any]) -> dict[UUID, tuple[Any, list[Any]]]:
    """consentd_take_queued's rows: each tenant's head row, then its queued rows."""
    taken: dict[UUID, tuple[Any, list[Any]]] = {}
    for row in rows:
        if row["o_queue_id"] is None:
            head = {
                "last_seq": row["o_last_seq"],
                "last_hash": row["o_last_hash"],
                "pruned_through": row["o_pruned_through"],
                "tree_frontier": row["o_tree_frontier"],
            }
            taken[row["o_tenant"]] = (head, [])
        else:
            taken[row["o_tenant"]][1].append(row)
    for _, queued in taken.values():
        queued.sort(key=lambda r: r["o_queue_id"])
    return taken


def _columns(chains: list[_Chain]) -> list[Any]:
    """consentd_append_integrated's arguments: the chains' entries end to end."""
    entries = [e for c in chains for e in c.entries]
    return [
        [c.tenant_id for c in chains],
        [len(c.entries) for c in chains],
        [e.seq for e in entries],
        [e.prev_hash for e in entries],
        [e.entry_hash for e in entries],
        [e.recorded_at for e in entries],
        [e.action for e in entries],
        [e.subject_id for e in entries],
        [p for c in chains for p in c.payloads],
        [e.fact_id for e in entries],
        [len(c.fed) for c in chains],
        [f for c in chains for f, _ in c.fed],
        [k for c in chains for _, k in c.fed],
        [c.entries[-1].seq for c in chains],
        [c.entries[-1].entry_hash for c in chains],
        [c.frontier.packed() if c.frontier else None for c in chains],
        [c.frontier.root() if c.frontier else None for c in chains],
    ]
