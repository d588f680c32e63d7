"""grpc.health.v1 that follows the database: NOT_SERVING within 2 s of losing it (or of a probe
that does not answer in time), SERVING again when it answers; Watch streams end (UNAVAILABLE)
at once when the server drains, so an open watch never holds the exit."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.api.calls import SHUTTING_DOWN
from consentd.api.outages import DatabaseLost, failed_lately, short_lately
from consentd.store.database import sqlstate_of
from consentd.store.probe import DISK_FULL, READ_ONLY

log = structlog.get_logger("consentd.health")
SERVING: int = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING: int = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN: int = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
Status = int  # a HealthCheckResponse.ServingStatus value
# The one name that does not follow the database: SERVING while the process serves at all (a
# liveness probe must not restart every replica because PostgreSQL is down).
LIVENESS = "consentd.liveness"
# Probe every PROBE_INTERVAL; a probe unanswered after PROBE_TIMEOUT counts as lost: a lost
# database shows within PROBE_INTERVAL + PROBE_TIMEOUT (< 2 s).
# Open Watch streams at most, per process: they need no credential, and each holds ~17 KB (a
# probe opened 16,903 over 40 connections: RSS 193 -> 482 MB). Orchestrators poll Check.
MAX_WATCHES = 1_000
WATCHES_EXHAUSTED = "too many health watches are open: poll Check instead, or retry later"
PROBE_INTERVAL = 0.5
PROBE_TIMEOUT = 1.2
# A database the probe has not reached for this long (after its first failure) is lost: calls
# are refused UNAVAILABLE at once (the bundled clients retry) instead of each waiting the
# database's bound (CONSENTD_DB_TIMEOUT_SECONDS) for DEADLINE_EXCEEDED, which no client retries.
# Not at the first failure: a probe slowed by a busy process must not turn calls away.
LOST_AFTER = 2.0


class Reachability:
    """Since when the database probe fails (follow_database says), and whether that is long
    enough for the gate to refuse calls at once; `when_lost` callbacks are called then (once
    per outage), e.g. to refuse the calls queued inside the process."""

    def __init__(self) -> None:
        self._failing_since: float | None = None
        self._lost: list[Callable[[], object]] = []
        self._timer: asyncio.TimerHandle | None = None

    def when_lost(self, callback: Callable[[], object]) -> None:
        self._lost.append(callback)

    def answered(self) -> None:
        self._failing_since = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def failed(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            if self._lost:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(LOST_AFTER, self._now_lost)

    def _now_lost(self) -> None:
        self._timer = None
        for callback in self._lost:
            callback()

    def check(self) -> None:
        """Raises DatabaseLost when the probe has failed for LOST_AFTER seconds and more."""
        since = self._failing_since
        if since is not None and time.monotonic() - since >= LOST_AFTER:
            raise DatabaseLost("the database has not answered for a while")


class Probe(Protocol):
    """A database round trip, a new connection opened and closed, and how to release what it
    holds."""

    def __call__(self) -> Awaitable[object]: ...

    async def fresh(self) -> None: ...

    async def close(self) -> None: ...


class Health(health_pb2_grpc.HealthServicer):  # type: ignore[misc] # grpc_health is untyped
    """The statuses of "" (the whole server) and each service, all the same."""

    def __init__(self, services: Iterable[str]) -> None:
        self._names = ("", LIVENESS, *services)
        self._status: Status = NOT_SERVING
        self._changed = asyncio.Event()
        self._closing = False
        self._watching = 0

    @property
    def status(self) -> Status:
        return self._status

    def set(self, status: Status) -> None:
        """Every service's status (ignored once closed: a draining server stays NOT_SERVING)."""
        if self._closing or status == self._status:
            return
        self._status = status
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """NOT_SERVING for good; every Watch ends."""
        self.set(NOT_SERVING)
        self._closing = True
        self._changed.set()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> health_pb2.HealthCheckResponse:
        if request.service not in self._names:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=self._of(request.service))

    def _of(self, service: str) -> Status:
        if service == LIVENESS:
            return NOT_SERVING if self._closing else SERVING
        return self._status

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        if self._watching >= MAX_WATCHES:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, WATCHES_EXHAUSTED)
        known = request.service in self._names
        last: Status | None = None
        self._watching += 1
        try:
            while True:
                status = self._of(request.service) if known else SERVICE_UNKNOWN
                if status != last:
                    yield health_pb2.HealthCheckResponse(status=status)
                    last = status
                if self._closing:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
                await self._changed.wait()
        finally:
            self._watching -= 1


async def follow_database(
    health: Health, probe: Probe, reachability: Reachability | None = None
) -> None:
    """Until cancelled: SERVING while `probe` answers within PROBE_TIMEOUT, NOT_SERVING when
    it fails or hangs (logged once per change); `reachability` told each outcome."""
    reached = reachability or Reachability()
    state = "starting"
    while True:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                found = await probe()
        except Exception as error:  # noqa: BLE001 - any failure of the probe is "not serving"
            if state != "lost":
                # With its SQLSTATE: no connection slot free (53300) read as a generic loss.
                log.warning(
                    "database_lost", error=type(error).__name__, sqlstate=sqlstate_of(error)
                )
            state = "lost"
            health.set(NOT_SERVING)
            reached.failed()
        else:
            # Reached, but read-only (a standby, default_transaction_read_only) or its disk full
            # (embedded): every write fails, so this replica leaves the balancer; its calls are
            # still served, checks answer (probe AM: health said SERVING while each write
            # answered UNAVAILABLE; probe BJ, a full disk).
            now = found if found in (READ_ONLY, DISK_FULL) else "serving"
            # A new connection only while calls fail: once in REFUSING, trying one at every
            # probe kept it NOT_SERVING for good while a role's connection limit was the
            # pools' own and every call was served (probe DY).
            if now == "serving" and failed_lately(FAILED_WITHIN):
                now = await _connects(probe)
            if now == "serving" and short_lately(FAILED_WITHIN):
                now = SHORT  # writes fail for a file it cannot write or open (probe DW)
            if now != state:
                if now == "serving":
                    log.info("database_reachable")
                else:
                    log.warning(f"database_{now}")
            state = now
            health.set(SERVING if now == "serving" else NOT_SERVING)
            reached.answered()
        await asyncio.sleep(PROBE_INTERVAL)


# Calls failed for the database while the probe's own connection answers: the pools may be
# unable to open one (every slot taken, a postmaster that accepts nothing, 5 s per call; health
# said SERVING throughout, probe BP). Then a new connection is tried, and NOT_SERVING while it
# fails, until one opens again or no call failed for FAILED_WITHIN. Without failing calls none
# is opened: the pools' connections, opened already, serve whatever another client takes.
REFUSING = "refuses_connections"
SHORT = "short_of_resources"
FAILED_WITHIN = 2 * PROBE_INTERVAL + PROBE_TIMEOUT


async def _connects(probe: Probe) -> str:
    """ "serving" when a new connection opens within PROBE_TIMEOUT, else REFUSING."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await probe.fresh()
    except Exception:  # noqa: BLE001 - any failure to connect is "not serving"
        return REFUSING
    return "serving"


async def stop_following(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
