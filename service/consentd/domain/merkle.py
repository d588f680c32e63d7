"""The RFC 9162 (Certificate Transparency v2) Merkle tree over a tenant's audit entries.

Leaves are the entries' leaf hashes in seq order (entry `seq` is leaf index seq - 1); an interior
node is SHA-256(0x01 || left || right); the tree of n leaves splits at the largest power of two
below n (RFC 9162 §2.1.1). Inclusion proofs (§2.1.3) and consistency proofs (§2.1.4) are built
here and checked with the RFC's verification algorithms, which docs/audit.md repeats in a few
lines of standalone Python.

`Frontier` is the tree's compact range: the roots of the perfect subtrees that cover the leaves,
largest first. Appending a leaf and computing the root need only it (at most log2(n) hashes), so
the sequencer keeps it in the head row instead of reading every leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

EMPTY_ROOT = hashlib.sha256(b"").digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node(root(leaves[:k]), root(leaves[k:]))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError("the leaf is not in the tree")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), root(leaves[:k])]


def consistency_path(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `first` leaves is a prefix of this one."""
    if not 0 < first <= len(leaves):
        raise ValueError("the first tree must be non-empty and no larger than the second")
    return _subproof(first, leaves, complete=True)


def _subproof(m: int, leaves: Sequence[bytes], *, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete=complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], complete=False), root(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    proof = list(path)
    if first & (first - 1) == 0:  # a power of two: the first root starts the path
        proof.insert(0, first_root)
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


@dataclass
class Frontier:
    """The compact range of a tree of `size` leaves: one root per set bit of size."""

    size: int
    hashes: list[bytes]

    @classmethod
    def of(cls, size: int, packed: bytes | None) -> Frontier:
        data = packed or b""
        hashes = [data[i : i + 32] for i in range(0, len(data), 32)]
        if len(hashes) != size.bit_count():
            raise ValueError("the stored frontier does not match the tree size")
        return cls(size, hashes)

    def packed(self) -> bytes:
        return b"".join(self.hashes)

    def append(self, leaf: bytes) -> None:
        merged, size = leaf, self.size
        while size & 1:  # the smallest subtree is full: merge it with the new one
            merged = node(self.hashes.pop(), merged)
            size >>= 1
        self.hashes.append(merged)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node(left, result)
        return result
