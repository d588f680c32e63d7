"""consentd_client against the real server: its example walks record, ALLOW, withdraw, DENY; the
API key travels as bearer metadata; a write whose answer was lost is retried under the same
idempotency key and applied once; reads are retried on UNAVAILABLE with backoff, unkeyed writes
are not."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import grpc
import pytest
from consent.v1 import campaign_pb2, catalog_pb2, consent_pb2, types_pb2
from grpc import aio

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from consentd_client import IDEMPOTENCY_KEY, AsyncClient, Client, RetryPolicy, details
from tests.e2e.client_examples import ROOT, run_example, stored_states
from tests.e2e.helpers import by_email, grant, target

EMAIL = "client@example.fr"
NEWSLETTER = target("newsletter")
RECORD = "/consent.v1.ConsentService/RecordConsent"


async def test_python_example_records_checks_and_withdraws(
    app: App, tenant: Tenant, grpc_port: int, admin_key: str
) -> None:
    """The example (blocking Client) reaches the server: ALLOW then DENY, two stored events."""
    lines = await run_example(
        [sys.executable, str(ROOT / "clients/python/example.py")], grpc_port, admin_key
    )
    assert await stored_states(app, tenant, lines) == ["granted", "withdrawn"]


class _Lost(aio.UnaryUnaryCall[Any, Any]):
    """A call whose answer never came back: the connection dropped after the server acted."""

    def _error(self) -> aio.AioRpcError:
        return aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, aio.Metadata(), aio.Metadata(), "lost")

    async def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    async def details(self) -> str:
        return "lost"

    async def initial_metadata(self) -> aio.Metadata:
        return aio.Metadata()

    async def trailing_metadata(self) -> aio.Metadata:
        return aio.Metadata()

    async def wait_for_connection(self) -> None:
        return None

    def cancelled(self) -> bool:
        return False

    def done(self) -> bool:
        return True

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_done_callback(self, callback: Any) -> None:
        callback(self)

    def __await__(self) -> Generator[Any, None, Any]:
        raise self._error()
        yield  # a generator, as __await__ must be


class _LoseFirstAnswer(aio.UnaryUnaryClientInterceptor):
    """On the wire side of the policy: sends each attempt, but loses the first write's answer."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []

    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        call = await continuation(client_call_details, request)
        if client_call_details.method not in (RECORD, RECORD.encode()):
            return call
        metadata = client_call_details.metadata or aio.Metadata()
        key = metadata.get(IDEMPOTENCY_KEY)
        self.keys.append(None if key is None else str(key))
        if len(self.keys) == 1:
            await call  # the server has recorded it
            return _Lost()
        return call


def _record() -> consent_pb2.RecordConsentRequest:
    return consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email=EMAIL),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_API,
        actor="client test",
    )


async def _history(client: AsyncClient) -> list[Any]:
    response = await client.consent.ListConsentHistory(
        consent_pb2.ListConsentHistoryRequest(subject=by_email(EMAIL), page_size=50)
    )
    return list(response.events)


async def _put_newsletter(client: AsyncClient) -> None:
    await client.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(
            purpose=catalog_pb2.Purpose(
                purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
            )
        )
    )


async def test_a_lost_answer_is_retried_under_the_same_key_and_applied_once(
    grpc_port: int, admin_key: str
) -> None:
    """The retry carries the first attempt's key: the server answers it from the first write."""
    lossy = _LoseFirstAnswer()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncClient(
        f"127.0.0.1:{grpc_port}", api_key=admin_key, interceptors=[lossy], sleep=sleep
    ) as client:
        await _put_newsletter(client)
        response = await client.consent.RecordConsent(_record())
        assert len(lossy.keys) == 2
        assert lossy.keys[0] is not None
        assert lossy.keys[0] == lossy.keys[1]
        assert len(waits) == 1
        assert 0 <= waits[0] <= RetryPolicy().initial_backoff
        events = await _history(client)
        assert [e.event_id for e in events] == [e.event_id for e in response.events]


async def test_an_unkeyed_write_is_not_retried(grpc_port: int, admin_key: str) -> None:
    """Without an idempotency key a lost answer surfaces: repeating could write twice."""
    lossy = _LoseFirstAnswer()
    async with AsyncClient(
        f"127.0.0.1:{grpc_port}", api_key=admin_key, interceptors=[lossy], idempotency_keys=False
    ) as client:
        await _put_newsletter(client)
        with pytest.raises(aio.AioRpcError) as raised:
            await client.consent.RecordConsent(_record())
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert lossy.keys == [None]
        assert len(await _history(client)) == 1


