"""Per-tenant token buckets, so one tenant's burst cannot starve another's calls."""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from consentd.domain.errors import ResourceExhausted


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TenantRateLimiter:
    """`rate` calls per second per tenant with bursts up to `burst`, in this process."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._buckets: dict[UUID, _Bucket] = {}

    def take(self, tenant_id: UUID) -> None:
        """Spend one call; raises ResourceExhausted with the wait until the next token."""
        now = time.monotonic()
        bucket = self._buckets.get(tenant_id)
        if bucket is None:
            bucket = self._buckets[tenant_id] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            raise ResourceExhausted((1 - bucket.tokens) / self._rate)
        bucket.tokens -= 1
