"""A portal token's claims read before its signature is checked, and why a token was refused,
said to the operator only: the caller gets the one "missing or invalid credentials" (no oracle
for a forger), and an integrator minting tokens had nothing to go on (probe AJ: a `tid`
holding the slug, another `aud`, a lifetime over 24 hours all looked alike). At most one line
a second per reason, never the token or a claim's value."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import jwt
import structlog

from consentd.domain.errors import Unauthenticated
from consentd.domain.tenancy import StoredKey, tenant_id_of

log = structlog.get_logger("consentd.auth")
SAID_EVERY_SECONDS = 1.0
TOKEN_ALGORITHMS = ["ES256", "RS256"]
TENANT_CLAIM = "tid"
_said: dict[str, float] = {}


def refused(reason: str) -> Unauthenticated:
    """The error to raise for a portal token refused for `reason` (a fixed word of ours, or
    PyJWT's exception class name), logged as `portal_token_refused` once a second at most."""
    if _due(reason):
        log.info("portal_token_refused", reason=reason)
    return Unauthenticated()


def _due(said: str) -> bool:
    """Whether `said` was not logged within SAID_EVERY_SECONDS (then it is, from now)."""
    moment = time.monotonic()
    if moment - _said.get(said, -SAID_EVERY_SECONDS) < SAID_EVERY_SECONDS:
        return False
    if len(_said) > 10_000:  # one a key: keys refused once each are forgotten
        _said.clear()
    _said[said] = moment
    return True


def key_refused(tenant: str, key: StoredKey, now: datetime) -> Unauthenticated:
    """The error to raise for an API key presented whole (its secret matched) after it was
    revoked or expired, logged as `api_key_refused` with the tenant and the key's id (never
    its secret), once a second per key at most: only the tenant was named, or nothing, so an
    operator rotating keys could not find what still used the old one (probe QD)."""
    if _due(f"key:{key.key_id}"):
        revoked = key.revoked_at is not None and key.revoked_at <= now
        reason = "revoked" if revoked else "expired"
        log.warning("api_key_refused", tenant=tenant, key_id=key.key_id, reason=reason)
    return Unauthenticated()


def numeric_date(value: Any) -> datetime:
    """A JWT NumericDate (RFC 7519: a JSON number of seconds); a string or a boolean is not one.
    Raises ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a NumericDate")
    # Within 1970-9999: the C library refuses some values outside with OSError, which read as
    # a lost database (probe AN: a signed token with iat = -2**63 answered UNAVAILABLE).
    if not 0 <= value < _AFTER_9999:
        raise ValueError("a NumericDate outside 1970-9999")
    return datetime.fromtimestamp(value, UTC)


_AFTER_9999 = 253_402_300_800  # 10000-01-01T00:00:00Z


def unverified_claims(credential: str) -> dict[str, Any]:
    """Claims read only to find the tenant and issuer whose key then verifies the token."""
    try:
        if jwt.get_unverified_header(credential).get("alg") not in TOKEN_ALGORITHMS:
            raise refused("algorithm_not_es256_or_rs256")
        claims: dict[str, Any] = jwt.decode(credential, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise refused(type(error).__name__) from None
    return claims


def tenant_and_issuer(claims: dict[str, Any]) -> tuple[UUID, str]:
    if TENANT_CLAIM not in claims or "iss" not in claims:
        raise refused("no_tid_or_iss_claim")
    # One spelling, the canonical one (lowercase, hyphenated): "{...}", "urn:uuid:...", upper
    # case and undashed forms were taken too (probe AN), several tokens for one claim.
    tenant = tenant_id_of(claims[TENANT_CLAIM])
    if tenant is None:
        raise refused("tid_not_the_tenant_uuid")
    return tenant, str(claims["iss"])
