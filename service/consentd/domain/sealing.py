"""Crypto-shredding: a subject's personal fields are sealed with a data key of its own.

Each subject gets a random 256-bit data key. The key is stored wrapped (AES-256-GCM) under a key
derived from the service secret and the tenant, so neither a database dump nor the secret alone
reveals a value. Values are sealed with AES-256-GCM under the data key; the associated data binds
each ciphertext to its tenant, subject and field, so a ciphertext moved to another row does not
open. Erasing a subject destroys its wrapped key: every value sealed under it is gone for good,
while the rows that hold the ciphertexts (history, audit) stay.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
_VERSION = b"\x01"


class SealError(ValueError):
    """A sealed value does not open under this key (wrong key, row or tampering)."""


def _aad(tenant_id: UUID, subject_id: UUID, label: str) -> bytes:
    return b"consentd/seal/v1|" + tenant_id.bytes + subject_id.bytes + label.encode()


def _seal(key: bytes, plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plain, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != _VERSION:
        raise SealError("not a sealed value of this format")
    nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise SealError("the sealed value does not open under this key") from None


class SubjectKey:
    """One subject's data key, unwrapped. Seal and open its personal fields."""

    __slots__ = ("_key", "subject_id", "tenant_id")

    def __init__(self, tenant_id: UUID, subject_id: UUID, key: bytes) -> None:
        self.tenant_id = tenant_id
        self.subject_id = subject_id
        self._key = key

    def __repr__(self) -> str:
        return f"SubjectKey({self.subject_id}, <redacted>)"

    def seal(self, label: str, value: str) -> bytes:
        return _seal(self._key, value.encode(), _aad(self.tenant_id, self.subject_id, label))

    def open(self, label: str, sealed: bytes) -> str:
        """The value; raises SealError."""
        return _open(self._key, sealed, _aad(self.tenant_id, self.subject_id, label)).decode()


def secret_check(secret: bytes) -> bytes:
    """A keyed digest of a fixed text under the service secret: what a start compares the
    secret with once no subject's data key is left to open (migration 0050)."""
    return hmac.new(secret, b"consentd secret check", hashlib.sha256).digest()


class Keyring:
    """Makes, wraps and unwraps subjects' data keys under the service secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the service secret must be at least 32 bytes")
        self._secret = secret
        self._wrapping: dict[UUID, bytes] = {}  # per tenant: derived once (an import makes many)
        self.check = secret_check(secret)

    def _wrapping_key(self, tenant_id: UUID) -> bytes:
        key = self._wrapping.get(tenant_id)
        if key is None:
            key = hmac.new(
                self._secret, b"subject-key-wrap:" + tenant_id.bytes, hashlib.sha256
            ).digest()
            self._wrapping[tenant_id] = key
        return key

    def new_key(self, tenant_id: UUID, subject_id: UUID) -> tuple[SubjectKey, bytes]:
        """A fresh data key and its wrapped form (what the database stores)."""
        raw = AESGCM.generate_key(bit_length=256)
        return SubjectKey(tenant_id, subject_id, raw), self.wrap(tenant_id, subject_id, raw)

    def wrap(self, tenant_id: UUID, subject_id: UUID, raw: bytes) -> bytes:
        aad = _aad(tenant_id, subject_id, "data-key")
        return _seal(self._wrapping_key(tenant_id), raw, aad)

    def unwrap(self, tenant_id: UUID, subject_id: UUID, wrapped: bytes) -> SubjectKey:
        """Raises SealError when the wrapped key is not this subject's under this secret."""
        aad = _aad(tenant_id, subject_id, "data-key")
        raw = _open(self._wrapping_key(tenant_id), wrapped, aad)
        return SubjectKey(tenant_id, subject_id, raw)
