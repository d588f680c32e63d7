"""Token buckets: `rate` per second with bursts up to `burst`, in this process."""

from __future__ import annotations

import time
from collections.abc import Hashable

from consentd.domain.errors import ResourceExhausted


class TokenBuckets:
    """One bucket per key, each full at first."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        # key -> (tokens, when they were counted)
        self._buckets: dict[Hashable, tuple[float, float]] = {}

    def take(self, key: Hashable = None, message: str | None = None) -> None:
        """Spend one token of `key`'s bucket; raises ResourceExhausted with the wait until the
        next token (and `message`, when given)."""
        now = time.monotonic()
        tokens, then = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / self._rate
            raise ResourceExhausted(wait) if message is None else ResourceExhausted(wait, message)
        self._buckets[key] = (tokens - 1, now)

    def __len__(self) -> int:
        """How many keys have a bucket."""
        return len(self._buckets)
