"""Builders for the security tests: credentials of each kind, portal tokens, and ways to compare
two answers of the server byte for byte."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import grpc
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from consentd.store.tables import (
    audit_entries,
    audit_queue,
    consent_events,
    current_consents,
    subject_identifiers,
    subjects,
)
from tests.conftest import owner

DETAILS_KEY = "grpc-status-details-bin"
SUBJECT_TABLES = (subjects, subject_identifiers, consent_events, current_consents)


def es256_key_pair() -> tuple[str, str]:
    """A fresh P-256 key pair as (private PEM, public PEM)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@dataclass(frozen=True)
class Portal:
    """A trusted token issuer of one tenant, able to sign portal tokens."""

    tenant: Tenant
    issuer: str
    audience: str
    private_pem: str
    public_pem: str

    def claims(self, subject: str, **overrides: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "exp": int(time.time()) + 600,
            "sub": subject,
            "tid": str(self.tenant.tenant_id),
        }
        claims.update(overrides)
        return claims

    def token(self, subject: str, **overrides: Any) -> str:
        """A correctly signed ES256 portal token for `subject`; `overrides` replace claims. Its
        payload is UTF-8 as most JWT libraries write it (PyJWT alone escapes to ASCII)."""
        claims = self.claims(subject, **overrides)
        return jwt.encode(claims, self.private_pem, algorithm="ES256", json_encoder=_Utf8)

    def token_without(self, claim: str, subject: str = "someone") -> str:
        """A correctly signed token missing one claim."""
        claims = {k: v for k, v in self.claims(subject).items() if k != claim}
        return jwt.encode(claims, self.private_pem, algorithm="ES256")


async def register_portal(
    admin: AdminUseCases,
    tenant: Tenant,
    issuer: str = "https://portal.example.fr",
    audience: str = "consentd",
) -> Portal:
    private_pem, public_pem = es256_key_pair()
    await admin.put_issuer(tenant.slug, issuer, audience, public_pem)
    return Portal(tenant, issuer, audience, private_pem, public_pem)


class _Utf8(json.JSONEncoder):
    """JSON with characters beyond ASCII as UTF-8, not `\\u` escapes."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{**options, "ensure_ascii": False})


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unsigned_token(claims: dict[str, Any], header: dict[str, Any], signature: bytes = b"") -> str:
    """A JWT assembled by hand (PyJWT refuses to build some of the forgeries we need)."""
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


def hs256_token(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 token whose HMAC key is `secret` (e.g. the issuer's public key PEM)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


async def issue(admin: AdminUseCases, tenant: Tenant, *scopes: str) -> str:
    """A new API key token of `tenant` with `scopes`."""
    key, _ = await admin.issue_key(tenant.slug, list(scopes), name="security tests")
    return key.token


async def fails(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error the call ends with; never UNKNOWN."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() != grpc.StatusCode.UNKNOWN, raised.value.details()
    return raised.value


def status_details(error: grpc.aio.AioRpcError) -> bytes | None:
    for key, value in error.trailing_metadata() or ():
        if key == DETAILS_KEY:
            return bytes(value) if isinstance(value, bytes | bytearray) else value.encode()
    return None


def answer_of(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str | None, bytes | None]:
    """What a caller can see of an error: code, message, and the google.rpc.Status details."""
    return error.code(), error.details(), status_details(error)


async def outcome(call: Awaitable[Any]) -> tuple[str, Any]:
    """The whole answer of a call, comparable with ==: the response bytes, or the error."""
    try:
        response = await call
    except grpc.aio.AioRpcError as error:
        failed = error
    else:
        return "ok", response.SerializeToString(deterministic=True)
    assert failed.code() != grpc.StatusCode.UNKNOWN, failed.details()
    return "error", answer_of(failed)


async def row_counts(app: App, tenant_id: UUID) -> dict[str, int]:
    """The tenant's rows in the subject tables, counted by the owner (no row-level security)."""
    counts: dict[str, int] = {}
    async with owner(app).connect() as conn:
        for table in SUBJECT_TABLES:
            query = sa.select(sa.func.count()).where(table.c.tenant_id == tenant_id)
            counts[table.name] = (await conn.execute(query)).scalar_one()
    return counts


async def logged_payloads(app: App, tenant: Tenant, action: str) -> list[dict[str, Any]]:
    """The payloads of the tenant's audit records of `action`, queued or integrated."""
    async with owner(app).connect() as conn:
        logged = await conn.execute(
            sa.select(audit_queue.c.payload)
            .where(audit_queue.c.tenant_id == tenant.tenant_id)
            .where(audit_queue.c.action == action)
            .union_all(
                sa.select(audit_entries.c.payload)
                .where(audit_entries.c.tenant_id == tenant.tenant_id)
                .where(audit_entries.c.action == action)
            )
        )
        return list(logged.scalars())