async def test_an_errors_details_are_read_by_the_client(grpc_port: int, admin_key: str) -> None:
    """Probe UC: the docs tell callers to branch on ErrorInfo.reason, but the client gave no way
    to read it (google.rpc was not even installed with it). `details()` gives the reason, its
    metadata and BadRequest's field, from a blocking or an asyncio call."""
    async with AsyncClient(f"127.0.0.1:{grpc_port}", api_key=admin_key) as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await client.consent.CheckConsent(
                consent_pb2.CheckConsentRequest(
                    subject=types_pb2.SubjectRef(email="reader@example.fr"),
                    target=target("no-such-purpose"),
                )
            )
        said = details(raised.value)
        assert (said.code, said.reason) == (grpc.StatusCode.NOT_FOUND, "PURPOSE_NOT_FOUND")

    def blocking_call() -> grpc.RpcError:
        with Client(f"127.0.0.1:{grpc_port}", api_key=admin_key) as blocking:
            with pytest.raises(grpc.RpcError) as refused:
                blocking.consent.CheckConsent(consent_pb2.CheckConsentRequest())
            return refused.value

    bad = details(await asyncio.to_thread(blocking_call))  # the server runs in this loop
    assert (bad.code, bad.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert bad.metadata["field"] == bad.violations[0][0]
    assert bad.retry_after is None


async def test_calls_without_the_key_are_refused(grpc_port: int) -> None:
    """The API key is what authenticates: a client without one is UNAUTHENTICATED."""
    async with AsyncClient(f"127.0.0.1:{grpc_port}") as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await _history(client)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_asyncio_clients_streaming_calls_carry_the_key(
    grpc_port: int, admin_key: str
) -> None:
    """Probe FC: the asyncio client's bidirectional calls went without the key (grpc.aio files
    an interceptor under its first kind only): StreamCheckConsent was UNAUTHENTICATED. Each kind
    of streaming call is authenticated, as the blocking client's are."""
    async with AsyncClient(f"127.0.0.1:{grpc_port}", api_key=admin_key) as client:
        await _put_newsletter(client)
        await client.consent.RecordConsent(_record())

        async def chunks() -> Any:
            yield campaign_pb2.StreamCheckConsentRequest(
                target=NEWSLETTER, recipients=[by_email(EMAIL)]
            )

        answers = [a async for a in client.campaign.StreamCheckConsent(chunks())]
        assert [a.decision for m in answers for a in m.answers] == [consent_pb2.DECISION_ALLOW]
        feed = client.campaign.WatchConsentChanges(
            campaign_pb2.WatchConsentChangesRequest(max_changes=1)
        )
        first = await anext(aiter(feed))  # it follows new changes after: stopped here
        feed.cancel()
        assert len(first.changes) == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_server_is_retried_with_backoff_then_reported() -> None:
    """A read against no server: max_attempts tries, growing jittered waits, then UNAVAILABLE."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(max_attempts=4, initial_backoff=0.05, max_backoff=0.1)
    async with AsyncClient(
        f"127.0.0.1:{_closed_port()}", api_key="ck_none", retry=policy, sleep=sleep
    ) as client:
        with pytest.raises(aio.AioRpcError) as raised:
            await _history(client)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(waits) == 3
    assert all(0 <= w <= c for w, c in zip(waits, (0.05, 0.1, 0.1), strict=True))


def test_the_blocking_client_retries_reads_the_same_way() -> None:
    """Client (blocking) applies the same policy: three attempts, two waits, UNAVAILABLE."""
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.01)
    with Client(
        f"127.0.0.1:{_closed_port()}", api_key="ck_none", retry=policy, sleep=waits.append
    ) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.consent.CheckConsent(
                consent_pb2.CheckConsentRequest(subject=by_email(EMAIL), target=NEWSLETTER)
            )
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    assert len(waits) == 2


async def test_more_calls_at_once_than_a_connection_takes_wait_in_the_client(
    grpc_port: int, admin_key: str
) -> None:
    """Probe TD: the server takes 250 calls in flight on a connection and refuses the rest
    (REFUSED_STREAM, UNAVAILABLE), which grpc's client sends anyway: 400 checks at once
    through one client lost a tenth of them, retries included, and a second client of the
    same process (the withdrawals') shared that connection. The client keeps 200 on the wire
    and has a connection of its own."""
    address = f"127.0.0.1:{grpc_port}"
    async with (
        AsyncClient(address, api_key=admin_key) as checks,
        AsyncClient(address, api_key=admin_key) as writes,
    ):
        await _put_newsletter(checks)
        ask = consent_pb2.CheckConsentRequest(subject=by_email(EMAIL), target=NEWSLETTER)

        async def checking() -> list[int]:
            return [(await checks.consent.CheckConsent(ask)).decision for _ in range(5)]

        async def withdrawing() -> None:
            for n in range(20):
                stop = consent_pb2.WithdrawConsentRequest(
                    subject=by_email(f"many-{n}@example.fr"), all=True,
                    source=types_pb2.SOURCE_API, actor="client test",
                )  # fmt: skip
                await writes.consent.WithdrawConsent(stop)

        answers = await asyncio.gather(withdrawing(), *(checking() for _ in range(400)))
    assert sum(len(a) for a in answers[1:]) == 2_000  # none refused (it would raise)
    assert checks.channel is not writes.channel
