"""Ports of the audit log: what use cases read and record, and the sequencer's store side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from consentd.domain.audit import (
    AuditEntry,
    AuditRecord,
    Checkpoint,
    Head,
    Payload,
)
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.merkle import Tree
from consentd.domain.proofs import FactCheck, TreeHead


@dataclass(frozen=True, slots=True)
class Integrated:
    """What one integration pass did: entries appended, of which consent events put in the feed."""

    entries: int
    fed: int


class LogIntegration(Protocol):
    """The store side of the audit sequencer (store/sequencer.py)."""

    async def integrate(self, tenant_id: UUID, limit: int, now: datetime) -> Integrated:
        """One pass: chain up to `limit` queued rows of the tenant into its log and feed."""
        ...

    async def integrate_many(
        self, tenants: Sequence[UUID], limit: int, now: datetime
    ) -> dict[UUID, Integrated]:
        """One pass of each tenant, all committed together or none."""
        ...

    async def queued_tenants(self) -> list[UUID]:
        """The tenants that have queued rows (every tenant's, whatever row-level security)."""
        ...

    async def close(self) -> None:
        """Release the connections it holds."""
        ...

    def terminate(self) -> None:
        """Drop its connections at once (a shutdown with the database not answering)."""
        ...


class LogSequencer(Protocol):
    """Integrates a tenant's queued audit entries into its log (and the change feed)."""

    async def drain(self, tenant_id: UUID) -> int:
        """Integrate everything queued so far; the entries appended."""
        ...


class AuditRepository(Protocol):
    def record(self, record: AuditRecord) -> None:
        """Queue `record` for the tenant's log when the unit of work commits."""
        ...

    def cookie_choice(self, choice_id: UUID, at: datetime) -> None:
        """Queue the stored cookie choice's entry when the unit of work commits."""
        ...

    async def head(self) -> Head | None: ...

    async def exported_since(self, subject_id: UUID, since: datetime) -> str | None:
        """The digest of the subject's latest export at or after `since` (None: none)."""
        ...

    async def entries(self, after_seq: int, limit: int) -> list[AuditEntry]: ...

    async def prunable(self, before: datetime) -> list[int]:
        """Seqs of unpruned checkpoints whose entry is older than `before`, ascending."""
        ...

    async def checkpoints(self) -> list[Checkpoint]: ...

    async def checkpoint_head(self, signer: CheckpointSigner, at: datetime) -> Checkpoint | None:
        """Sign the head unless signed already; None for an empty chain."""
        ...

    async def carry_forward(self, through: int, at: datetime) -> int:
        """Queue a `consent.carried` entry for every fact in force (the latest event of each
        current state) that has no entry after `through`, and an `audit.entry_carried` one for
        every other standing word (store/audit_carry.py): pruning through it keeps them
        provable. How many."""
        ...

    async def prune_through(self, seq: int) -> int:
        """Remove the entries up to the checkpoint at `seq`; how many went."""
        ...

    async def count_through(self, seq: int) -> int: ...

    async def facts(self, limit: int) -> FactCheck:
        """The fact tables recomputed against the log; at most `limit` problems of each kind."""
        ...

    async def tree(self, size: int) -> Tree | None:
        """The Merkle tree of entries 1..size (None when its pruned part is unknown)."""
        ...

    async def proof_entry(
        self, seq: int, fact_id: UUID | None
    ) -> tuple[AuditEntry, Payload | None] | None:
        """Entry `seq` (or the entry of `fact_id`) and its fact's content as it stands now."""
        ...

    async def of_subject(self, subject_id: UUID, through: int) -> list[AuditEntry]:
        """The entries about the subject up to seq `through` (kept: not pruned), in order."""
        ...

    async def tree_head(self, size: int) -> TreeHead | None: ...

    async def tree_heads(self) -> list[TreeHead]:
        """Every signed tree head kept, smallest first."""
        ...

    async def store_tree_head(self, head: TreeHead) -> None: ...
