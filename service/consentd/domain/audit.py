"""The audit chain: canonical encoding, entry hashes, signed checkpoints and verification.

Each tenant has one chain. Entry `seq` (1, 2, 3, ... with no gap) commits to the entry before it:

    hash(n) = SHA-256(canonical(tenant, n, hash(n-1), time, action, payload))

with hash(0) = 32 zero bytes (format 1, entries written before migration 0009). Format 2 entries
hash every column of their row, as the leaf of an RFC 9162 Merkle tree (see domain/merkle.py):

    hash(n) = SHA-256(0x00 || canonical(format, tenant, n, hash(n-1), time, action, subject,
                                         fact, payload))

so the chain and the tree share the entry's hash. The canonical encoding is UTF-8 JSON with
sorted keys, no spaces, times as `YYYY-MM-DDTHH:MM:SS.ffffffZ` and hashes as lowercase hex.
Payloads name people by pseudonymous ids only (subject ids; an erasure's keyed digests).

A checkpoint is an Ed25519 signature over (tenant, seq, hash(seq), time): published outside the
database it proves the chain up to `seq`, and once the entries up to it have gone (the log
retention), verification starts from it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from consentd.domain.canonical import canonical, check_json, stamp

GENESIS = bytes(32)
Payload = Mapping[str, Any]


class Action:
    """Names of audited changes (dotted, past tense)."""

    CONSENT_RECORDED = "consent.recorded"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    CONSENT_CONFIRMED = "consent.confirmed"  # double opt-in: pending grants confirmed
    # Logged again before a prune (store/audit_carry.py): a fact in force, another standing word.
    CONSENT_CARRIED = "consent.carried"
    ENTRY_CARRIED = "audit.entry_carried"
    PURPOSE_PUT = "catalog.purpose_put"
    NOTICE_PUBLISHED = "catalog.notice_published"
    TENANT_CREATED = "tenant.created"
    TENANT_RENAMED = "tenant.renamed"  # the name its messages and pages show
    RIGHTS_DESK_SET = "tenant.rights_desk_set"  # its rights desk (the address's digest)
    SUBJECT_ERASED = "subject.erased"
    SUBJECT_RESTRICTED = "subject.restricted"
    RESTRICTION_LIFTED = "subject.restriction_lifted"
    SUBJECT_OBJECTED = "subject.objected"
    CONTACT_RECTIFIED = "subject.contact_rectified"
    SUBJECT_EXPORTED = "subject.exported"
    REQUEST_TRANSITIONED = "rights_request.transitioned"
    RETENTION_SETTINGS_PUT = "retention.settings_put"
    RETENTION_PURGED = "retention.purged"
    AUDIT_PRUNED = "audit.pruned"
    KEY_ISSUED = "api_key.issued"
    KEY_REVOKED = "api_key.revoked"
    ISSUER_PUT = "token_issuer.put"
    ISSUER_REMOVED = "token_issuer.removed"
    COOKIE_CHOICE_RECORDED = "cookies.choice_recorded"
    VISITOR_LINKED = "cookies.visitor_linked"
    COOKIE_POLICY_PUT = "cookies.policy_put"
    COOKIES_PURGED = "cookies.purged"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A change to append: what happened, when, and a payload without personal data."""

    action: str
    recorded_at: datetime
    payload: Payload = field(default_factory=dict)
    subject_id: UUID | None = None
    fact_id: UUID | None = None

    def __post_init__(self) -> None:
        check_json(self.payload, "payload")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An entry as stored: a record placed in the chain."""

    tenant_id: UUID
    seq: int
    prev_hash: bytes
    recorded_at: datetime
    action: str
    payload: Payload
    subject_id: UUID | None
    entry_hash: bytes
    format: int = 1
    fact_id: UUID | None = None

    def expected_hash(self) -> bytes:
        if self.format == FORMAT:
            return leaf_hash_of(self.leaf_input())
        return entry_hash(
            self.tenant_id,
            self.seq,
            self.prev_hash,
            at=self.recorded_at,
            action=self.action,
            payload=self.payload,
        )

    def leaf_input(self) -> bytes:
        """The bytes the Merkle leaf hashes: the whole row (format 2), or the format-1 hash."""
        return self.entry_hash if self.format != FORMAT else leaf_input(
            self.tenant_id, self.seq, self.prev_hash, at=self.recorded_at, action=self.action,
            subject_id=self.subject_id, fact_id=self.fact_id, payload=self.payload,
        )  # fmt: skip

    def leaf_hash(self) -> bytes:
        return stored_leaf(self.entry_hash, self.format)


def stored_leaf(digest: bytes, fmt: int) -> bytes:
    """The RFC 9162 leaf hash of a stored entry: its hash itself for format 2, the leaf of its
    hash for format 1 (whose hash is not in leaf form)."""
    return digest if fmt == FORMAT else leaf_hash_of(digest)


FORMAT = 2


def leaf_hash_of(data: bytes) -> bytes:
    """SHA-256(0x00 || data): an RFC 9162 leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def entry_hash(
    tenant_id: UUID, seq: int, prev: bytes, *, at: datetime, action: str, payload: Payload
) -> bytes:
    document = {
        "tenant": str(tenant_id),
        "seq": seq,
        "prev": prev.hex(),
        "time": stamp(at),
        "action": action,
        "payload": payload,
    }
    return hashlib.sha256(canonical(document)).digest()


