"""`consentd audit tree-head` and `consentd audit prove`: the JSON documents they print.

Hashes are lowercase hex. docs/audit.md checks an inclusion document with a few lines of
hashlib: leaf = SHA-256(0x00 || leaf_input), climbed along `audit_path` (RFC 9162 §2.1.3.2) to
the signed head's `root_hash`; the head's signature is Ed25519 over `signed_message`.
"""

from __future__ import annotations

import argparse
from typing import Any

from consentd.bootstrap import App
from consentd.domain.canonical import stamp
from consentd.domain.proofs import InclusionProof, TreeHead
from consentd.domain.tenancy import Tenant


def head_document(head: TreeHead) -> dict[str, Any]:
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash.hex(),
        "signed_at": stamp(head.signed_at),
        "key_id": head.key_id,
        "signed_message": head.message().decode(),
        "signature": head.signature.hex(),
    }


async def proof_document(app: App, tenant: Tenant, args: argparse.Namespace) -> dict[str, Any]:
    """The tree head, or an inclusion or consistency proof, as `args` ask. `public_key`: the
    key that signed the head (a retired one for a head signed before a rotation)."""

    def base(head: TreeHead) -> dict[str, Any]:
        return {"tenant": tenant.slug, "public_key": _hex(app.audit.public_key_of(head.key_id))}

    if args.action == "tree-head":
        head = await app.audit.tree_head(tenant, args.tree_size)
        return {**base(head), "format": "consentd-audit-tree-head/1", "head": head_document(head)}
    if args.action == "evidence":
        head, proofs = await app.audit.evidence(tenant, args.subject, args.tree_size)
        return {
            **base(head),
            "format": "consentd-audit-evidence/1",
            "subject_id": str(args.subject),
            "head": head_document(head),
            "entries": [_path(proof) for proof in proofs],
        }
    if args.first is not None:
        consistency = await app.audit.prove_consistency(tenant, args.first, args.tree_size)
        first, second = consistency.first, consistency.second
        # The first head's own key when another key signed it (before a rotation).
        own = {"public_key": _hex(app.audit.public_key_of(first.key_id))}
        return {
            **base(second),
            "format": "consentd-audit-consistency/1",
            "first": {**head_document(first), **(own if first.key_id != second.key_id else {})},
            "second": head_document(consistency.second),
            "consistency_path": [node.hex() for node in consistency.path],
        }
    proof = await app.audit.prove_inclusion(tenant, args.seq or 0, args.fact, args.tree_size)
    return {
        **base(proof.head),
        "format": "consentd-audit-inclusion/1",
        "seq": proof.seq,
        "leaf_index": proof.seq - 1,
        "tree_size": proof.head.tree_size,
        "leaf_input": proof.leaf_input.hex(),
        "audit_path": [node.hex() for node in proof.path],
        "root_hash": proof.head.root_hash.hex(),
        "head": head_document(proof.head),
    }


def _path(proof: InclusionProof) -> dict[str, Any]:
    return {
        "seq": proof.seq,
        "leaf_index": proof.seq - 1,
        "leaf_input": proof.leaf_input.hex(),
        "audit_path": [node.hex() for node in proof.path],
    }


def _hex(public_key: bytes | None) -> str | None:
    """A head's key as printed: null for a key neither current nor retired here (set
    CONSENTD_AUDIT_RETIRED_KEYS for this command too)."""
    return public_key.hex() if public_key is not None else None
