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


class Tree:
    """The tree of `size` leaves whose first `prefix.size` leaves are known only by their compact
    range (retention pruned them) and the rest by their hashes (`leaves`). Every node that a
    proof for a leaf past the prefix needs is computable from these."""

    def __init__(self, leaves: Sequence[bytes], prefix: Frontier | None = None) -> None:
        self._prefix = prefix.size if prefix else 0
        self._leaves = leaves
        self.size = self._prefix + len(leaves)
        self._known: dict[tuple[int, int], bytes] = {}
        if prefix:
            start = 0
            for bit in reversed(range(prefix.size.bit_length())):
                if prefix.size >> bit & 1:
                    end = start + (1 << bit)
                    self._known[start, end] = prefix.hashes[len(self._known)]
                    start = end

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi). Raises ValueError for a node inside the pruned prefix."""
        if (lo, hi) in self._known:
            return self._known[lo, hi]
        if lo == hi:
            return EMPTY_ROOT
        width = hi - lo
        if hi <= self._prefix and width & (width - 1) == 0:  # a perfect subtree, not kept
            raise ValueError("the node is inside the pruned part of the tree")
        if width == 1:
            return self._leaves[lo - self._prefix]
        k = lo + _split(hi - lo)
        return node(self.mth(lo, k), self.mth(k, hi))

    def root(self, size: int | None = None) -> bytes:
        return self.mth(0, self.size if size is None else size)

    def inclusion_path(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]); the leaf must not be in the pruned prefix."""
        size = self.size if size is None else size
        if not self._prefix <= index < size <= self.size:
            raise ValueError("the leaf is not in the tree, or was pruned")
        return self._path(index, 0, size)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = lo + _split(hi - lo)
        if m < k:
            return [*self._path(m, lo, k), self.mth(k, hi)]
        return [*self._path(m, k, hi), self.mth(lo, k)]

    def consistency_path(self, first: int, size: int | None = None) -> list[bytes]:
        """PROOF(first, D[size]). Raises ValueError when it needs a pruned node."""
        size = self.size if size is None else size
        if not 0 < first <= size <= self.size:
            raise ValueError("the first tree must be non-empty and no larger than the second")
        return self._subproof(first, 0, size, complete=True)

    def _subproof(self, m: int, lo: int, hi: int, *, complete: bool) -> list[bytes]:
        if m == hi - lo:
            return [] if complete else [self.mth(lo, hi)]
        k = _split(hi - lo)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, complete=complete), self.mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, complete=False), self.mth(lo, lo + k)]


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes."""
    return Tree(leaves).root()


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves`."""
    return Tree(leaves).inclusion_path(index)


def consistency_path(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `first` leaves is a prefix of this one."""
    return Tree(leaves).consistency_path(first)


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
