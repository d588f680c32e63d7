"""Verification of a tenant's audit chain: every entry recomputed, in seq order, against the
head, the signed checkpoints and (app/audit.py adds them) the fact tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from consentd.domain.audit import FORMAT, GENESIS, AuditEntry, Checkpoint, Head
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.merkle import Frontier
from consentd.domain.proofs import NO_FACTS, FactCheck, TreeHead


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_seq: int
    last_seq: int
    # The first entry (seq) that is wrong, and why; None when the chain verifies.
    bad_seq: int | None = None
    problem: str = ""
    # The fact tables recomputed against the log (see store/audit_facts.py).
    facts: FactCheck = NO_FACTS


class ChainVerifier:
    """Verifies one tenant's chain fed in seq order, batch by batch (constant memory).

    Starts at the genesis, or at the checkpoint retention left at `head.pruned_through`.
    Names the first bad entry: a changed field or hash, a missing, extra or moved entry, a
    checkpoint that does not match its entry or whose signature fails, or a head that disagrees.
    """

    def __init__(
        self,
        tenant_id: UUID,
        head: Head | None,
        checkpoints: Iterable[Checkpoint],
        signer: CheckpointSigner,
        tree_heads: Iterable[TreeHead] = (),
    ) -> None:
        self._tenant = tenant_id
        self._tree_heads = {h.tree_size: h for h in tree_heads}
        # The Merkle tree recomputed from the leaves, against every signed tree head kept and
        # the head's stored root (edited, they verified: a root of one's choosing got signed).
        # A pruned log's tree starts from the pruned entries' compact range (it was not
        # checked at all once a log was pruned: an edited frontier went unseen again; probe IH).
        self._tree: Frontier | None = None
        self._head = head or Head(0, GENESIS, 0)
        self._checkpoints = {c.seq: c for c in checkpoints}
        self._signer = signer
        self._expected_seq = self._head.pruned_through + 1
        self._prev: bytes | None = GENESIS
        self._checked = 0
        self._format = 1  # entries written since 0009 are format 2; never back to 1
        self._verified_checkpoints = 0
        self._bad: tuple[int, str] | None = None
        # The first signature by a key neither current nor retired: said once nothing else is
        # wrong (it stopped the check at entry 1 after a rotation, and later edits went unnamed;
        # probe QC).
        self._unknown: tuple[int, str] | None = None
        if self._head.pruned_through:
            anchor = self._checkpoints.get(self._head.pruned_through)
            if anchor is None:
                self._fail(self._expected_seq, "no checkpoint where retention pruned the chain")
            elif not self._checkpoint_ok(anchor):
                self._fail(anchor.seq, "the anchoring checkpoint's signature does not verify")
            else:
                self._prev = anchor.entry_hash
        try:
            self._tree = _first_tree(head)
        except ValueError:
            missing = "the pruned entries' stored frontier is missing or does not fit"
            self._fail(self._expected_seq, missing)

    @property
    def failed(self) -> bool:
        return self._bad is not None

    def _fail(self, seq: int, problem: str) -> None:
        if self._bad is None:
            self._bad = (seq, problem)

    def _checkpoint_ok(self, checkpoint: Checkpoint) -> bool:
        """Whether it verifies; true, not counted, for one signed by a key not known here."""
        if self._unknown_key(checkpoint.seq, "checkpoint at", checkpoint.key_id):
            return True
        ok = checkpoint.tenant_id == self._tenant and self._signer.verifies(checkpoint)
        self._verified_checkpoints += ok
        return ok

    def _unknown_key(self, seq: int, what: str, key_id: str) -> bool:
        if self._signer.knows(key_id):
            return False
        if self._unknown is None:
            self._unknown = (
                seq,
                f"the {what} {seq} is signed by key {key_id}, neither this key "
                f"({self._signer.key_id}) nor one in CONSENTD_AUDIT_RETIRED_KEYS: if it is a "
                "key you retired, list its public half there (docs/operations.md, Keys); a key "
                "id you never used means the head was not signed by consentd",
            )
        return True

    def feed(self, entries: Iterable[AuditEntry]) -> None:
        for entry in entries:
            if self._bad is not None:
                return
            self._check(entry)

    def _check(self, entry: AuditEntry) -> None:
        seq = self._expected_seq
        if entry.seq != seq:
            problem = "missing" if entry.seq > seq else "out of order"
            self._fail(seq, f"entry {seq} is {problem} (found {entry.seq} next)")
        elif entry.tenant_id != self._tenant:
            self._fail(seq, "belongs to another tenant")
        elif entry.format < self._format:
            self._fail(seq, f"is format {entry.format} after an entry of format {self._format}")
        elif entry.prev_hash != self._prev:
            self._fail(seq, "its prev_hash is not the hash of the entry before it")
        elif entry.format not in (1, FORMAT) or entry.expected_hash() != entry.entry_hash:
            self._fail(seq, "its content does not match its hash")
        elif seq in self._checkpoints:
            checkpoint = self._checkpoints[seq]
            if checkpoint.entry_hash != entry.entry_hash:
                self._fail(seq, "differs from the signed checkpoint at this seq")
            elif not self._checkpoint_ok(checkpoint):
                self._fail(seq, "the checkpoint at this seq has a bad signature")
        if self._tree is not None and self._bad is None:
            self._tree.append(entry.leaf_hash())
            signed = self._tree_heads.get(seq)
            if signed is not None:
                self._check_tree_head(seq, signed)
        self._prev = entry.entry_hash
        self._format = max(self._format, entry.format)
        self._expected_seq = seq + 1
        self._checked += 1

    def _check_tree_head(self, seq: int, signed: TreeHead) -> None:
        assert self._tree is not None
        if signed.root_hash != self._tree.root():
            self._fail(seq, f"the signed tree head of size {seq} is not the entries' root")
        elif self._unknown_key(seq, "tree head of size", signed.key_id):
            return  # said at the end, if nothing else is wrong
        elif not self._signer.verifies(signed):
            self._fail(seq, f"the signed tree head of size {seq} has a bad signature")

    def finish(self) -> VerifyReport:
        """The verdict once every entry was fed."""
        last = self._expected_seq - 1
        head = self._head
        if last < head.last_seq:
            self._fail(last + 1, f"entry {last + 1} is missing (the head is at {head.last_seq})")
        elif last > head.last_seq:
            self._fail(head.last_seq + 1, "is beyond the head: not appended by consentd")
        elif last and self._prev != head.last_hash:
            self._fail(last, "its hash differs from the head's")
        elif self._tree is not None and head.root_hash not in (None, self._tree.root()):
            self._fail(last, "the head's stored Merkle root is not the entries' root")
        elif self._tree is not None and head.frontier not in (None, self._tree.packed()):
            # The next root is built on it: edited, it verified ok until consentd had signed a
            # tree head of the owner's making (probe ID).
            self._fail(last, "the head's stored Merkle frontier is not the entries' tree")
        beyond = [s for s in (*self._checkpoints, *self._tree_heads) if s > head.last_seq]
        if beyond:
            self._fail(min(beyond), "a checkpoint or tree head names an entry that does not exist")
        bad_seq, problem = self._bad or self._unknown or (None, "")
        return VerifyReport(
            ok=bad_seq is None,
            entries_checked=self._checked,
            checkpoints_checked=self._verified_checkpoints,
            first_seq=head.pruned_through + 1,
            last_seq=head.last_seq,
            bad_seq=bad_seq,
            problem=problem,
        )


def _first_tree(head: Head | None) -> Frontier:
    """The tree the entries kept are appended to: empty, or the pruned entries' compact range.
    Raises ValueError when that range is missing (set to NULL as the owner, a forged root
    verified and was signed; probe IJ: only a log pruned before migration 0009 has none) or
    does not fit the pruned entries' count."""
    if not (head and head.pruned_through):
        return Frontier(0, [])
    return Frontier.of(head.pruned_through, head.pruned_frontier or b"")
