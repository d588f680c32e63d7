"""Reads for the Merkle proofs: leaf hashes, one entry (its fact recomputed), tree heads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consentd.domain.audit import stored_leaf
from consentd.domain.merkle import Frontier, Tree
from consentd.domain.proofs import TreeHead
from consentd.store.driver import Driver

_LEAVES = """
SELECT entry_hash, format FROM audit_entries
WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq
"""
_PRUNED = "SELECT pruned_through, pruned_frontier FROM audit_heads WHERE tenant_id = $1"
_KEEP_PRUNED = "UPDATE audit_heads SET pruned_frontier = $2 WHERE tenant_id = $1"
# The entry, and its fact's content as the fact table holds it now (NULL when the fact is gone,
# or the entry records none): a proof of a fact is a proof of the fact as it stands.
_ENTRY = """
SELECT a.*, CASE
    WHEN a.format <> 2 OR a.fact_id IS NULL THEN NULL
    WHEN a.action IN ('consent.recorded', 'consent.withdrawn', 'consent.carried') THEN (
        SELECT consentd_event_payload(e) FROM consent_events e
        WHERE e.tenant_id = a.tenant_id AND e.event_id = a.fact_id)
    WHEN a.action = 'cookies.choice_recorded' THEN (
        SELECT consentd_cookie_choice_payload(c) FROM cookie_choices c
        WHERE c.tenant_id = a.tenant_id AND c.choice_id = a.fact_id)
END::text AS fact_payload
FROM audit_entries a
WHERE a.tenant_id = $1 AND (a.seq = $2 OR a.fact_id = $3)
ORDER BY a.seq LIMIT 1
"""
_TREE_HEAD = "SELECT * FROM audit_tree_heads WHERE tenant_id = $1 AND tree_size = $2"
_TREE_HEADS = "SELECT * FROM audit_tree_heads WHERE tenant_id = $1 ORDER BY tree_size"
_STORE_TREE_HEAD = """
INSERT INTO audit_tree_heads (tenant_id, tree_size, root_hash, signed_at, key_id, signature)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
"""


async def leaves(raw: Driver, tenant_id: UUID, size: int, after: int = 0) -> list[bytes]:
    """The leaf hashes of entries after+1..size, in order."""
    rows = await raw.fetch(_LEAVES, tenant_id, after, size)
    return [stored_leaf(bytes(r["entry_hash"]), r["format"]) for r in rows]


async def _pruned(raw: Driver, tenant_id: UUID) -> Frontier | None:
    """The compact range of the pruned entries (empty when none were); None when entries were
    pruned before 0009 kept it."""
    row = await raw.fetchrow(_PRUNED, tenant_id)
    if row is None or not row["pruned_through"]:
        return Frontier(0, [])
    if row["pruned_frontier"] is None:
        return None
    return Frontier.of(int(row["pruned_through"]), bytes(row["pruned_frontier"]))


async def tree(raw: Driver, tenant_id: UUID, size: int) -> Tree | None:
    """The Merkle tree of entries 1..size: what retention pruned by its compact range, the rest
    by leaf hashes. None when the pruned part's range is unknown."""
    prefix = await _pruned(raw, tenant_id)
    if prefix is None:
        return None
    return Tree(await leaves(raw, tenant_id, size, prefix.size), prefix)


async def keep_pruned_range(raw: Driver, tenant_id: UUID, through: int) -> None:
    """Before retention prunes entries 1..through: keep their compact range."""
    prefix = await _pruned(raw, tenant_id)
    if prefix is None or through <= prefix.size:
        return
    for leaf in await leaves(raw, tenant_id, through, prefix.size):
        prefix.append(leaf)
    await raw.execute(_KEEP_PRUNED, tenant_id, prefix.packed())


async def entry_row(raw: Driver, tenant_id: UUID, seq: int, fact_id: UUID | None) -> Any:
    return await raw.fetchrow(_ENTRY, tenant_id, seq, fact_id)


async def tree_head(raw: Driver, tenant_id: UUID, size: int) -> TreeHead | None:
    row = await raw.fetchrow(_TREE_HEAD, tenant_id, size)
    return None if row is None else _tree_head(tenant_id, row)


async def tree_heads(raw: Driver, tenant_id: UUID) -> list[TreeHead]:
    """Every signed tree head kept for the tenant, smallest first."""
    return [_tree_head(tenant_id, row) for row in await raw.fetch(_TREE_HEADS, tenant_id)]


def _tree_head(tenant_id: UUID, row: Any) -> TreeHead:
    return TreeHead(
        tenant_id,
        int(row["tree_size"]),
        bytes(row["root_hash"]),
        row["signed_at"],
        row["key_id"],
        bytes(row["signature"]),
    )


async def store_tree_head(raw: Driver, head: TreeHead) -> None:
    await raw.execute(
        _STORE_TREE_HEAD,
        head.tenant_id,
        head.tree_size,
        head.root_hash,
        head.signed_at,
        head.key_id,
        head.signature,
    )
