"""consentd's convenience client for Python, over the generated consent.v1 stubs.

    from consentd_client import Client
    with Client("127.0.0.1:50051", api_key="ck_...") as client:
        client.consent.CheckConsent(request)

Every unary call carries the API key (`authorization: Bearer`), a default deadline (10 s), and,
for a write, a fresh `idempotency-key`; a call failing UNAVAILABLE is retried with exponential
backoff and jitter when repeating it is safe (a read, an idempotent method, a keyed write)."""

from consentd_client.client import AsyncClient, Client
from consentd_client.errors import ErrorDetails, details
from consentd_client.policy import (
    AUTHORIZATION,
    IDEMPOTENCY_KEY,
    NO_RETRY,
    CallPolicy,
    Effect,
    RetryPolicy,
)

__all__ = [
    "AUTHORIZATION",
    "IDEMPOTENCY_KEY",
    "NO_RETRY",
    "AsyncClient",
    "CallPolicy",
    "Client",
    "Effect",
    "ErrorDetails",
    "RetryPolicy",
    "details",
]
