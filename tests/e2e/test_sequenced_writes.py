"""Writes of one tenant queue their audit entries; the sequencer integrates them into the log and
the change feed in one order. Under 64 concurrent writers, and across a kill -9 of the server
process in the middle of the writes, nothing acknowledged is lost or doubled."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import grpc
import sqlalchemy as sa
from consent.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    catalog_pb2_grpc,
    consent_pb2_grpc,
    cookies_pb2_grpc,
    types_pb2,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App, derived_signing_key
from consentd.domain.tenancy import Tenant
from tests.conftest import TEST_SECRET, Stubs, bearer, owner
from tests.e2e.helpers import by_email, grant, put_purpose, record, target, withdraw

NEWSLETTER = target("newsletter")
_CONSENT = "('consent.recorded', 'consent.withdrawn')"


async def _write(stubs: Stubs, index: int, round_: int) -> list[str]:
    """A grant or a withdrawal of subject index % 16; the acknowledged event ids."""
    email = f"w{index % 16}@example.fr"
    if (index + round_) % 2:
        done = await withdraw(stubs, by_email(email), NEWSLETTER)
        return [e.event_id for e in done.events]
    answer = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
    return [e.event_id for e in answer.events]


async def _log_and_feed(app: App, tenant_id: UUID) -> tuple[list[str], list[int], list[str]]:
    """The consent entries' fact ids in log order; the feed's positions and event ids."""
    async with owner(app).connect() as conn:
        log = await conn.execute(
            sa.text(
                "SELECT fact_id FROM audit_entries WHERE tenant_id = :t "  # noqa: S608
                f"AND action IN {_CONSENT} ORDER BY seq"
            ),
            {"t": tenant_id},
        )
        feed = await conn.execute(
            sa.text(
                "SELECT position, event_id FROM consent_changes WHERE tenant_id = :t "
                "ORDER BY position"
            ),
            {"t": tenant_id},
        )
        logged = [str(f) for (f,) in log]
        rows = feed.all()
    return logged, [p for p, _ in rows], [str(e) for _, e in rows]


async def _watched(channel: grpc.aio.Channel, stubs: Stubs, count: int) -> list[str]:
    """The first `count` changes of the feed, read through WatchConsentChanges."""
    stub = campaign_pb2_grpc.CampaignServiceStub(channel)
    call = stub.WatchConsentChanges(
        campaign_pb2.WatchConsentChangesRequest(max_changes=500), metadata=stubs.metadata
    )
    seen: list[str] = []

    async def read() -> None:
        async for response in call:
            seen.extend(c.event.event_id for c in response.changes)
            if len(seen) >= count:
                return

    try:
        await asyncio.wait_for(read(), 30)
    finally:
        call.cancel()
    return seen


async def test_64_concurrent_writers_of_one_tenant_leave_one_order_in_the_log_and_the_feed(
    app: App, stubs: Stubs, channel: grpc.aio.Channel, tenant: Tenant
) -> None:
    """64 writers, 4 rounds each, on 16 subjects of one tenant: the log verifies, the feed's
    positions are 1..N with no gap, the feed lists the events in the log's order, and every
    acknowledged event is in both exactly once."""
    await put_purpose(stubs, "newsletter")
    acknowledged: list[str] = []
    for round_ in range(4):
        written = await asyncio.gather(*(_write(stubs, i, round_) for i in range(64)))
        acknowledged += [event for events in written for event in events]

    audit = audit_pb2_grpc.AuditServiceStub(channel)
    report = await audit.VerifyAuditChain(
        audit_pb2.VerifyAuditChainRequest(), metadata=stubs.metadata
    )
    assert report.ok, report
    assert (report.facts_checked, report.facts_pending) == (len(acknowledged), 0)
    logged, positions, fed = await _log_and_feed(app, tenant.tenant_id)
    assert positions == list(range(1, len(positions) + 1))
    assert fed == logged
    assert sorted(logged) == sorted(acknowledged)  # each once, none else
    assert await _watched(channel, stubs, len(acknowledged)) == fed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _start(env: dict[str, str]) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consentd", "serve", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    port = env["CONSENTD_GRPC_ADDRESS"].rsplit(":", 1)[1]
    deadline = time.monotonic() + 60
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert child.returncode is None, "the server exited before it served"
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return child
            except grpc.aio.AioRpcError:
                pass
            assert time.monotonic() < deadline, "consentd serve did not serve in 60 s"
            await asyncio.sleep(0.2)


async def _queued(app: App, tenant_id: UUID) -> int:
    async with owner(app).connect() as conn:
        count = await conn.execute(
            sa.text("SELECT count(*) FROM audit_queue WHERE tenant_id = :t"), {"t": tenant_id}
        )
        return int(count.scalar_one())


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.1)


def _env(database_url: str, owner_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(derived_signing_key(TEST_SECRET)).decode(),
        "CONSENTD_MIGRATE_ON_START": "false",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_LOG_LEVEL": "warning",
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_METRICS_ADDRESS": "off",
    }


async def _hammer(stubs: Stubs, acknowledged: list[str], stop: asyncio.Event) -> None:
    """32 writers until `stop`; what the server acknowledged goes into `acknowledged`."""

    async def writer(index: int) -> None:
        round_ = 0
        while not stop.is_set():
            try:
                acknowledged.extend(await _write(stubs, index, round_))
            except grpc.aio.AioRpcError:
                return  # the server is gone: this write may or may not have committed
            round_ += 1

    await asyncio.gather(*(writer(i) for i in range(32)))


async def test_a_server_killed_mid_writes_loses_and_doubles_nothing_acknowledged(
    app: App, admin: AdminUseCases, tenant: Tenant, database_url: str, owner_url: str
) -> None:
    """`consentd serve` (a real process) is killed with SIGKILL while 32 writers write; once
    restarted, its sweep integrates every entry left queued, and every acknowledged event is
    in the events, the log and the feed exactly once, and the log verifies."""
    key, _ = await admin.issue_key(tenant.slug, ["admin"], name="kill -9")
    port = _free_port()
    env = _env(database_url, owner_url, port)
    child = await _start(env)
    acknowledged: list[str] = []
    stop = asyncio.Event()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stubs = Stubs(
                consent_pb2_grpc.ConsentServiceStub(channel),
                catalog_pb2_grpc.CatalogServiceStub(channel),
                bearer(key.token),
                cookies_pb2_grpc.CookieServiceStub(channel),
            )
            await put_purpose(stubs, "newsletter")
            hammering = asyncio.create_task(_hammer(stubs, acknowledged, stop))
            await _until(lambda: _acknowledged_at_least(acknowledged, 100), 60)
            child.send_signal(signal.SIGKILL)
            await child.wait()
            stop.set()
            await hammering
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    left = await _queued(app, tenant.tenant_id)

    child = await _start(env)
    try:
        await _until(lambda: _empty(app, tenant.tenant_id), 30)  # the sweep, no request needed
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            audit = audit_pb2_grpc.AuditServiceStub(channel)
            report = await audit.VerifyAuditChain(
                audit_pb2.VerifyAuditChainRequest(), metadata=bearer(key.token)
            )
    finally:
        child.send_signal(signal.SIGTERM)
        await child.wait()
    assert report.ok, (left, report)
    logged, positions, fed = await _log_and_feed(app, tenant.tenant_id)
    assert positions == list(range(1, len(positions) + 1))
    assert fed == logged
    assert len(set(logged)) == len(logged)  # nothing doubled
    assert set(acknowledged) <= set(logged)  # nothing acknowledged lost
    assert report.facts_checked == len(logged)  # no event outside the log


async def _acknowledged_at_least(acknowledged: list[Any], count: int) -> bool:
    return len(acknowledged) >= count


async def _empty(app: App, tenant_id: UUID) -> bool:
    return await _queued(app, tenant_id) == 0
