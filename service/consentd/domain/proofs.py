"""What the audit log proves: facts checked against it, and Merkle proofs (RFC 9162)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from consentd.domain.canonical import canonical, stamp


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A signed tree head: the Merkle root of the tenant's first `tree_size` entries."""

    tenant_id: UUID
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return tree_head_message(
            self.tenant_id, self.tree_size, self.root_hash, self.signed_at, self.key_id
        )


def tree_head_message(
    tenant_id: UUID, tree_size: int, root_hash: bytes, at: datetime, key_id: str
) -> bytes:
    return canonical(
        {
            "format": "consentd-audit-tree-head/1",
            "tenant": str(tenant_id),
            "tree_size": tree_size,
            "root_hash": root_hash.hex(),
            "time": stamp(at),
            "key": key_id,
        }
    )


@dataclass(frozen=True, slots=True)
class FactProblem:
    """A fact row (or log entry) that the log and the fact tables disagree on."""

    table: str
    fact_id: UUID | None
    seq: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class FactCheck:
    """Facts recomputed against the log: how many, how many still queued, what differs."""

    facts: int
    pending: int
    problems: tuple[FactProblem, ...]


NO_FACTS = FactCheck(0, 0, ())


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """Entry `seq` (leaf seq - 1) is in the tree of the signed head: hash the leaf input
    (SHA-256(0x00 || leaf_input)), climb the path, compare with the head's root."""

    seq: int
    leaf_input: bytes
    path: tuple[bytes, ...]
    head: TreeHead


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """The tree of `first` is a prefix of the tree of `second` (both signed heads)."""

    first: TreeHead
    second: TreeHead
    path: tuple[bytes, ...]
