"""The audit chain as pure rules: canonical hashing, verification naming the first bad entry,
and Ed25519 checkpoints (domain/audit.py)."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from consentd.domain.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    Head,
    chain,
)
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.audit_verify import ChainVerifier
from consentd.domain.merkle import Frontier

TENANT = uuid4()
T0 = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)
SIGNER = CheckpointSigner(bytes(range(32)))


def build(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    seq, last = 0, GENESIS
    for index in range(count):
        record = AuditRecord(
            "consent.recorded", T0 + timedelta(seconds=index), {"n": index, "s": ["é", None]}
        )
        entry = chain(TENANT, seq, last, record)
        entries.append(entry)
        seq, last = entry.seq, entry.entry_hash
    return entries


def verify(entries: list[AuditEntry], head: Head | None = None, checkpoints=()):  # type: ignore[no-untyped-def]
    last = entries[-1] if entries else None
    head = head or Head(last.seq if last else 0, last.entry_hash if last else GENESIS, 0)
    verifier = ChainVerifier(TENANT, head, checkpoints, SIGNER)
    verifier.feed(entries)
    return verifier.finish()


def test_an_untouched_chain_verifies() -> None:
    """Fifty entries appended in order verify, and each commits to the one before."""
    entries = build(50)
    report = verify(entries)
    assert (report.ok, report.entries_checked, report.bad_seq) == (True, 50, None)
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))


def test_the_hash_depends_on_every_field() -> None:
    """Tenant, seq, previous hash, time, action and payload each change the hash."""
    entry = build(1)[0]
    variants = [
        replace(entry, tenant_id=uuid4()),
        replace(entry, seq=2),
        replace(entry, prev_hash=b"\x01" * 32),
        replace(entry, recorded_at=entry.recorded_at + timedelta(microseconds=1)),
        replace(entry, action="consent.withdrawn"),
        replace(entry, payload={"n": 1, "s": ["é", None]}),
    ]
    assert all(v.expected_hash() != entry.entry_hash for v in variants)


def test_payloads_with_floats_are_refused() -> None:
    """Floats do not round-trip exactly through jsonb: the encoding would not be canonical."""
    with pytest.raises(TypeError, match=r"payload\.x"):
        AuditRecord("a", T0, {"x": 1.5})


@pytest.mark.parametrize("seed", range(20))
def test_every_kind_of_edit_is_named_at_the_right_entry(seed: int) -> None:
    """Random edits (changed payload or hash, deleted, swapped, inserted entry) are detected,
    and the report names the edited entry or the one just after it."""
    rng = random.Random(seed)  # noqa: S311 - reproducible, not secret
    entries = build(30)
    where = rng.randrange(len(entries) - 1)
    kind = ["payload", "hash", "delete", "swap", "insert"][seed % 5]
    edited = list(entries)
    if kind == "payload":
        edited[where] = replace(entries[where], payload={"n": -1})
    elif kind == "hash":
        edited[where] = replace(entries[where], entry_hash=bytes(32))
    elif kind == "delete":
        del edited[where]
    elif kind == "swap":
        a, b = edited[where], edited[where + 1]
        edited[where], edited[where + 1] = replace(b, seq=a.seq), replace(a, seq=b.seq)
    else:
        forged = chain(TENANT, entries[where].seq, entries[where].entry_hash, AuditRecord("x", T0))
        edited.insert(where + 1, forged)
    head = Head(entries[-1].seq, entries[-1].entry_hash, 0)
    report = verify(edited, head)
    assert not report.ok, kind
    assert report.bad_seq is not None
    assert report.bad_seq <= where + 3, (kind, where, report)


def test_a_checkpoint_signature_verifies_and_anchors_a_pruned_chain() -> None:
    """Entries up to a checkpoint can go: verification starts from the signed hash."""
    entries = build(10)
    checkpoint = SIGNER.sign(TENANT, 4, entries[3].entry_hash, T0)
    assert SIGNER.verifies(checkpoint)
    pruned = Frontier(0, [])
    for entry in entries[:4]:
        pruned.append(entry.leaf_hash())
    head = Head(10, entries[-1].entry_hash, 4, pruned_frontier=pruned.packed())
    report = verify(entries[4:], head, [checkpoint])
    assert (report.ok, report.first_seq, report.entries_checked) == (True, 5, 6)
    # Without the pruned entries' range the tree cannot be recomputed: said (probe IJ).
    missing = verify(entries[4:], Head(10, entries[-1].entry_hash, 4), [checkpoint])
    assert (missing.ok, missing.bad_seq) == (False, 5)


def test_a_forged_or_foreign_checkpoint_fails() -> None:
    """A changed signature, another key's signature, or a checkpoint past the head fails."""
    entries = build(6)
    good = SIGNER.sign(TENANT, 3, entries[2].entry_hash, T0)
    bad_signature = replace(good, signature=bytes(64))
    other = CheckpointSigner(bytes(32)).sign(TENANT, 3, entries[2].entry_hash, T0)
    beyond = SIGNER.sign(TENANT, 9, entries[2].entry_hash, T0)
    for checkpoint in (bad_signature, other):
        report = verify(entries, checkpoints=[checkpoint])
        assert (report.ok, report.bad_seq) == (False, 3)
    assert verify(entries, checkpoints=[beyond]).bad_seq == 9
    pruned = verify(entries[3:], Head(6, entries[-1].entry_hash, 3), [bad_signature])
    assert (pruned.ok, pruned.bad_seq) == (False, 3)
    missing = verify(entries[3:], Head(6, entries[-1].entry_hash, 3), [])
    assert not missing.ok


