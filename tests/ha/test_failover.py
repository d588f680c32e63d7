"""Loss of the primary's database under mixed write and check load: kill -9 of its postmaster,
Patroni promotes a standby, consentd follows through HAProxy without a restart. With synchronous
replication no acknowledged write is lost; the same fault without it loses some (the harness's
teeth). Both runs stall the primary's WAL senders for a moment before the kill (the standbys fall
behind, as a congested network would leave them), and the kill takes them too."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import suppress

from tools.ha_cluster import HaCluster, Node

from consentd_client import AsyncClient
from tests.ha.conftest import Deployment, deploy, replica, report
from tests.ha.ledger import HA_RETRY, FeedWatcher, Load, Verdict, first_write_after, verify

STALL_SECONDS = 1.5


async def _failover_under_load(
    cluster: HaCluster, run: str, *, machine: bool = False
) -> tuple[Verdict, FeedWatcher]:
    """Load, stall the standbys, kill -9 the primary's postmaster (with `machine`, its Patroni
    too: the leader key must expire); time the first write after it, let the load run on the
    new primary, then hold the ledger against the database."""
    deployment: Deployment = await deploy(cluster)
    async with replica(deployment) as server:
        watcher = FeedWatcher(server.address, deployment.api_key)
        load = Load(server.address, deployment.api_key)
        try:
            watcher.start()
            await load.start()
            await asyncio.sleep(4)
            old, killed_at = await _kill_primary(cluster, machine)
            to_write = await first_write_after(server.address, deployment.api_key, killed_at, 90)
            await asyncio.sleep(5)
            ledger = await load.stop()
            new = await asyncio.to_thread(_new_leader, cluster, old)
            async with AsyncClient(
                server.address, api_key=deployment.api_key, retry=HA_RETRY, timeout=30
            ) as client:
                verdict = await verify(client, ledger)
        finally:
            await load.stop()
            await watcher.stop()
    report(
        run, first_write_after_kill_s=f"{to_write:.1f}", old_leader=old, new_leader=new,
        calls=ledger.calls, acked_writes=len(ledger.acked), failed=dict(ledger.failed),
        attempts=dict(load.attempts.codes), lost=len(verdict.lost),
        duplicated=len(verdict.duplicated),
        allow_after_withdrawal=len(verdict.allowed_after_withdrawal),
        feed_gaps=len(verdict.feed_gaps), audit_ok=verdict.audit_ok,
        watcher_reconnects=watcher.reconnects,
    )  # fmt: skip
    return verdict, watcher


async def _kill_primary(cluster: HaCluster, machine: bool) -> tuple[str, float]:
    """Stall the primary's WAL senders for STALL_SECONDS, then kill -9 its postmaster, the
    stalled senders and, with `machine`, its Patroni; its name and the monotonic kill time."""
    old = cluster.leader()
    assert old is not None
    stalled = _stall(old)
    try:
        await asyncio.sleep(STALL_SECONDS)
        killed_at = time.monotonic()
        if machine:
            assert old.proc is not None
            old.proc.kill()
        cluster.kill_postmaster(old)
    finally:
        _kill(stalled)
    return old.name, killed_at


def _stall(primary: Node) -> list[int]:
    """SIGSTOP the primary's WAL senders: it goes on committing (unless a synchronous standby
    must confirm), the standbys receive nothing more."""
    pids = primary.backend_pids(b"walsender")
    assert pids, "no WAL sender to stall"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


def _kill(pids: list[int]) -> None:
    """The machine is gone: its stalled WAL senders die with the postmaster, sending nothing."""
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _new_leader(cluster: HaCluster, old: str) -> str:
    """The leader's name once another member than `old` leads (up to 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        leader = cluster.leader()
        if leader is not None and leader.name != old:
            return leader.name
        time.sleep(0.5)
    return "none"


async def test_kill_9_of_the_primary_loses_no_acknowledged_write_and_writes_resume(
    synchronous_cluster: HaCluster,
) -> None:
    """Synchronous replication (strict): after the failover no acknowledged write is lost or
    doubled, no check allows after an acknowledged withdrawal, the feed has no gap and agrees
    with what a resuming consumer saw, the audit chain verifies, no call fails other than with
    UNAVAILABLE or its deadline; writes resume (the time is reported, not asserted)."""
    verdict, watcher = await _failover_under_load(synchronous_cluster, "failover-synchronous")
    assert verdict.lost == []
    assert verdict.duplicated == []
    assert verdict.allowed_after_withdrawal == []
    assert verdict.feed_gaps == []
    assert verdict.audit_ok
    assert watcher.disagreements(verdict.feed) == []
    assert verdict.unexpected_failures() == {}


async def test_without_synchronous_replication_the_same_failover_loses_acknowledged_writes() -> (
    None
):
    """The harness has teeth: the same fault on an asynchronous cluster is reported as lost
    acknowledged writes (and the feed consumer saw events that no longer exist)."""
    cluster = HaCluster(synchronous=False)
    cluster.start()
    try:
        verdict, _ = await _failover_under_load(cluster, "failover-asynchronous-control")
    finally:
        cluster.stop()
    assert verdict.lost != []


async def test_the_loss_of_the_whole_primary_machine_loses_no_acknowledged_write(
    synchronous_cluster: HaCluster,
) -> None:
    """kill -9 of the primary's Patroni and postmaster together (the machine is gone): the
    leader key expires after its TTL, the synchronous standby is promoted, the ledger holds."""
    verdict, watcher = await _failover_under_load(
        synchronous_cluster, "failover-machine-lost", machine=True
    )
    assert verdict.lost == []
    assert verdict.duplicated == []
    assert verdict.allowed_after_withdrawal == []
    assert verdict.feed_gaps == []
    assert verdict.audit_ok
    assert watcher.disagreements(verdict.feed) == []
    assert verdict.unexpected_failures() == {}
