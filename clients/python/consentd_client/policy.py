"""What the client decides before a call: its credentials, its deadline, its idempotency key,
and whether a failure may be retried, and after how long. No I/O here."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from uuid import uuid4

import grpc
from consent.v1 import (
    audit_pb2,
    campaign_pb2,
    catalog_pb2,
    consent_pb2,
    cookies_pb2,
    retention_pb2,
    rights_pb2,
)
from google.protobuf import descriptor, descriptor_pb2

AUTHORIZATION = "authorization"
# The header the server's admission gate reads (consentd/api/gate.py): a write carrying it runs
# at most once per key, and a repeat gets the first response back.
IDEMPOTENCY_KEY = "idempotency-key"

FILES: tuple[descriptor.FileDescriptor, ...] = (
    consent_pb2.DESCRIPTOR,
    catalog_pb2.DESCRIPTOR,
    cookies_pb2.DESCRIPTOR,
    rights_pb2.DESCRIPTOR,
    audit_pb2.DESCRIPTOR,
    retention_pb2.DESCRIPTOR,
    campaign_pb2.DESCRIPTOR,
)

Metadata = tuple[tuple[str, str | bytes], ...]


class Effect(Enum):
    """What a call does to the server's state, from the contract's idempotency_level."""

    READ = "read"  # NO_SIDE_EFFECTS: safe to repeat
    IDEMPOTENT = "idempotent"  # repeating it leaves the same state
    WRITE = "write"  # repeating it without an idempotency key writes twice
    UNKNOWN = "unknown"  # not a consent.v1 method


_LEVELS = {
    descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS: Effect.READ,
    descriptor_pb2.MethodOptions.IDEMPOTENT: Effect.IDEMPOTENT,
    descriptor_pb2.MethodOptions.IDEMPOTENCY_UNKNOWN: Effect.WRITE,
}


def effects(files: Iterable[descriptor.FileDescriptor] = FILES) -> dict[str, Effect]:
    """Every consent.v1 RPC by its path (`/consent.v1.ConsentService/CheckConsent`)."""
    return {
        f"/{service.full_name}/{method.name}": _LEVELS[method.GetOptions().idempotency_level]
        for file in files
        for service in file.services_by_name.values()
        for method in service.methods
    }


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of a failed unary call: exponential backoff with full jitter, within the call's
    deadline. Only calls safe to repeat are retried: reads, idempotent methods, and writes that
    carry an idempotency key."""

    max_attempts: int = 5
    initial_backoff: float = 0.1  # seconds before the second attempt, at most
    max_backoff: float = 5.0
    multiplier: float = 2.0
    # DEADLINE_EXCEEDED too: the server's own (its database did not answer within its ceiling)
    # is retried while the call's deadline leaves time; the call's deadline spent, never. And
    # CANCELLED: a caller's own cancellation ends the call without a status to retry, so one is
    # the server's: grpc cancels a call it held undispatched when it stops (grpc/grpc#41785;
    # probe DN: 7-15 keyed writes of a load lost at a SIGTERM, never applied).
    retry_on: frozenset[grpc.StatusCode] = frozenset(
        {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
    )
    # RESOURCE_EXHAUSTED with a RetryInfo (reason RATE_LIMITED: the tenant's rate, nothing was
    # done) is retried after the wait the server asks, when it asks at most this many seconds
    # and the call's deadline leaves time; 0: never.
    rate_limited_wait: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.initial_backoff <= self.max_backoff or self.multiplier < 1:
            raise ValueError("need 0 <= initial_backoff <= max_backoff and multiplier >= 1")
        if self.rate_limited_wait < 0:
            raise ValueError("rate_limited_wait must be at least 0")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the second attempt): uniform in
        [0, min(max_backoff, initial_backoff * multiplier ** (retry - 1))]."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return rng.uniform(0, ceiling)

    def after_refusal(self, asked: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before trying a call refused RESOURCE_EXHAUSTED again: the wait the
        server asked (`asked`, RetryInfo's) and a little jitter, so clients refused together do
        not come back together; None when it asked none or longer than `rate_limited_wait`."""
        if asked is None or asked > self.rate_limited_wait:
            return None
        return asked + rng.uniform(0, max(asked, self.initial_backoff))


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One call as the client will send it (every attempt alike)."""

    metadata: Metadata
    timeout: float | None
    retryable: bool


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """Credentials, default deadline, idempotency keys and retries for every call of a client."""

    api_key: str | None = None
    timeout: float | None = 10.0  # seconds, for a unary call that names no deadline of its own
    retry: RetryPolicy = RetryPolicy()
    idempotency_keys: bool = True  # give every write a fresh key (one per call, kept by retries)
    # Unary calls on the wire at once; more wait in the client for a slot (within their
    # deadline). The server takes 250 calls in flight on a connection and refuses more
    # (REFUSED_STREAM), and grpc's client sends them anyway: 400 checks at once through one
    # client lost a tenth of them, retries included (probe TD). Streams are not counted.
    max_in_flight: int = 200

    def __post_init__(self) -> None:
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")

    def prepare(
        self, method: str, metadata: Iterable[tuple[str, str | bytes]] | None, timeout: float | None
    ) -> Prepared:
        """A unary call's metadata, deadline and whether it may be retried."""
        effect = EFFECTS.get(method, Effect.UNKNOWN)
        merged = self.credentials(metadata)
        names = {name for name, _ in merged}
        if (
            self.idempotency_keys
            and effect in (Effect.WRITE, Effect.IDEMPOTENT)
            and IDEMPOTENCY_KEY not in names
        ):
            merged = (*merged, (IDEMPOTENCY_KEY, uuid4().hex))
            names.add(IDEMPOTENCY_KEY)
        retryable = effect in (Effect.READ, Effect.IDEMPOTENT) or (
            effect is Effect.WRITE and IDEMPOTENCY_KEY in names
        )
        return Prepared(merged, self.timeout if timeout is None else timeout, retryable)

    def credentials(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Metadata:
        """The call's metadata with the API key as a bearer token, unless it carries its own."""
        given = tuple(metadata or ())
        if self.api_key is None or any(name == AUTHORIZATION for name, _ in given):
            return given
        return (*given, (AUTHORIZATION, f"Bearer {self.api_key}"))


EFFECTS = effects()
