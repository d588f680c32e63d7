"""consentd_client's call policy: which calls carry an idempotency key and may be retried, the
API key as bearer metadata, the default deadline, and backoff with full jitter."""

from __future__ import annotations

import random
from datetime import timedelta

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from consentd_client import IDEMPOTENCY_KEY, CallPolicy, Effect, RetryPolicy
from consentd_client.interceptors import Retrier
from consentd_client.policy import EFFECTS

RECORD = "/consent.v1.ConsentService/RecordConsent"
CHECK = "/consent.v1.ConsentService/CheckConsent"
PUT_PURPOSE = "/consent.v1.CatalogService/PutPurpose"


def test_effects_follow_the_contracts_idempotency_levels() -> None:
    """Reads, idempotent methods and plain writes are told apart from the descriptors."""
    assert EFFECTS[CHECK] is Effect.READ
    assert EFFECTS[PUT_PURPOSE] is Effect.IDEMPOTENT
    assert EFFECTS[RECORD] is Effect.WRITE
    assert EFFECTS["/consent.v1.CampaignService/WatchConsentChanges"] is Effect.READ


def test_a_write_gets_a_fresh_key_and_becomes_retryable() -> None:
    """Each write call gets its own idempotency key; with it, a retry cannot write twice."""
    policy = CallPolicy(api_key="ck_test")
    first, second = policy.prepare(RECORD, None, None), policy.prepare(RECORD, None, None)
    keys = [dict(p.metadata)[IDEMPOTENCY_KEY] for p in (first, second)]
    assert keys[0] != keys[1]
    assert first.retryable
    assert dict(first.metadata)["authorization"] == "Bearer ck_test"


def test_a_callers_own_key_and_authorization_are_kept() -> None:
    """Metadata the caller set wins over the policy's."""
    given = (("authorization", "Bearer other"), (IDEMPOTENCY_KEY, "order-42"))
    prepared = CallPolicy(api_key="ck_test").prepare(RECORD, given, 3.0)
    assert prepared.metadata == given
    assert prepared.timeout == 3.0
    assert prepared.retryable


def test_without_keys_a_write_is_never_retried() -> None:
    """A write without an idempotency key might have been applied: it is not repeated."""
    policy = CallPolicy(idempotency_keys=False)
    write = policy.prepare(RECORD, None, None)
    assert IDEMPOTENCY_KEY not in dict(write.metadata)
    assert not write.retryable
    assert policy.prepare(PUT_PURPOSE, None, None).retryable
    assert policy.prepare(CHECK, None, None).retryable
    assert not policy.prepare("/other.Service/Call", None, None).retryable


def test_reads_carry_no_key_and_the_default_deadline() -> None:
    """A read gets the default deadline and no idempotency key (the server ignores it)."""
    prepared = CallPolicy(api_key="k", timeout=2.5).prepare(CHECK, None, None)
    assert IDEMPOTENCY_KEY not in dict(prepared.metadata)
    assert prepared.timeout == 2.5


def test_backoff_grows_exponentially_to_its_cap_with_full_jitter() -> None:
    """Retry n waits uniformly in [0, min(cap, initial * multiplier^(n-1))]."""
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    rng = random.Random(7)  # noqa: S311 (jitter, not secrets)
    for retry, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        waits = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # jitter spreads over the whole range


@pytest.mark.parametrize(
    "arguments",
    [
        {"max_attempts": 0},
        {"initial_backoff": 2.0, "max_backoff": 1.0},
        {"multiplier": 0.5},
        {"rate_limited_wait": -1.0},
    ],
)
def test_a_nonsensical_retry_policy_is_refused(arguments: dict[str, float]) -> None:
    """Misconfiguration fails at construction, not at the first outage."""
    with pytest.raises(ValueError, match=r"must|need"):
        RetryPolicy(**arguments)  # type: ignore[arg-type]


def test_unavailable_and_the_servers_deadline_are_retried_by_default() -> None:
    """Permission and validation errors are answers, not outages. DEADLINE_EXCEEDED from the
    server (its database did not answer within its ceiling) is retried while the call's own
    deadline leaves time: a withdrawal in flight when PostgreSQL froze was lost unless its
    caller retried it by hand (probe N); a keyed write is safe to repeat. The call's own
    deadline spent, nothing is retried."""
    assert RetryPolicy().retry_on == frozenset(
        {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
    )
    now = [0.0]
    policy = CallPolicy(timeout=10.0)
    prepared = policy.prepare("/consent.v1.ConsentService/WithdrawConsent", None, None)
    retrier = Retrier(policy, prepared, random.Random(1), lambda: now[0])  # noqa: S311
    now[0] = 5.0  # the server's ceiling passed: 5 s of the call's 10 left
    assert retrier.pause(grpc.StatusCode.DEADLINE_EXCEEDED) is not None
    now[0] = 10.0  # the call's own deadline
    assert retrier.pause(grpc.StatusCode.DEADLINE_EXCEEDED) is None
    assert retrier.pause(grpc.StatusCode.PERMISSION_DENIED) is None


def _asking(seconds: float) -> tuple[tuple[str, bytes], ...]:
    """Trailers of a rate limit's refusal asking `seconds` of wait."""
    asked = error_details_pb2.RetryInfo()
    asked.retry_delay.FromTimedelta(timedelta(seconds=seconds))
    status = status_pb2.Status(code=grpc.StatusCode.RESOURCE_EXHAUSTED.value[0])
    status.details.add().Pack(asked)
    return (("grpc-status-details-bin", status.SerializeToString()),)


def test_a_rate_limit_is_waited_out_as_the_server_asks() -> None:
    """RESOURCE_EXHAUSTED with a RetryInfo is tried again after the wait asked (and at most as
    much jitter); without one (too much at once), or asking longer than rate_limited_wait, or
    past the deadline, it is the caller's; garbage trailers are no RetryInfo."""
    now = [0.0]
    policy = CallPolicy(timeout=10.0)
    prepared = policy.prepare(CHECK, None, None)
    retrier = Retrier(policy, prepared, random.Random(1), lambda: now[0])  # noqa: S311
    refused = grpc.StatusCode.RESOURCE_EXHAUSTED
    wait = retrier.pause(refused, _asking(0.5))
    assert wait is not None
    assert 0.5 <= wait <= 1.0
    assert retrier.pause(refused) is None
    assert retrier.pause(refused, (("grpc-status-details-bin", b"\xff\xff"),)) is None
    assert retrier.pause(refused, _asking(6.0)) is None
    now[0] = 9.5
    assert retrier.pause(refused, _asking(1.0)) is None
