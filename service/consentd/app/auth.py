"""Who is calling. Credentials arrive as gRPC metadata (`authorization: Bearer ...`): an API key
of the tenant, or a portal token (JWT, ES256 or RS256) that acts for one subject."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol, TypeVar
from uuid import UUID

import jwt

from consentd.app.ports import CallerDirectory, Clock
from consentd.app.preference_links import PREFIX as LINK_PREFIX
from consentd.app.preference_links import PreferenceLinks
from consentd.app.throttle import TokenBuckets
from consentd.app.token_refusals import (
    TENANT_CLAIM,
    TOKEN_ALGORITHMS,
    key_refused,
    numeric_date,
    refused,
    tenant_and_issuer,
    unverified_claims,
)
from consentd.domain.errors import FailedPrecondition, InvalidInput, Unauthenticated
from consentd.domain.identifiers import normalise_external_id
from consentd.domain.keys import digest_matches, parse_api_key
from consentd.domain.tenancy import PURGED_MESSAGE, Principal, Scope, Tenant, TokenIssuer

Issuer = tuple[Tenant, TokenIssuer]  # a tenant's trusted issuer, as the directory reads it
K = TypeVar("K")
V = TypeVar("V")
AUTHORIZATION = "authorization"
# How long a verified credential is trusted without a new look-up: revocation takes effect
# within this many seconds.
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
REFUSED_SECONDS = 1.0
# Look-ups of credentials not in the cache, per second: a flood of made-up keys is refused at
# this rate, not a query each, and leaves the pool and the event loop to the known callers,
# whose credentials stay cached. What is neither one of our keys nor a token naming a tenant is
# refused without a look-up. For a tenant a credential was valid for here once: a key id it
# does not have is refused from its list of key ids (read again at most every LIST_SECONDS),
# a key it has spends from that key's own bucket, and a token is verified with its issuer's
# cached public key (made-up tokens cost no look-up; a new person's token is served at once).
# A tenant that exists (the list of tenant ids, read again on a miss at most every
# LIST_SECONDS) spends from its own bucket; a made-up tenant id from one shared bucket. (A flood
# of made-up keys naming a tenant, whose id every page key shows, kept that tenant's new keys
# and portal users out; one naming random tenant ids, right after a restart, every tenant's.)
LOOKUPS_PER_SECOND = 100.0
LOOKUP_BURST = 200.0
LIST_SECONDS = 1.0
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

    def cached(self, metadata: Mapping[str, str]) -> Principal | None:
        """The caller when its `Bearer` credential was found valid within the cache time: no
        look-up, no await (what a port checks before every call; authenticate() otherwise)."""
        ...

    async def exists(self, tenant_id: UUID) -> bool:
        """Whether the tenant exists, from a list read again at most every LIST_SECONDS: what
        a URL naming a tenant is checked against before anything of that tenant is read."""
        ...


class CredentialAuthenticator:
    """API keys and portal tokens, verified against the tenant's stored keys and issuers."""

    def __init__(self, directory: CallerDirectory, clock: Clock, links: PreferenceLinks) -> None:
        self._directory = directory
        self._clock = clock
        self._links = links  # preference links (p1.) this service makes, and callers' pseudonyms
        # fingerprint -> (monotonic deadline, principal); refused credentials apart, so a flood
        # of them never pushes a known caller out
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._refused: dict[bytes, float] = {}
        # Credentials that were valid once: looked up again when their cache entry expires
        # without waiting for the unknown ones' allowance (a flood keeps it empty).
        self._known: set[bytes] = set()
        self._tenants: set[UUID] = set()  # tenants a credential was valid for
        self._existing: tuple[float, frozenset[UUID]] = (-LIST_SECONDS, frozenset())
        self._listing: asyncio.Future[None] | None = None  # the list's read under way
        self._lookups = TokenBuckets(LOOKUPS_PER_SECOND, LOOKUP_BURST)
        # tenant -> (monotonic time read, its key ids); (tenant, issuer) -> (deadline, found)
        self._key_ids: dict[UUID, tuple[float, frozenset[str]]] = {}
        self._issuers: dict[tuple[UUID, str], tuple[float, Issuer | None]] = {}

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
        charge = not fresh and fingerprint not in self._known
        try:
            if credential.startswith("ck_"):
                principal, valid_until = await self._api_key(credential, charge)
            elif credential.startswith(LINK_PREFIX):
                principal, valid_until = await self._link(credential, charge)
            else:
                principal, valid_until = await self._portal_token(credential, charge)
        except Unauthenticated:
            # A refused credential is remembered briefly too: a flood of bad keys costs no
            # database look-up each (no tenant is known yet to rate-limit them).
            self._known.discard(fingerprint)
            _remember(self._refused, fingerprint, time.monotonic() + REFUSED_SECONDS)
            raise
        ttl = 0.0 if credential.startswith(LINK_PREFIX) else CACHE_SECONDS  # a link: each time
        if valid_until is not None:
            ttl = min(ttl, (valid_until - self._clock()).total_seconds())
        if ttl > 0:
            _remember(self._cache, fingerprint, (time.monotonic() + ttl, principal))
        if len(self._known) >= KNOWN_ENTRIES:
            self._known.clear()
        self._known.add(fingerprint)
        self._tenants.add(principal.tenant.tenant_id)
        return principal

    def cached(self, metadata: Mapping[str, str]) -> Principal | None:
        header = metadata.get(AUTHORIZATION, "")
        if header[:7].lower() != "bearer ":  # `Foobar <key>` passed, and its message was read
            return None
        found = self._cache.get(hashlib.sha256(header[7:].encode("utf-8", "replace")).digest())
        return found[1] if found is not None and found[0] > time.monotonic() else None

    async def _spend(self, tenant_id: UUID, bucket: object) -> None:
        """One look-up of the allowance: `bucket`'s for a tenant that exists, else the shared."""
        known = await self.exists(tenant_id)
        self._lookups.take(bucket if known else None, LOOKUPS_EXHAUSTED)

    async def exists(self, tenant_id: UUID) -> bool:
        """Whether the tenant exists: seen valid here, or in the list of tenant ids, read again
        on a miss at most every LIST_SECONDS (a tenant created since waits that long)."""
        if tenant_id in self._tenants:
            return True
        if tenant_id not in self._existing[1] and self._stale():
            # One read at a time, its outcome everyone's: made-up ids arriving together each
            # read the list (probe BE); callers queued behind a lock each waited a database
            # that did not answer its whole timeout again, N callers N x 5 s (probe PB).
            if self._listing is None:  # bounded by the statements' ceiling, no caller's
                read = self._read_tenant_ids()
                loop = asyncio.get_running_loop()
                self._listing = loop.create_task(read, context=contextvars.Context())
                self._listing.add_done_callback(self._read_done)
            await asyncio.shield(self._listing)  # a caller gone leaves the read to the others
        return tenant_id in self._existing[1]

    async def _read_tenant_ids(self) -> None:
        self._existing = (time.monotonic(), await self._directory.tenant_ids())

    def _read_done(self, read: asyncio.Future[None]) -> None:
        self._listing = None
        if not read.cancelled():
            read.exception()  # its callers have it (none left: nobody to tell)

    def _stale(self) -> bool:
        return time.monotonic() - self._existing[0] >= LIST_SECONDS

    async def _api_key(self, credential: str, charge: bool) -> tuple[Principal, datetime | None]:
        key = parse_api_key(credential)
        if key is None:
            raise Unauthenticated()
        if charge:
            tenant_id = key.tenant_id
            exists = await self.exists(tenant_id)
            listed = await self._listed(tenant_id, key.key_id) if exists else None
            if listed is False:
                raise Unauthenticated()
            await self._spend(tenant_id, (tenant_id, key.key_id) if listed else tenant_id)
        found = await self._directory.api_key(key.tenant_id, key.key_id)
        if found is None:
            raise Unauthenticated()
        tenant, stored = found
        if not digest_matches(key.secret, stored.secret_sha256):
            raise Unauthenticated()
        if not stored.usable_at(now := self._clock()):
            raise key_refused(tenant.slug, stored, now)
        refuse_purged(tenant)
        principal = Principal(tenant=tenant, caller=f"key:{stored.key_id}", scopes=stored.scopes)
        return principal, stored.expires_at

    async def _link(self, credential: str, charge: bool) -> tuple[Principal, datetime | None]:
        """A preference link (app/preference_links.py): its person's subject:self, as a
        portal token's. Checked before any look-up: a made-up one costs none."""
        link = self._links.opened(credential)
        if charge:
            await self._spend(link.tenant_id, link.tenant_id)
        caller, person = self._links.caller(link.person), link.person
        digest = self._links.digest(link.tenant_id, person)
        found = await self._directory.link_holder(link.tenant_id, caller, person.kind, digest)
        tenant, revoked = found or (None, None)
        if tenant is None:
            raise refused("link_tenant_gone")
        refuse_purged(tenant)
        if revoked is not None and link.issued <= revoked:  # `preference-link --revoke`
            raise refused("link_revoked")
        return Principal(tenant, caller, frozenset({Scope.SELF}), subject=person), link.expires

    async def _listed(self, tenant_id: UUID, key_id: str) -> bool | None:
        """Whether the tenant has a key of that id, from its list read again on a miss at most
        every LIST_SECONDS; None for a miss within them (a key made since: the caller spends
        the tenant's allowance and looks it up)."""
        now = time.monotonic()
        listed = self._key_ids.get(tenant_id)
        if listed is not None and key_id in listed[1]:
            return True
        if listed is not None and now - listed[0] < LIST_SECONDS:
            return None
        ids = await self._directory.key_ids(tenant_id)
        _remember(self._key_ids, tenant_id, (now, ids))
        return key_id in ids

    async def _issuer(self, tenant_id: UUID, name: str, charge: bool) -> Issuer | None:
        """The tenant's issuer of that name, cached CACHE_SECONDS (a change reaches tokens
        within them, as a key's revocation); an issuer never found spends the allowance."""
        now = time.monotonic()
        cached = self._issuers.get((tenant_id, name))
        if cached is not None and cached[0] > now:
            return cached[1]
        if charge and (cached is None or cached[1] is None):
            await self._spend(tenant_id, tenant_id)
        found = await self._directory.issuer(tenant_id, name)
        _remember(self._issuers, (tenant_id, name), (now + CACHE_SECONDS, found))
        return found

    async def _portal_token(
        self, credential: str, charge: bool
    ) -> tuple[Principal, datetime | None]:
        claims = unverified_claims(credential)
        tenant_id, issuer_name = tenant_and_issuer(claims)
        found = await self._issuer(tenant_id, issuer_name, charge)
        if found is None:
            raise refused("no_such_issuer_for_tid")
        tenant, issuer = found
        refuse_purged(tenant)
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
            expires = numeric_date(verified["exp"])
            issued = numeric_date(verified["iat"]) if "iat" in verified else None
        except (jwt.PyJWTError, InvalidInput, ValueError, OverflowError) as error:
            why = "sub_not_an_external_id" if isinstance(error, InvalidInput) else None
            raise refused(why or type(error).__name__) from None
        # At most 24 h from `iat` or, without, from now (30 days was good in its last day).
        if expires - (issued or self._clock()) > MAX_TOKEN_LIFETIME:
            raise refused("lifetime_over_24_hours")
        caller = f"token:{issuer.issuer}:{self._links.pseudonym(subject.value)}"
        principal = Principal(
            tenant=tenant, caller=caller, scopes=frozenset({Scope.SELF}), subject=subject
        )
        return principal, expires


def _remember(cache: dict[K, V], fingerprint: K, value: V) -> None:
    """Keep `value`; a full cache is emptied first (entries expire within seconds anyway)."""
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[fingerprint] = value


def refuse_purged(tenant: Tenant) -> None:
    """A tenant's credentials answer that its data was purged, once it is (or is being): checks
    said ALLOW from the rows a purge in progress had not deleted yet, and NOT_FOUND for the
    purpose after it (probes P and R). Raises FailedPrecondition."""
    if tenant.purged:
        raise FailedPrecondition(PURGED_MESSAGE, code="TENANT_PURGED")
