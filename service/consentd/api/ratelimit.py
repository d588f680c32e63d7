"""Per-tenant token buckets, so one tenant's burst cannot starve another's calls; and within a
tenant, the callers a web page or a person's portal holds have a bucket of their own, so that a
busy (or abused) public page cannot use up the allowance of the tenant's back office."""

from __future__ import annotations

from uuid import UUID

from consentd.app.throttle import TokenBuckets
from consentd.domain.tenancy import Principal, Scope

# The scopes of credentials that sit in web pages (publishable cookies:write keys) or in a
# person's hands (portal tokens).
PUBLIC_SCOPES = frozenset({Scope.COOKIES, Scope.SELF})


class TenantRateLimiter:
    """`rate` calls per second per tenant (and as many for its public callers) with bursts up
    to `burst`, in this process."""

    def __init__(self, rate: float, burst: float) -> None:
        self._buckets = TokenBuckets(rate, burst)

    def take(self, tenant_id: UUID, *, public: bool = False) -> None:
        """Spend one call; raises ResourceExhausted with the wait until the next token."""
        self._buckets.take((tenant_id, public))

    def take_for(self, principal: Principal) -> None:
        """Spend one call of the principal's bucket: its tenant's, public or not."""
        self.take(principal.tenant_id, public=principal.scopes <= PUBLIC_SCOPES)
