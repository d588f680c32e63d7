"""The grpc.aio server: our services, health checking and reflection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import cast

import grpc
from consent.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    cookies_pb2,
    cookies_pb2_grpc,
    retention_pb2,
    retention_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2_grpc

from consentd.api.audit_servicer import AuditServicer
from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.catalog_servicer import CatalogServicer
from consentd.api.consent_servicer import ConsentServicer
from consentd.api.cookie_servicer import CookieServicer
from consentd.api.grpc_options import grpc_options
from consentd.api.health import (
    PROBE_TIMEOUT,
    SERVING,
    Health,
    Probe,
    Reachability,
    follow_database,
    stop_following,
)
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.reflection import serve_reflection
from consentd.api.retention_servicer import RetentionServicer
from consentd.api.rights_servicer import RightsServicer

Registration = Callable[[grpc.aio.Server], None]
# At shutdown, how long calls already sent may keep arriving before the server stops taking them.
SETTLE_SECONDS = 1.0
SETTLE_QUIET = 0.1
# Then, how long calls still arriving are refused (UNAVAILABLE) before grpc stops.
REFUSE_SECONDS = 0.5
REFUSE_QUIET = 0.02

SERVICE_NAMES = (
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name,
    catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name,
    campaign_pb2.DESCRIPTOR.services_by_name["CampaignService"].full_name,
    rights_pb2.DESCRIPTOR.services_by_name["RightsService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
    retention_pb2.DESCRIPTOR.services_by_name["RetentionService"].full_name,
    cookies_pb2.DESCRIPTOR.services_by_name["CookieService"].full_name,
)


class GenericOnly:
    """The server as the generated `add_*Servicer_to_server` functions see it: they register a
    service twice, as a generic handler (looked up by method name in a dict) and as "registered
    methods"; only the generic handler is kept.

    grpc.aio (1.85) keeps one pending request per registered method and, for every call, waits
    on all of them at once (asyncio.wait over ~45 futures here: a done-callback added to and
    removed from each): 7 % of the server's CPU with 64 checks in flight, which a server with a
    handful of methods never pays."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: object) -> None:
        """Not kept: the generic handler registered beside them answers the same methods."""


class Server:
    """Owns the grpc.aio server and its health status, which follows the database."""

    def __init__(
        self,
        registrations: list[Registration],
        interceptors: list[grpc.aio.ServerInterceptor],
        reuse_port: bool = False,
        probe: Probe | None = None,
        reachability: Reachability | None = None,
    ) -> None:
        """`reuse_port`: several processes may listen on the same port (SO_REUSEPORT); the
        kernel spreads new connections among them. `probe`: a database round trip; health is
        SERVING while it answers (always, without one)."""
        self._interceptors = interceptors
        self._probe = probe
        self._reachability = reachability  # told what the probe finds (the gate reads it)
        self._following: asyncio.Task[None] | None = None
        self.grpc = grpc.aio.server(
            interceptors=interceptors,
            options=grpc_options(reuse_port=reuse_port),
        )
        self.health = Health(SERVICE_NAMES)
        # The generated functions call only the two methods GenericOnly has.
        generic = cast(grpc.aio.Server, GenericOnly(self.grpc))
        for register in registrations:
            register(generic)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, generic)
        serve_reflection(generic, (*SERVICE_NAMES, health.SERVICE_NAME))

    def bind(self, address: str) -> int:
        """Listen on `address` (host:port, port 0 for any); returns the port."""
        port = self.grpc.add_insecure_port(address)
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        return port

    async def start(self) -> None:
        await self.grpc.start()
        if self._probe is None:
            self.health.set(SERVING)
            return
        self._following = asyncio.create_task(
            follow_database(self.health, self._probe, self._reachability)
        )
        # Answer health checks truthfully from the first one: wait for the first probe.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PROBE_TIMEOUT + 0.5):
                while self.health.status != SERVING and not self._following.done():  # noqa: ASYNC110 - bounded, start-up only
                    await asyncio.sleep(0.01)

    async def stop(self, grace: float) -> None:
        """Stop accepting calls and report NOT_SERVING; end every open stream (health watches
        included) with UNAVAILABLE at once; let unary calls in flight finish within `grace`
        seconds (the settle and the refusals included), then stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self.health.close()
        for interceptor in self._ours():
            interceptor.streams.close()
        await self._settle(min(SETTLE_SECONDS, grace / 2))
        await self._refuse_new_calls()
        # What is left of the grace: grpc's own grace counted from here let a drain last the
        # settle and the refusals longer than the operator's grace.
        await self.grpc.stop(max(0.0, deadline - loop.time()))
        # The probe follows the database until the calls are done (health stays NOT_SERVING):
        # a database lost while they drain still refuses the writes queued in the process
        # (stopped first, they waited out the grace for grpc's "Cancelling all calls"; QA).
        await stop_following(self._following)
        self._following = None
        if self._probe is not None:
            await self._probe.close()

    async def _refuse_new_calls(self) -> None:
        """From now on calls are answered UNAVAILABLE (not run: a client retries them). What
        grpc holds undispatched when it stops it cancels (CANCELLED, which clients do not
        retry): wait until those it holds now have been refused, REFUSE_SECONDS at most."""
        for interceptor in self._ours():
            interceptor.refusing = True
        await self._until_quiet(REFUSE_SECONDS, REFUSE_QUIET)

    async def _settle(self, within: float) -> None:
        """Let calls the clients sent before the signal reach their handlers: grpc refuses
        (CANCELLED) every call not yet dispatched when it stops."""
        await self._until_quiet(within, SETTLE_QUIET)

    async def _until_quiet(self, within: float, quiet: float) -> None:
        """Until no call arrived for `quiet` seconds, `within` seconds at most."""
        ours = self._ours()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        seen = -1
        while loop.time() < deadline:
            arrived = sum(i.arrived for i in ours)
            if arrived == seen:
                return
            seen = arrived
            await asyncio.sleep(quiet)

    def _ours(self) -> list[ServiceInterceptor]:
        return [i for i in self._interceptors if isinstance(i, ServiceInterceptor)]


def consent_service(servicer: ConsentServicer) -> Registration:
    return lambda server: consent_pb2_grpc.add_ConsentServiceServicer_to_server(servicer, server)


def catalog_service(servicer: CatalogServicer) -> Registration:
    return lambda server: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(servicer, server)


def campaign_service(servicer: CampaignServicer) -> Registration:
    return lambda server: campaign_pb2_grpc.add_CampaignServiceServicer_to_server(servicer, server)


def rights_service(servicer: RightsServicer) -> Registration:
    return lambda server: rights_pb2_grpc.add_RightsServiceServicer_to_server(servicer, server)


def audit_service(servicer: AuditServicer) -> Registration:
    return lambda server: audit_pb2_grpc.add_AuditServiceServicer_to_server(servicer, server)


def retention_service(servicer: RetentionServicer) -> Registration:
    return lambda server: retention_pb2_grpc.add_RetentionServiceServicer_to_server(
        servicer, server
    )


def cookie_service(servicer: CookieServicer) -> Registration:
    return lambda server: cookies_pb2_grpc.add_CookieServiceServicer_to_server(servicer, server)
