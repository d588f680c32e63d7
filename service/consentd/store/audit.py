"""The per-tenant audit log in PostgreSQL: queued in the writer's own transaction.

Use cases `record()` what changed; the unit of work queues the records when it commits, in the
same transaction (`audit_queue`, migration 0009), with no tenant-wide lock. Consent events queue
their own entries in the statement that writes them (store/consents.py). The sequencer
(store/sequencer.py) chains queued rows into entries later, in batches.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    Checkpoint,
    Head,
    Payload,
)
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.canonical import canonical
from consentd.domain.errors import FailedPrecondition
from consentd.domain.merkle import Tree
from consentd.domain.proofs import FactCheck, TreeHead
from consentd.store import audit_carry, audit_tree
from consentd.store.audit_facts import check_facts
from consentd.store.audit_pins import check_pins
from consentd.store.driver import Driver
from consentd.store.tables import audit_checkpoints, audit_entries, audit_heads

_E = audit_entries
_H = audit_heads
_K = audit_checkpoints
# A subject's exports (ExportSubject's `subject.exported` entries), in the log or still queued.
_EXPORTED_SINCE = """
SELECT payload->>'document_sha256' FROM (
    SELECT recorded_at, payload FROM audit_entries WHERE tenant_id = $1 AND subject_id = $2
        AND action = 'subject.exported' AND recorded_at >= $3
    UNION ALL
    SELECT recorded_at, payload FROM audit_queue WHERE tenant_id = $1 AND subject_id = $2
        AND action = 'subject.exported' AND recorded_at >= $3
) e ORDER BY recorded_at DESC LIMIT 1
"""

# Head lock for checkpoints of the head (the sequencer takes the same lock, see sequencer.py).
_LOCK_HEAD = """
INSERT INTO audit_heads AS h (tenant_id, last_seq, last_hash, pruned_through)
VALUES ($1, 0, $2, 0)
ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq
RETURNING last_seq, last_hash
"""
# A writer queues its records; no tenant-wide lock (the sequencer chains them later).
_QUEUE = """
INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
SELECT $1, q.action, q.recorded_at, q.subject_id, q.fact_id, q.payload::jsonb
FROM unnest($2::text[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::text[])
    WITH ORDINALITY AS q(action, recorded_at, subject_id, fact_id, payload, ord)
ORDER BY q.ord
"""
# A cookie choice's entry is its row, as consentd_cookie_choice_payload (0009) renders it.
# The stored choices' entries (each its whole row), in the order given, in one statement.
_QUEUE_COOKIE_CHOICES = """
INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
SELECT c.tenant_id, 'cookies.choice_recorded', g.at, c.subject_id, c.choice_id,
    consentd_cookie_choice_payload(c)
FROM unnest($2::uuid[], $3::timestamptz[]) WITH ORDINALITY AS g(choice_id, at, n)
JOIN cookie_choices c ON c.tenant_id = $1 AND c.choice_id = g.choice_id
ORDER BY g.n
"""


def _entry(m: Any) -> AuditEntry:
    payload = m["payload"]
    return AuditEntry(
        tenant_id=m["tenant_id"],
        seq=m["seq"],
        prev_hash=bytes(m["prev_hash"]),
        recorded_at=m["recorded_at"],
        action=m["action"],
        payload=json.loads(payload) if isinstance(payload, str) else payload,
        subject_id=m["subject_id"],
        entry_hash=bytes(m["entry_hash"]),
        format=m["format"],
        fact_id=m["fact_id"],
    )


def _checkpoint(m: sa.RowMapping) -> Checkpoint:
    return Checkpoint(
        m["tenant_id"], m["seq"], m["entry_hash"], m["signed_at"], m["key_id"], m["signature"]
    )


class SqlAudit:
    """Queued appends plus the reads verification and retention need."""

    def __init__(
        self,
        conn: AsyncConnection,
        raw: Driver,
        tenant_id: UUID,
        signer: CheckpointSigner | None = None,
        checkpoint_every: int = 0,
    ) -> None:
        self._conn = conn
        self._raw = raw
        self._tenant = tenant_id
        self._signer = signer
        self._every = checkpoint_every
        self._pending: list[AuditRecord] = []
        self._choices: list[tuple[UUID, datetime]] = []
        # Set once this transaction queued something: the unit of work wakes the sequencer.
        self.queued = False

    def record(self, record: AuditRecord) -> None:
        """Queue `record` when the unit of work commits (never if it rolls back)."""
        self._pending.append(record)

    def cookie_choice(self, choice_id: UUID, at: datetime) -> None:
        """Queue the stored cookie choice's entry (its whole row) when the unit of work commits."""
        self._choices.append((choice_id, at))

    async def flush(self) -> None:
        """Queue the pending records now, in this transaction, for the sequencer to chain."""
        pending, self._pending = self._pending, []
        choices, self._choices = self._choices, []
        if choices:
            ids, times = zip(*choices, strict=True)
            await self._raw.execute(_QUEUE_COOKIE_CHOICES, self._tenant, list(ids), list(times))
        if pending:
            await self._raw.execute(
                _QUEUE,
                self._tenant,
                [r.action for r in pending],
                [r.recorded_at for r in pending],
                [r.subject_id for r in pending],
                [r.fact_id for r in pending],
                [canonical(r.payload).decode() for r in pending],
            )
        self.queued = self.queued or bool(pending or choices)

    async def exported_since(self, subject_id: UUID, since: datetime) -> str | None:
        """The digest of the subject's latest export at or after `since` (chained or queued)."""
        found = await self._raw.fetchrow(_EXPORTED_SINCE, self._tenant, subject_id, since)
        return None if found is None else str(found[0])

    async def _lock_head(self) -> tuple[int, bytes]:
        row = await self._raw.fetchrow(_LOCK_HEAD, self._tenant, GENESIS)
        return int(row["last_seq"]), bytes(row["last_hash"])

    async def head(self) -> Head | None:
        row = (
            await self._conn.execute(sa.select(_H).where(_H.c.tenant_id == self._tenant))
        ).first()
        if row is None:
            return None
        m = row._mapping
        frontier, pruned = m["tree_frontier"], m["pruned_frontier"]
        return Head(
            m["last_seq"], m["last_hash"], m["pruned_through"], m["root_hash"],
            bytes(frontier) if frontier is not None else None,
            bytes(pruned) if pruned is not None else None,
        )  # fmt: skip

    async def facts(self, limit: int) -> FactCheck:
        """The fact tables recomputed against the log (store/audit_facts.py)."""
        return await check_facts(self._raw, self._tenant, limit)

    async def tree(self, size: int) -> Tree | None:
        """The Merkle tree of entries 1..size (None when pruned before 0009 kept its range)."""
        return await audit_tree.tree(self._raw, self._tenant, size)

    async def proof_entry(
        self, seq: int, fact_id: UUID | None
    ) -> tuple[AuditEntry, Payload | None] | None:
        """Entry `seq` (or the entry of `fact_id`), and its fact's content as it stands now,
        rebuilt by the pinned functions (FailedPrecondition when one was changed)."""
        if changed := await check_pins(self._raw):
            raise FailedPrecondition(
                f"{changed[0].problem}: no fact can be proven through it; run consentd audit "
                "verify",
                code="FUNCTION_CHANGED",
            )
        row = await audit_tree.entry_row(self._raw, self._tenant, seq, fact_id)
        if row is None:
            return None
        fact = row["fact_payload"]
        return _entry(row), json.loads(fact) if fact is not None else None

    async def of_subject(self, subject_id: UUID, through: int) -> list[AuditEntry]:
        query = (
            sa.select(_E)
            .where(_E.c.tenant_id == self._tenant, _E.c.subject_id == subject_id)
            .where(_E.c.seq <= through)
            .order_by(_E.c.seq)
        )
        return [_entry(m) for m in (await self._conn.execute(query)).mappings()]

    async def tree_head(self, size: int) -> TreeHead | None:
        return await audit_tree.tree_head(self._raw, self._tenant, size)

    async def tree_heads(self) -> list[TreeHead]:
        return await audit_tree.tree_heads(self._raw, self._tenant)

    async def store_tree_head(self, head: TreeHead) -> None:
        await audit_tree.store_tree_head(self._raw, head)

    async def entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        """Entries with seq above `after_seq`, in seq order."""
        query = (
            sa.select(_E)
            .where(_E.c.tenant_id == self._tenant, _E.c.seq > after_seq)
            .order_by(_E.c.seq)
            .limit(limit)
        )
        return [_entry(m) for m in (await self._conn.execute(query)).mappings()]

    async def prunable(self, before: datetime) -> list[int]:
        """Seqs of checkpoints past the pruned part whose entries are all older than `before`:
        before the first younger one (a host's clock set back signs a checkpoint dated before
        entries it covers; migration 0064)."""
        head = sa.select(_H.c.pruned_through).where(_H.c.tenant_id == self._tenant)
        pruned = sa.func.coalesce(head.scalar_subquery(), 0)
        young = sa.select(sa.func.min(_E.c.seq)).where(
            _E.c.tenant_id == self._tenant, _E.c.seq > pruned, _E.c.recorded_at >= before
        )
        query = (
            sa.select(_K.c.seq)
            .where(_K.c.tenant_id == self._tenant, _K.c.seq > pruned)
            .where(_K.c.seq < sa.func.coalesce(young.scalar_subquery(), _K.c.seq + 1))
            .order_by(_K.c.seq)
        )
        return [int(seq) for seq in (await self._conn.execute(query)).scalars()]

    async def checkpoints(self) -> list[Checkpoint]:
        query = sa.select(_K).where(_K.c.tenant_id == self._tenant).order_by(_K.c.seq)
        return [_checkpoint(m) for m in (await self._conn.execute(query)).mappings()]

    async def checkpoint_head(self, signer: CheckpointSigner, at: datetime) -> Checkpoint | None:
        """Sign the head unless it is signed already (or the chain is empty); the stored
        checkpoint at the head either way."""
        last_seq, last_hash = await self._lock_head()
        if last_seq == 0:
            return None
        existing = (
            (
                await self._conn.execute(
                    sa.select(_K).where(_K.c.tenant_id == self._tenant, _K.c.seq == last_seq)
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            return _checkpoint(existing)
        checkpoint = signer.sign(self._tenant, last_seq, last_hash, at)
        await self._store_checkpoint(checkpoint)
        return checkpoint

    async def _store_checkpoint(self, checkpoint: Checkpoint) -> None:
        await self._conn.execute(
            insert(_K)
            .values(
                tenant_id=self._tenant,
                seq=checkpoint.seq,
                entry_hash=checkpoint.entry_hash,
                signed_at=checkpoint.signed_at,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "seq"])
        )

    async def carry_forward(self, through: int, at: datetime) -> int:
        return await audit_carry.carry_forward(self._raw, self._tenant, through, at)

    async def prune_through(self, seq: int) -> int:
        """Remove entries up to the checkpoint at `seq` (database-enforced rules), keeping their
        Merkle compact range; the count."""
        await audit_tree.keep_pruned_range(self._raw, self._tenant, seq)
        result = await self._conn.execute(
            sa.select(sa.func.consentd_prune_audit(self._tenant, seq))
        )
        return int(result.scalar_one())

    async def count_through(self, seq: int) -> int:
        query = sa.select(sa.func.count()).where(_E.c.tenant_id == self._tenant, _E.c.seq <= seq)
        return int((await self._conn.execute(query)).scalar_one())
