"""The per-tenant audit chain in PostgreSQL: appended in the writer's own transaction.

Use cases `record()` what changed; the unit of work appends the records when it commits, in the
same transaction: the head row is locked FOR UPDATE (one appender per tenant at a time, so `seq`
has no gap and each entry commits to the one before), the entries are inserted, the head moves.
Appending last keeps the head lock as short as possible and after every other lock of the
transaction, so it cannot take part in a deadlock.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    Checkpoint,
    CheckpointSigner,
    Head,
    canonical,
    chain,
)
from consentd.store.driver import Driver
from consentd.store.tables import audit_checkpoints, audit_entries, audit_heads

_E = audit_entries
_H = audit_heads
_K = audit_checkpoints

# The append is on every write's path while the tenant's head is locked, so both statements are
# plain SQL that asyncpg prepares once per connection (SQLAlchemy compiled a multi-row VALUES
# again on every call, inside the lock). Creating the head on first use and locking it is one
# round trip: ON CONFLICT DO UPDATE takes the row lock (held until commit) and returns it.
_LOCK_HEAD = """
INSERT INTO audit_heads AS h (tenant_id, last_seq, last_hash, pruned_through)
VALUES ($1, 0, $2, 0)
ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq
RETURNING last_seq, last_hash
"""
# The entries go in a CTE of the head's update: one statement while the head is locked.
_APPEND = """
WITH added AS (
    INSERT INTO audit_entries (
        tenant_id, seq, prev_hash, entry_hash, recorded_at, action, subject_id, payload
    )
    SELECT $1, e.seq, e.prev_hash, e.entry_hash, e.recorded_at, e.action, e.subject_id,
        e.payload::jsonb
    FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::timestamptz[], $6::text[],
        $7::uuid[], $8::text[]) AS e(seq, prev_hash, entry_hash, recorded_at, action, subject_id,
        payload)
)
UPDATE audit_heads SET last_seq = $9, last_hash = $10 WHERE tenant_id = $1
"""


def _entry(m: sa.RowMapping) -> AuditEntry:
    return AuditEntry(
        tenant_id=m["tenant_id"],
        seq=m["seq"],
        prev_hash=m["prev_hash"],
        recorded_at=m["recorded_at"],
        action=m["action"],
        payload=m["payload"],
        subject_id=m["subject_id"],
        entry_hash=m["entry_hash"],
    )


def _checkpoint(m: sa.RowMapping) -> Checkpoint:
    return Checkpoint(
        m["tenant_id"], m["seq"], m["entry_hash"], m["signed_at"], m["key_id"], m["signature"]
    )


class SqlAudit:
    """Buffered appends plus the reads verification and retention need."""

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

    def record(self, record: AuditRecord) -> None:
        """Append `record` when the unit of work commits (never if it rolls back)."""
        self._pending.append(record)

    async def flush(self) -> list[AuditEntry]:
        """Append the pending records now, in this transaction."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        last_seq, last_hash = await self._lock_head()
        entries: list[AuditEntry] = []
        for record in pending:
            entry = chain(self._tenant, last_seq, last_hash, record)
            entries.append(entry)
            last_seq, last_hash = entry.seq, entry.entry_hash
        await self._raw.execute(
            _APPEND,
            self._tenant,
            [e.seq for e in entries],
            [e.prev_hash for e in entries],
            [e.entry_hash for e in entries],
            [e.recorded_at for e in entries],
            [e.action for e in entries],
            [e.subject_id for e in entries],
            [canonical(e.payload).decode() for e in entries],
            last_seq,
            last_hash,
        )
        if self._signer is not None and self._every:
            for entry in entries:
                if entry.seq % self._every == 0:
                    await self._store_checkpoint(
                        self._signer.sign(
                            self._tenant, entry.seq, entry.entry_hash, entry.recorded_at
                        )
                    )
        return entries

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
        return Head(m["last_seq"], m["last_hash"], m["pruned_through"])

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
        """Seqs of checkpoints past the pruned part whose entry is older than `before`."""
        head = sa.select(_H.c.pruned_through).where(_H.c.tenant_id == self._tenant)
        query = (
            sa.select(_K.c.seq)
            .join(_E, sa.and_(_E.c.tenant_id == _K.c.tenant_id, _E.c.seq == _K.c.seq))
            .where(
                _K.c.tenant_id == self._tenant,
                _K.c.seq > sa.func.coalesce(head.scalar_subquery(), 0),
                _E.c.recorded_at < before,
            )
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

    async def prune_through(self, seq: int) -> int:
        """Remove entries up to the checkpoint at `seq` (database-enforced rules); the count."""
        result = await self._conn.execute(
            sa.select(sa.func.consentd_prune_audit(self._tenant, seq))
        )
        return int(result.scalar_one())

    async def count_through(self, seq: int) -> int:
        query = sa.select(sa.func.count()).where(_E.c.tenant_id == self._tenant, _E.c.seq <= seq)
        return int((await self._conn.execute(query)).scalar_one())