def test_a_head_that_disagrees_is_reported() -> None:
    """Entries missing at the end, or beyond the head, or a head hash that differs."""
    entries = build(5)
    assert verify(entries[:4], Head(5, entries[-1].entry_hash, 0)).bad_seq == 5
    assert verify(entries, Head(4, entries[3].entry_hash, 0)).bad_seq == 5
    assert verify(entries, Head(5, bytes(32), 0)).bad_seq == 5


def test_the_proof_document_carries_what_a_verifier_needs() -> None:
    """The published proof holds the signed message, signature and public key in hex."""
    checkpoint = SIGNER.sign(TENANT, 1, build(1)[0].entry_hash, T0)
    proof = checkpoint.proof(SIGNER.public_key)
    assert proof["signed_message"] == checkpoint.message().decode()
    assert bytes.fromhex(proof["signature"]) == checkpoint.signature
    assert bytes.fromhex(proof["public_key"]) == SIGNER.public_key
    with pytest.raises(ValueError, match="32 bytes"):
        CheckpointSigner(b"short")


def test_heads_signed_before_a_rotation_verify_under_the_retired_key() -> None:
    """Tree heads signed by the key before a rotation: with its public half retired they
    verify; without it the check goes on to the end, names an edit further on first, and
    otherwise says which key signed what (it said "bad signature" at the first head and
    checked nothing after it: later edits went unnamed; probe QC)."""
    entries = build(8)
    old, new = CheckpointSigner(bytes(32)), CheckpointSigner(bytes(range(1, 33)))
    tree = Frontier(0, [])
    heads = []
    for entry in entries:
        tree.append(entry.leaf_hash())
        if entry.seq in (2, 6):
            heads.append(old.sign_tree(TENANT, entry.seq, tree.root(), T0))
    head = Head(8, entries[-1].entry_hash, 0)

    def checked(signer: CheckpointSigner, chain: list[AuditEntry]):  # type: ignore[no-untyped-def]
        verifier = ChainVerifier(TENANT, head, (), signer, heads)
        verifier.feed(chain)
        return verifier.finish()

    unknown = checked(new, entries)
    assert (unknown.ok, unknown.bad_seq, unknown.entries_checked) == (False, 2, 8)
    assert f"signed by key {old.key_id}, neither this key ({new.key_id})" in unknown.problem
    edited = [*entries[:4], replace(entries[4], action="consent.withdrawn"), *entries[5:]]
    assert checked(new, edited).bad_seq == 5  # the edit, not the head signed before it
    rotated = CheckpointSigner(bytes(range(1, 33)), retired=[old.public_key])
    assert checked(rotated, entries).ok
    assert rotated.public_key_of(old.key_id) == old.public_key
    assert new.public_key_of(old.key_id) is None  # never the current key for another's head
    forged = replace(heads[1], signature=bytes(64))
    verifier = ChainVerifier(TENANT, head, (), rotated, [heads[0], forged])
    verifier.feed(entries)
    report = verifier.finish()
    assert (report.ok, report.bad_seq) == (False, 6)
    assert "bad signature" in report.problem
