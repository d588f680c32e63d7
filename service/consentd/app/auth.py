"""Who is calling. Credentials arrive as gRPC metadata (`authorization: Bearer ...`): an API key
of the tenant, or a portal token (JWT, ES256 or RS256) that acts for one subject."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

import jwt

from consentd.app.ports import CallerDirectory, Clock
from consentd.app.throttle import TokenBuckets
from consentd.domain.errors import InvalidInput, Unauthenticated
from consentd.domain.identifiers import normalise_external_id
from consentd.domain.keys import digest_matches, parse_api_key
from consentd.domain.tenancy import Principal, Scope

V = TypeVar("V")
AUTHORIZATION = "authorization"
TOKEN_ALGORITHMS = ["ES256", "RS256"]
TENANT_CLAIM = "tid"
# How long a verified credential is trusted without a new look-up: revocation takes effect
# within this many seconds.
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
REFUSED_SECONDS = 1.0
# Look-ups of credentials not in the cache, per second: a flood of made-up keys is refused at
# this rate, not a query each, and leaves the pool and the event loop to the known callers,
# whose credentials stay cached. What is neither one of our keys nor a token naming a tenant is
# refused without a look-up and spends nothing; the rest spend from the bucket of the tenant
# they name when a credential of it was valid here once (a flood naming one tenant leaves the
# others' new callers alone), from one shared bucket otherwise (made-up tenant ids).
LOOKUPS_PER_SECOND = 100.0
LOOKUP_BURST = 200.0
# Fingerprints of credentials found valid once, at most (then forgotten all at once).
KNOWN_ENTRIES = 100_000
LOOKUPS_EXHAUSTED = "too many unknown credentials presented at once; retry later"
# Portal tokens act for a person: they must expire within this long of being used.
MAX_TOKEN_LIFETIME = timedelta(hours=24)


class Authenticator(Protocol):
    async def authenticate(self, metadata: Mapping[str, str], *, fresh: bool = False) -> Principal:
        """The caller, or Unauthenticated (the same answer whatever was wrong); `fresh`: looked
        up again, not taken from a cache (an open stream's periodic re-check)."""
        ...


class CredentialAuthenticator:
    """API keys and portal tokens, verified against the tenant's stored keys and issuers."""

    def __init__(self, directory: CallerDirectory, clock: Clock) -> None:
        self._directory = directory
        self._clock = clock
        # fingerprint -> (monotonic deadline, principal); refused credentials apart, so a flood
        # of them never pushes a known caller out
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._refused: dict[bytes, float] = {}
        # Credentials that were valid once: looked up again when their cache entry expires
        # without waiting for the unknown ones' allowance (a flood keeps it empty).
        self._known: set[bytes] = set()
        self._tenants: set[UUID] = set()  # tenants a credential was valid for (bucket keys)
        self._lookups = TokenBuckets(LOOKUPS_PER_SECOND, LOOKUP_BURST)

    async def authenticate(self, metadata: Mapping[str, str], *, fresh: bool = False) -> Principal:
        """`authorization: Bearer <credential>` exactly: one space, no other blank anywhere
        (`Bearer  x` or a trailing space is a credential some proxy rewrote: refused)."""
        scheme, _, credential = metadata.get(AUTHORIZATION, "").partition(" ")
        if scheme.lower() != "bearer" or not credential or len(credential.split()) != 1:
            raise Unauthenticated()
        if credential != credential.strip():
            raise Unauthenticated()
        fingerprint = hashlib.sha256(credential.encode("utf-8", "replace")).digest()
        if not fresh:
            now = time.monotonic()
            cached = self._cache.get(fingerprint)
            if cached is not None and cached[0] > now:
                return cached[1]
            if self._refused.get(fingerprint, 0.0) > now:
                raise Unauthenticated()
            if fingerprint not in self._known:
                claimed = _claimed_tenant(credential)
                bucket = claimed if claimed in self._tenants else None
                self._lookups.take(bucket, message=LOOKUPS_EXHAUSTED)
        try:
            if credential.startswith("ck_"):
                principal, valid_until = await self._api_key(credential)
            else:
                principal, valid_until = await self._portal_token(credential)
        except Unauthenticated:
            # A refused credential is remembered briefly too: a flood of bad keys costs no
            # database look-up each (no tenant is known yet to rate-limit them).
            self._known.discard(fingerprint)
            _remember(self._refused, fingerprint, time.monotonic() + REFUSED_SECONDS)
            raise
        ttl = CACHE_SECONDS
        if valid_until is not None:
            ttl = min(ttl, (valid_until - self._clock()).total_seconds())
        if ttl > 0:
            _remember(self._cache, fingerprint, (time.monotonic() + ttl, principal))
        if len(self._known) >= KNOWN_ENTRIES:
            self._known.clear()
        self._known.add(fingerprint)
        self._tenants.add(principal.tenant.tenant_id)
        return principal

    async def _api_key(self, credential: str) -> tuple[Principal, datetime | None]:
        key = parse_api_key(credential)
        if key is None:
            raise Unauthenticated()
        found = await self._directory.api_key(key.tenant_id, key.key_id)
        if found is None:
            raise Unauthenticated()
        tenant, stored = found
        if not digest_matches(key.secret, stored.secret_sha256) or not stored.usable_at(
            self._clock()
        ):
            raise Unauthenticated()
        principal = Principal(tenant=tenant, caller=f"key:{stored.key_id}", scopes=stored.scopes)
        return principal, stored.expires_at

    async def _portal_token(self, credential: str) -> tuple[Principal, datetime | None]:
        claims = _unverified_claims(credential)
        tenant_id, issuer_name = _tenant_and_issuer(claims)
        found = await self._directory.issuer(tenant_id, issuer_name)
        if found is None:
            raise Unauthenticated()
        tenant, issuer = found
        try:
            verified = jwt.decode(
                credential,
                key=issuer.public_key_pem,
                algorithms=TOKEN_ALGORITHMS,
                audience=issuer.audience,
                issuer=issuer.issuer,
                options={"require": ["exp", "iss", "aud", "sub", TENANT_CLAIM]},
                leeway=30,
            )
            subject = normalise_external_id(str(verified["sub"]), "sub")
            expires = datetime.fromtimestamp(int(verified["exp"]), UTC)
        except (jwt.PyJWTError, InvalidInput, ValueError, OverflowError):
            raise Unauthenticated() from None
        if expires - self._clock() > MAX_TOKEN_LIFETIME:
            raise Unauthenticated()  # a portal token is short-lived by design
        digest = hashlib.sha256(subject.value.encode()).hexdigest()[:16]
        caller = f"token:{issuer.issuer}:{digest}"
        principal = Principal(
            tenant=tenant, caller=caller, scopes=frozenset({Scope.SELF}), subject=subject
        )
        return principal, expires


def _remember(cache: dict[bytes, V], fingerprint: bytes, value: V) -> None:
    """Keep `value`; a full cache is emptied first (entries expire within seconds anyway)."""
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[fingerprint] = value


def _claimed_tenant(credential: str) -> UUID:
    """The tenant a credential names, read without a look-up; Unauthenticated when it is
    neither one of our API keys nor a portal token naming a tenant and an issuer."""
    if credential.startswith("ck_"):
        key = parse_api_key(credential)
        if key is None:
            raise Unauthenticated()
        return key.tenant_id
    return _tenant_and_issuer(_unverified_claims(credential))[0]


def _unverified_claims(credential: str) -> dict[str, Any]:
    """Claims read only to find the tenant and issuer whose key then verifies the token."""
    try:
        if jwt.get_unverified_header(credential).get("alg") not in TOKEN_ALGORITHMS:
            raise Unauthenticated()
        claims: dict[str, Any] = jwt.decode(credential, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthenticated() from None
    return claims


def _tenant_and_issuer(claims: dict[str, Any]) -> tuple[UUID, str]:
    try:
        return UUID(str(claims[TENANT_CLAIM])), str(claims["iss"])
    except (KeyError, ValueError):
        raise Unauthenticated() from None
