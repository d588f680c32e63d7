"""The audit log's Ed25519 key: it signs checkpoints and tree heads (the key never enters the
database). The keys it replaced are known by their public halves (CONSENTD_AUDIT_RETIRED_KEYS):
what they signed still verifies, under the key that signed it. A key id is the first 16 hex
digits of the SHA-256 of the raw 32-byte public key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consentd.domain.audit import Checkpoint, checkpoint_message
from consentd.domain.proofs import TreeHead, tree_head_message


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


class CheckpointSigner:
    """Ed25519 signing of checkpoints and tree heads with `seed`; `retired`: the raw public
    keys of the keys used before it (a rotation made every earlier head "bad signature", and
    `audit verify` checked no further: later edits went unnamed; probe QC)."""

    def __init__(self, seed: bytes, retired: Iterable[bytes] = ()) -> None:
        if len(seed) != 32:
            raise ValueError("the audit signing key must be 32 bytes (an Ed25519 seed)")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id_of(self.public_key)
        self._public = {key_id_of(k): k for k in retired} | {self.key_id: self.public_key}

    def sign(self, tenant_id: UUID, seq: int, digest: bytes, at: datetime) -> Checkpoint:
        message = checkpoint_message(tenant_id, seq, digest, at, self.key_id)
        return Checkpoint(tenant_id, seq, digest, at, self.key_id, self._key.sign(message))

    def sign_tree(self, tenant_id: UUID, size: int, root: bytes, at: datetime) -> TreeHead:
        message = tree_head_message(tenant_id, size, root, at, self.key_id)
        return TreeHead(tenant_id, size, root, at, self.key_id, self._key.sign(message))

    def knows(self, key_id: str) -> bool:
        """Whether `key_id` is this key or one of the retired ones."""
        return key_id in self._public

    def public_key_of(self, key_id: str) -> bytes | None:
        """The public key that signs as `key_id` (this one or a retired one); None for a key
        not known here (the current key was named, for a head it did not sign; probe RA)."""
        return self._public.get(key_id)

    def verifies(self, signed: Checkpoint | TreeHead) -> bool:
        """True when the key it names (this one or a retired one) signed it as it stands."""
        public = self._public.get(signed.key_id)
        if public is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signed.signature, signed.message())
        except InvalidSignature:
            return False
        return True
