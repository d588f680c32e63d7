"""Clients holding one channel and a stub per consent.v1 service, every call going through the
CallPolicy (API key, default deadline, idempotency keys for writes, retries of UNAVAILABLE and
of the server's DEADLINE_EXCEEDED)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self

import grpc
from consent.v1 import (
    audit_pb2_grpc,
    campaign_pb2_grpc,
    catalog_pb2_grpc,
    consent_pb2_grpc,
    cookies_pb2_grpc,
    retention_pb2_grpc,
    rights_pb2_grpc,
)
from grpc import aio

from consentd_client.interceptors import (
    AsyncUnaryPolicy,
    PolicyInterceptor,
    async_stream_credentials,
)
from consentd_client.policy import CallPolicy, RetryPolicy

Options = Sequence[tuple[str, str | int]]


def _own_connection(options: Options) -> Options:
    """A client's own connection: grpc shares one between the channels of a process to the
    same address, so a client kept for withdrawals queued behind another's checks, and past
    the server's 250 calls in flight a connection's calls are refused (probe TD)."""
    if any(name == "grpc.use_local_subchannel_pool" for name, _ in options):
        return options
    return (*options, ("grpc.use_local_subchannel_pool", 1))


class Client:
    """A blocking client: `with Client("host:50051", api_key=...) as c: c.consent.X(...)`.

    `credentials` makes the channel TLS (grpc.ssl_channel_credentials()); without them it is
    plaintext, for a server on localhost or behind a TLS-terminating proxy. `interceptors` run
    after the policy, once per attempt. Each client has a connection of its own; at most
    `max_in_flight` of its unary calls are on it at once, the others wait in the client."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = 10.0,
        retry: RetryPolicy | None = None,
        idempotency_keys: bool = True,
        max_in_flight: int = 200,
        options: Options = (),
        interceptors: Sequence[
            grpc.UnaryUnaryClientInterceptor
            | grpc.UnaryStreamClientInterceptor
            | grpc.StreamUnaryClientInterceptor
            | grpc.StreamStreamClientInterceptor
        ] = (),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = CallPolicy(
            api_key, timeout, retry or RetryPolicy(), idempotency_keys, max_in_flight
        )
        options = _own_connection(options)
        raw = (
            grpc.secure_channel(target, credentials, options)
            if credentials is not None
            else grpc.insecure_channel(target, options)
        )
        self._raw = raw
        channel = grpc.intercept_channel(raw, *interceptors)
        self.channel = grpc.intercept_channel(
            channel, PolicyInterceptor(self.policy, sleep=sleep, rng=rng)
        )
        self.consent = consent_pb2_grpc.ConsentServiceStub(self.channel)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.channel)
        self.cookies = cookies_pb2_grpc.CookieServiceStub(self.channel)
        self.rights = rights_pb2_grpc.RightsServiceStub(self.channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(self.channel)
        self.retention = retention_pb2_grpc.RetentionServiceStub(self.channel)
        self.campaign = campaign_pb2_grpc.CampaignServiceStub(self.channel)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """The asyncio client: `async with AsyncClient(...) as c: await c.consent.CheckConsent(...)`.
    Same arguments as Client; `sleep` is awaited between attempts."""

    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = 10.0,
        retry: RetryPolicy | None = None,
        idempotency_keys: bool = True,
        max_in_flight: int = 200,
        options: Options = (),
        interceptors: Sequence[aio.ClientInterceptor] = (),
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = CallPolicy(
            api_key, timeout, retry or RetryPolicy(), idempotency_keys, max_in_flight
        )
        options = _own_connection(options)
        chain: list[aio.ClientInterceptor] = [
            AsyncUnaryPolicy(self.policy, sleep=sleep or asyncio.sleep, rng=rng),
            *async_stream_credentials(self.policy),
            *interceptors,
        ]
        self.channel = (
            aio.secure_channel(target, credentials, options, interceptors=chain)
            if credentials is not None
            else aio.insecure_channel(target, options, interceptors=chain)
        )
        self.consent = consent_pb2_grpc.ConsentServiceStub(self.channel)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(self.channel)
        self.cookies = cookies_pb2_grpc.CookieServiceStub(self.channel)
        self.rights = rights_pb2_grpc.RightsServiceStub(self.channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(self.channel)
        self.retention = retention_pb2_grpc.RetentionServiceStub(self.channel)
        self.campaign = campaign_pb2_grpc.CampaignServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
