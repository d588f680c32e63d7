"""Two consentd replicas behind HAProxy in HTTP/2 mode (health-checked with the gRPC health
service), on the synchronous Patroni cluster: a planned switchover, then the loss of one
replica, each under load through the bundled client — no call fails beyond retried UNAVAILABLE,
and the ledger holds afterwards."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from tools.grpc_balancer import GrpcBalancer
from tools.ha_cluster import HaCluster

from consentd_client import AsyncClient
from tests.ha.conftest import Deployment, Replica, deploy, replica, report
from tests.ha.ledger import HA_RETRY, Ledger, Load, verify


class Pair:
    """Two replicas and the balancer in front of them."""

    def __init__(self, deployment: Deployment, replicas: list[Replica], balancer: GrpcBalancer):
        self.deployment, self.replicas, self.balancer = deployment, replicas, balancer


@pytest.fixture(scope="module")
async def pair() -> AsyncIterator[Pair]:
    cluster = HaCluster(synchronous=True)
    await asyncio.to_thread(cluster.start)
    try:
        deployment = await deploy(cluster)
        async with AsyncExitStack() as stack:
            replicas = [await stack.enter_async_context(replica(deployment)) for _ in range(2)]
            balancer = GrpcBalancer(cluster.base, [r.port for r in replicas])
            await asyncio.to_thread(balancer.start)
            stack.callback(balancer.stop)
            yield Pair(deployment, replicas, balancer)
    finally:
        await asyncio.to_thread(cluster.stop)


async def _held(pair: Pair, ledger: Ledger) -> None:
    """The ledger against the database: nothing lost, doubled, allowed after a withdrawal;
    the feed without a gap; the audit chain verifies."""
    address, key = pair.balancer.address, pair.deployment.api_key
    async with AsyncClient(address, api_key=key, retry=HA_RETRY, timeout=30) as client:
        verdict = await verify(client, ledger)
    assert verdict.lost == []
    assert verdict.duplicated == []
    assert verdict.allowed_after_withdrawal == []
    assert verdict.feed_gaps == []
    assert verdict.audit_ok


async def test_a_planned_switchover_under_load_fails_no_call_beyond_retried_unavailable(
    pair: Pair,
) -> None:
    """patronictl switchover while clients write and check through the balancer: every call
    succeeds (some after retried UNAVAILABLE attempts), consentd is not restarted."""
    cluster = pair.deployment.cluster
    load = Load(pair.balancer.address, pair.deployment.api_key, tag="switchover")
    try:
        await load.start()
        await asyncio.sleep(3)
        old = cluster.leader()
        await asyncio.to_thread(cluster.switchover)
        new = await asyncio.to_thread(cluster.wait_healthy, 60)
        await asyncio.sleep(4)
    finally:
        ledger = await load.stop()
    report(
        "switchover", old_leader=old and old.name, new_leader=new.name, calls=ledger.calls,
        failed=dict(ledger.failed), attempts=dict(load.attempts.codes),
    )  # fmt: skip
    assert old is not None
    assert new.name != old.name
    assert dict(ledger.failed) == {}
    await _held(pair, ledger)


async def test_one_replica_killed_behind_the_balancer_fails_no_call_beyond_retries(
    pair: Pair,
) -> None:
    """SIGKILL of one of the two replicas under load: the balancer's gRPC health check takes
    it out, the client's retries of UNAVAILABLE cover the calls it was serving."""
    load = Load(pair.balancer.address, pair.deployment.api_key, tag="replica-kill")
    try:
        await load.start()
        await asyncio.sleep(3)
        pair.replicas[0].process.send_signal(signal.SIGKILL)
        await pair.replicas[0].process.wait()
        await asyncio.sleep(5)
    finally:
        ledger = await load.stop()
    report(
        "replica-killed", calls=ledger.calls, failed=dict(ledger.failed),
        attempts=dict(load.attempts.codes),
    )  # fmt: skip
    assert dict(ledger.failed) == {}
    await _held(pair, ledger)