def leaf_input(
    tenant_id: UUID,
    seq: int,
    prev: bytes,
    *,
    at: datetime,
    action: str,
    subject_id: UUID | None,
    fact_id: UUID | None,
    payload: Payload,
) -> bytes:
    """A format-2 entry's canonical row: what its hash (its Merkle leaf) covers."""
    return canonical(
        {
            "format": FORMAT,
            "tenant": str(tenant_id),
            "seq": seq,
            "prev": prev.hex(),
            "time": stamp(at),
            "action": action,
            "subject": str(subject_id) if subject_id else None,
            "fact": str(fact_id) if fact_id else None,
            "payload": payload,
        }
    )


def chain(tenant_id: UUID, last_seq: int, last_hash: bytes, record: AuditRecord) -> AuditEntry:
    """The (format 2) entry that follows (last_seq, last_hash)."""
    return chained(
        tenant_id, last_seq, last_hash, at=record.recorded_at, action=record.action,
        payload=record.payload, subject_id=record.subject_id, fact_id=record.fact_id,
    )  # fmt: skip


def chained(
    tenant_id: UUID,
    last_seq: int,
    last_hash: bytes,
    *,
    at: datetime,
    action: str,
    payload: Payload,
    subject_id: UUID | None,
    fact_id: UUID | None,
) -> AuditEntry:
    """`chain` of a record already checked (the sequencer's queued rows: their payloads were
    checked when queued, or built by the database), without making the record."""
    seq = last_seq + 1
    row = leaf_input(
        tenant_id, seq, last_hash, at=at, action=action, subject_id=subject_id,
        fact_id=fact_id, payload=payload,
    )  # fmt: skip
    digest = leaf_hash_of(row)
    return AuditEntry(
        tenant_id, seq, last_hash, at, action, payload, subject_id, digest, FORMAT, fact_id
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that entry `seq` of the tenant's chain has hash `entry_hash`."""

    tenant_id: UUID
    seq: int
    entry_hash: bytes
    signed_at: datetime
    key_id: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(
            self.tenant_id, self.seq, self.entry_hash, self.signed_at, self.key_id
        )

    def proof(self, public_key: bytes | None) -> dict[str, Any]:
        """The JSON document to publish: verifiable with any Ed25519 implementation.
        `public_key`: the one of the key that signed it (`key_id`'s), None when unknown."""
        return {
            "format": "consentd-audit-checkpoint/1",
            "tenant": str(self.tenant_id),
            "seq": self.seq,
            "hash": self.entry_hash.hex(),
            "time": stamp(self.signed_at),
            "key": self.key_id,
            "signed_message": self.message().decode(),
            "signature": self.signature.hex(),
            "public_key": public_key.hex() if public_key is not None else None,
        }


def checkpoint_message(
    tenant_id: UUID, seq: int, digest: bytes, at: datetime, key_id: str
) -> bytes:
    return canonical(
        {
            "format": "consentd-audit-checkpoint/1",
            "tenant": str(tenant_id),
            "seq": seq,
            "hash": digest.hex(),
            "time": stamp(at),
            "key": key_id,
        }
    )


@dataclass(frozen=True, slots=True)
class Head:
    """The chain's head row: the last entry, and how far retention has pruned."""

    last_seq: int
    last_hash: bytes
    pruned_through: int
    # The Merkle root of 1..last_seq, and its frontier (None: a head pruned before 0009).
    root_hash: bytes | None = None
    frontier: bytes | None = None
    pruned_frontier: bytes | None = None  # the pruned entries' compact range (retention)
