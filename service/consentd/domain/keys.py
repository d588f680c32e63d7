"""API keys: format, parsing and the digest that is the only thing stored.

A key reads `ck_<tenant>_<key id>_<secret>`: the tenant's UUID and a random key id in base32
form the public prefix it is looked up by; the 160-bit secret is shown once and stored only as
its SHA-256 (a random secret needs no slow hash).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

PREFIX = "ck"
KEY_ID_BYTES = 10
SECRET_BYTES = 20


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    return base64.b32decode(text.upper() + "=" * (-len(text) % 8))


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A parsed key. `secret` is a credential: never log it, never store it."""

    tenant_id: UUID
    key_id: str
    secret: str

    def __repr__(self) -> str:
        return f"ApiKey(tenant_id={self.tenant_id}, key_id={self.key_id!r}, <secret redacted>)"

    @property
    def token(self) -> str:
        return f"{PREFIX}_{_b32(self.tenant_id.bytes)}_{self.key_id}_{self.secret}"

    @property
    def digest(self) -> bytes:
        return secret_digest(self.secret)


def new_api_key(tenant_id: UUID) -> ApiKey:
    return ApiKey(
        tenant_id, _b32(secrets.token_bytes(KEY_ID_BYTES)), _b32(secrets.token_bytes(SECRET_BYTES))
    )


def parse_api_key(token: str) -> ApiKey | None:
    """The key a token spells, or None for anything that is not one of ours."""
    parts = token.split("_")
    if len(parts) != 4 or parts[0] != PREFIX or len(token) > 120:
        return None
    _, tenant, key_id, secret = parts
    try:
        tenant_bytes, key_bytes, secret_bytes = _unb32(tenant), _unb32(key_id), _unb32(secret)
    except (binascii.Error, ValueError):
        return None
    if (len(tenant_bytes), len(key_bytes), len(secret_bytes)) != (16, KEY_ID_BYTES, SECRET_BYTES):
        return None
    return ApiKey(UUID(bytes=tenant_bytes), key_id, secret)


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def digest_matches(secret: str, stored: bytes) -> bool:
    return hmac.compare_digest(secret_digest(secret), stored)
