"""The RFC 9162 Merkle tree: proofs built here verify with the RFC's algorithms, fail for any
other leaf, index, root or path, and the compact range gives the same root as the whole tree."""

from __future__ import annotations

import hashlib

import pytest

from consentd.domain import merkle

LEAVES = [hashlib.sha256(b"\x00" + bytes([i])).digest() for i in range(40)]


def test_known_roots_match_the_rfc_definition() -> None:
    """MTH of 1, 2 and 3 leaves, written out by hand from RFC 9162 §2.1.1."""
    a, b, c = LEAVES[:3]
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    assert merkle.root([a]) == a
    assert merkle.root([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle.root([a, b, c]) == merkle.node(merkle.node(a, b), c)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 40])
def test_every_inclusion_proof_verifies_and_no_other_leaf_does(size: int) -> None:
    """For each leaf of trees of several sizes: its path verifies; another leaf or a wrong
    index, or a truncated path, does not."""
    leaves = LEAVES[:size]
    top = merkle.root(leaves)
    for index in range(size):
        path = merkle.inclusion_path(index, leaves)
        assert merkle.verify_inclusion(leaves[index], index, size, path, top)
        other = LEAVES[(index + 1) % 40]
        assert not merkle.verify_inclusion(other, index, size, path, top)
        if size > 1:
            assert not merkle.verify_inclusion(leaves[index], (index + 1) % size, size, path, top)
            assert not merkle.verify_inclusion(leaves[index], index, size, path[:-1], top)


@pytest.mark.parametrize("second", [1, 2, 3, 4, 6, 8, 9, 13, 16, 40])
def test_every_consistency_proof_verifies_and_a_rewritten_prefix_does_not(second: int) -> None:
    """For each first size up to second: the proof verifies; with one leaf of the prefix
    changed, the old root no longer matches."""
    new = merkle.root(LEAVES[:second])
    for first in range(1, second + 1):
        path = merkle.consistency_path(first, LEAVES[:second])
        old = merkle.root(LEAVES[:first])
        assert merkle.verify_consistency(first, second, old, new, path)
        forged = merkle.root([LEAVES[39], *LEAVES[1:first]])
        assert not merkle.verify_consistency(first, second, forged, new, path)


def test_the_compact_range_gives_the_same_root_at_every_size() -> None:
    """Appending leaf by leaf to a Frontier (and storing it packed) keeps root() == MTH."""
    frontier = merkle.Frontier(0, [])
    for size, leaf in enumerate(LEAVES, start=1):
        frontier.append(leaf)
        frontier = merkle.Frontier.of(size, frontier.packed())
        assert frontier.root() == merkle.root(LEAVES[:size])


@pytest.mark.parametrize("pruned", [1, 2, 3, 5, 8, 13, 20])
def test_a_tree_with_a_pruned_prefix_gives_the_same_root_and_paths(pruned: int) -> None:
    """With the first leaves known only by their compact range (retention pruned them), the
    root, every later leaf's path and consistency proofs from sizes past the prefix are those of
    the whole tree; a path of a pruned leaf is refused."""
    whole = merkle.Tree(LEAVES)
    frontier = merkle.Frontier(0, [])
    for leaf in LEAVES[:pruned]:
        frontier.append(leaf)
    cut = merkle.Tree(LEAVES[pruned:], frontier)
    for size in range(pruned, 41):
        assert cut.root(size) == whole.root(size)
        for index in range(pruned, size):
            assert cut.inclusion_path(index, size) == whole.inclusion_path(index, size)
    for first in range(pruned, 41):
        assert cut.consistency_path(first) == whole.consistency_path(first)
    with pytest.raises(ValueError, match="pruned"):
        cut.inclusion_path(pruned - 1)
