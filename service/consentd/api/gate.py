"""Admission of every call: who, may they, not too often, well-formed, and at most once."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from uuid import UUID

from google.protobuf.message import Message

from consentd.api.authorization import authorize
from consentd.api.calls import IDEMPOTENCY_KEY, REFUSED_KEY, retried_once
from consentd.api.context import keyed
from consentd.api.health import Reachability
from consentd.api.methods import Method
from consentd.api.ratelimit import TenantRateLimiter
from consentd.api.unknown_fields import reject_unknown_fields
from consentd.api.validation import check_ranges
from consentd.app.auth import Authenticator
from consentd.app.idempotency import IdempotencyKey, Replayed, request_fingerprint
from consentd.app.ports import Clock
from consentd.domain.errors import InvalidInput, PermissionDenied, Unauthenticated
from consentd.domain.tenancy import Principal

MAX_IDEMPOTENCY_KEY = 255
# An opt-out must always get through: withdrawals are never rate-limited away.
NEVER_LIMITED = frozenset({"/consent.v1.ConsentService/WithdrawConsent"})


class Gate:
    def __init__(
        self,
        authenticator: Authenticator,
        limiter: TenantRateLimiter,
        clock: Clock,
        methods: Mapping[str, Method],
        *,
        fingerprints: bytes,
    ) -> None:
        """`fingerprints`: the key of idempotent writes' request fingerprints (fingerprint_key)."""
        self._fingerprints = fingerprints
        self._auth = authenticator
        self._limiter = limiter
        self._clock = clock
        self._methods = methods
        # Told by the server's database probe (api/health.py follow_database).
        self.reachability = Reachability()

    async def admit(
        self,
        method: str,
        metadata: Mapping[str, str],
        request: Message | None,
        *,
        tenant: str | None = None,
    ) -> Principal:
        """The authenticated, authorized caller. Raises DatabaseLost (UNAVAILABLE, before
        anything waits on a database that stopped answering), Unauthenticated (also when
        `tenant`, the tenant id a browser URL names, is not the credential's),
        PermissionDenied, ResourceExhausted or InvalidInput (a field the contract does not
        define)."""
        principal = await self.identify(method, metadata, tenant=tenant)
        self.accept(method, principal, request)
        return principal

    async def identify(
        self, method: str, metadata: Mapping[str, str], *, tenant: str | None = None
    ) -> Principal:
        """admit's first half: the caller, authenticated and authorized for `method`; nothing
        spent yet (the browser port checks the page's origin between the halves: a call it
        refuses takes no token of the tenant's rate limit, probe FN)."""
        self.reachability.check()
        principal = await self._auth.authenticate(metadata)
        if tenant is not None and tenant != str(principal.tenant_id):
            raise Unauthenticated()
        _authorized(method, principal)
        return principal

    def accept(self, method: str, principal: Principal, request: Message | None) -> None:
        """admit's second half: the rate limit's token, then the request's fields."""
        if method not in NEVER_LIMITED:
            self._limiter.take_for(principal)
        if request is not None:
            reject_unknown_fields(request)
            check_ranges(request)

    async def tenant_exists(self, tenant_id: UUID) -> bool:
        """Whether a tenant of that id exists (a list cached by the authenticator): a browser
        URL's tenant is checked against it before its allowed origins are read (random ids
        cost a database transaction each, with no credential; probe BC)."""
        return await self._auth.exists(tenant_id)

    async def admit_unread(
        self, method: str | None, metadata: Mapping[str, str], *, tenant: str | None = None
    ) -> Principal:
        """The credential's principal, and the method in its scopes (PermissionDenied), before the
        request's message is read: what both ports check for every call (the public cookie
        key held calls to methods it may not call, their message still to come, probe U; the
        browser port decoded the body of an admin method sent with the page key, and answered
        its errors, probe BQ). `tenant`: the tenant id a browser URL names (Unauthenticated
        when not the credential's); `method` None: a path that names no method of the
        contract (the Connect app answers it). A credential found valid within the cache time
        costs no await."""
        self.reachability.check()
        principal = self._auth.cached(metadata) or await self._auth.authenticate(metadata)
        if tenant is not None and tenant != str(principal.tenant_id):
            raise Unauthenticated()
        if method is not None:
            _authorized(method, principal)
        return principal

    async def recheck(self, metadata: Mapping[str, str]) -> None:
        """The credential of an open stream, looked up again (no cache): Unauthenticated once
        it is revoked or expired."""
        await self._auth.authenticate(metadata, fresh=True)

    async def unary(
        self,
        method: str,
        metadata: Mapping[str, str],
        principal: Principal,
        request: Message,
        behaviour: Callable[[], Awaitable[Any]],
    ) -> Any:
        """Run the call; a write carrying an idempotency key runs at most once per key: the
        key is handed to the servicer (api/context.py: once()), whose use case claims it in its
        own transaction (app/idempotency.py); a retry gets the first call's stored answer."""
        key = metadata.get(IDEMPOTENCY_KEY)
        described = self._methods.get(method)
        if described is not None and not described.writes:
            return await retried_once(behaviour)
        if key is None or described is None:
            return await behaviour()
        if key == REFUSED_KEY:
            raise InvalidInput(IDEMPOTENCY_KEY, "sent more than once; send one key per call")
        # Not blank nor padded either: an HTTP proxy trims spaces, and " " was a key (probe V).
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable() or key != key.strip():
            raise InvalidInput(
                IDEMPOTENCY_KEY,
                f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters, "
                "neither starting nor ending with a space",
            )
        body = request.SerializeToString(deterministic=True)
        fingerprint = request_fingerprint(self._fingerprints, method, body)
        earlier = hashlib.sha256(method.encode() + b"\0" + body).digest()
        claim = IdempotencyKey(principal.caller, key, method, fingerprint, self._clock(), earlier)
        try:
            with keyed(claim):
                return await behaviour()
        except Replayed as replay:
            return described.response.FromString(replay.response)


def _authorized(method: str, principal: Principal) -> None:
    """authorize(), its refusal naming the tenant in its `rpc` line: the key is known (probe AO:
    it said ""; the browser port's, probe HF)."""
    try:
        authorize(method, principal)
    except PermissionDenied as denied:
        denied.tenant = principal.tenant.slug
        raise
