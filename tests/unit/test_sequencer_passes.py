"""The sequencer integrates woken tenants a few at a time (jobs/sequencer.py: PARALLEL): passes
of different tenants overlap, never more than PARALLEL at once, never two of one tenant, and
every woken tenant is drained — on a fake store whose passes take time. Tenants woken together
share a transaction (GROUP); when that fails, each is drained alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
import structlog

from consentd.app.ports import Integrated
from consentd.jobs.sequencer import GROUP, PARALLEL, Sequencer
from consentd.logs import configure_logging
from consentd.store.deadlines import remaining_milliseconds, set_call_deadline


class SlowStore:
    """Each tenant has `queued` rows; a pass takes 10 ms and integrates up to `limit` of them."""

    def __init__(self, tenants: list[UUID], queued: int) -> None:
        self.queued = dict.fromkeys(tenants, queued)
        self.running: Counter[UUID] = Counter()
        self.most = 0
        self.most_of_one = 0
        self.empty = asyncio.Event()
        self.groups: list[int] = []  # tenants of each integrate_many
        self.open = 0  # transactions running (a pass, or a group's passes)
        self.most_open = 0
        self.fail_groups = False
        self.deadlines: list[int | None] = []  # the call deadline each transaction ran under

    async def integrate(self, tenant_id: UUID, limit: int, now: datetime) -> Integrated:
        self.deadlines.append(remaining_milliseconds())
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self.running[tenant_id] += 1
        self.most = max(self.most, sum(self.running.values()))
        self.most_of_one = max(self.most_of_one, self.running[tenant_id])
        await asyncio.sleep(0.01)
        taken = min(limit, self.queued[tenant_id])
        self.queued[tenant_id] -= taken
        self.running[tenant_id] -= 1
        self.open -= 1
        if not any(self.queued.values()) and not sum(self.running.values()):
            self.empty.set()
        return Integrated(taken, taken)

    async def integrate_many(
        self, tenants: Sequence[UUID], limit: int, now: datetime
    ) -> dict[UUID, Integrated]:
        self.groups.append(len(tenants))
        self.deadlines.append(remaining_milliseconds())
        if self.fail_groups:
            raise RuntimeError("a pass of the group failed")
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        for tenant in tenants:  # one transaction: its passes run in turn, as one running
            self.running[tenant] += 1
        self.most = max(self.most, sum(self.running.values()))
        self.most_of_one = max(self.most_of_one, *(self.running[t] for t in tenants))
        await asyncio.sleep(0.01)
        done = {}
        for tenant in tenants:
            taken = min(limit, self.queued[tenant])
            self.queued[tenant] -= taken
            self.running[tenant] -= 1
            done[tenant] = Integrated(taken, taken)
        self.open -= 1
        if not any(self.queued.values()) and not sum(self.running.values()):
            self.empty.set()
        return done

    async def queued_tenants(self) -> list[UUID]:
        return [t for t, n in self.queued.items() if n]

    async def close(self) -> None:
        return None

    def terminate(self) -> None:
        pass


class Feed:
    def __init__(self) -> None:
        self.woken: Counter[UUID] = Counter()

    def changed(self, tenant_id: UUID) -> None:
        self.woken[tenant_id] += 1


def _sequencer(store: SlowStore, feed: Feed) -> Sequencer:
    return Sequencer(store, lambda: datetime.now(UTC), feed, batch=5)


async def test_woken_tenants_are_integrated_a_few_at_a_time() -> None:
    tenants = [uuid4() for _ in range(20)]
    store, feed = SlowStore(tenants, 12), Feed()
    sequencer = _sequencer(store, feed)
    for tenant in tenants:
        sequencer.changed(tenant)
        sequencer.changed(tenant)  # woken twice: still one pass at a time
    await asyncio.wait_for(sequencer.settled(), 10)  # every woken tenant integrated
    assert not any(store.queued.values())
    assert store.empty.is_set()
    await sequencer.aclose()
    assert 1 < store.most_open <= PARALLEL
    assert store.most_of_one == 1
    assert set(feed.woken) == set(tenants)
    assert max(store.groups) > 1  # tenants woken together shared a transaction
    assert max(store.groups) <= GROUP


async def test_passes_do_not_run_under_the_deadline_of_the_call_that_woke_them() -> None:
    # The first writer's call had 10 ms left; its passes (and every later one) must not be cut
    # to what is left of it (a 1 ms statement timeout once it passed).
    tenants = [uuid4() for _ in range(3)]
    store, feed = SlowStore(tenants, 12), Feed()
    sequencer = _sequencer(store, feed)
    set_call_deadline(0.01)
    for tenant in tenants:
        sequencer.changed(tenant)
    await asyncio.wait_for(sequencer.settled(), 10)
    await sequencer.aclose()
    assert store.deadlines
    assert set(store.deadlines) == {None}


async def test_a_failed_group_drains_each_tenant_alone() -> None:
    tenants = [uuid4() for _ in range(6)]
    store, feed = SlowStore(tenants, 12), Feed()
    store.fail_groups = True
    sequencer = _sequencer(store, feed)
    for tenant in tenants:
        sequencer.changed(tenant)
    await asyncio.wait_for(sequencer.settled(), 10)
    assert not any(store.queued.values())  # every tenant integrated alone after all
    assert max(store.groups) > 1
    assert store.most_of_one == 1
    await sequencer.aclose()


async def test_a_sweep_drains_every_queued_tenant_a_few_at_a_time() -> None:
    """20 tenants of 7 rows, passes of 5: groups of GROUP tenants a transaction, PARALLEL
    transactions at most, never two passes of one tenant, each tenant's rest alone."""
    tenants = [uuid4() for _ in range(20)]
    store, feed = SlowStore(tenants, 7), Feed()
    sequencer = _sequencer(store, feed)
    assert await sequencer.sweep() == 140
    assert not any(store.queued.values())
    assert 1 < store.most_open <= PARALLEL
    assert store.most_of_one == 1
    assert max(store.groups) == GROUP
    await sequencer.aclose()


async def test_a_sweep_whose_group_fails_drains_each_tenant_alone() -> None:
    tenants = [uuid4() for _ in range(10)]
    store, feed = SlowStore(tenants, 7), Feed()
    store.fail_groups = True
    sequencer = _sequencer(store, feed)
    assert await sequencer.sweep() == 70
    assert not any(store.queued.values())
    assert store.most_of_one == 1
    await sequencer.aclose()


class DownStore(SlowStore):
    """The database gone: every look at the queues fails until `down` is cleared."""

    def __init__(self) -> None:
        super().__init__([], 0)
        self.down = True

    async def queued_tenants(self) -> list[UUID]:
        if self.down:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        return []


class FlappingStore(DownStore):
    """Every other look fails (connection slots taken: a pooled connection still answers)."""

    async def queued_tenants(self) -> list[UUID]:
        self.down = not self.down
        return await super().queued_tenants()


async def test_a_sweep_failing_in_a_row_logs_its_traceback_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the database down the sweep fails every half second, each a warning with a
    traceback (a probe: 417 KB in 35 s, 1 GB a day). The first failure is logged with it, the
    next ones not within QUIET_SECONDS; sweeps that succeed again for STEADY_SECONDS say so
    once. Every other sweep failing (probe CB: connection slots taken) is one failure, not a
    "recovered" and a traceback each second."""
    monkeypatch.setattr("consentd.jobs.sequencer.STEADY_SECONDS", 0.15)
    saved = structlog.get_config()
    said: list[list[str]] = []
    try:
        configure_logging("info", "json")
        for store in (DownStore(), FlappingStore()):
            down = type(store) is DownStore
            capsys.readouterr()
            sequencer = Sequencer(store, lambda: datetime.now(UTC), Feed(), batch=5)
            sweeping = asyncio.create_task(sequencer.sweep_periodically(0.01))
            await asyncio.sleep(0.3)  # some 30 sweeps
            failing = sequencer.stalled_seconds()
            store.__class__ = DownStore  # steady
            store.down = False
            await asyncio.sleep(0.5)
            sweeping.cancel()
            # The gauge an operator alerts on: it grew while every sweep failed, not otherwise.
            assert (failing >= 0.25, sequencer.stalled_seconds() < 0.25) == (down, True)
            with contextlib.suppress(asyncio.CancelledError):
                await sweeping
            events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
            said.append([e["event"] for e in events])
            assert "ConnectionRefusedError" in events[0]["exception"]
    finally:
        structlog.configure(**saved)
    assert said == [["sequencer_sweep_failed", "sequencer_recovered"]] * 2


async def test_a_sweep_failing_on_the_databases_unavailability_is_a_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe DB: every database blip logged the failed pass at error level with its traceback,
    the sequencer recovering a second later (operators page on errors). The database's
    unavailability (`transient`, wired to store/database.outage_of) is a warning naming the
    error; anything else keeps its traceback."""
    monkeypatch.setattr("consentd.jobs.sequencer.STEADY_SECONDS", 0.15)
    saved = structlog.get_config()
    try:
        configure_logging("info", "json")
        # A logger of this configuration (the module's, cached, writes where an earlier
        # test's was).
        monkeypatch.setattr("consentd.jobs.sequencer.log", structlog.get_logger("consentd"))
        capsys.readouterr()
        transient = lambda error: isinstance(error, ConnectionRefusedError)  # noqa: E731
        sequencer = Sequencer(DownStore(), lambda: datetime.now(UTC), Feed(), transient=transient)
        sweeping = asyncio.create_task(sequencer.sweep_periodically(0.01))
        await asyncio.sleep(0.1)
        sweeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeping
        first = json.loads(capsys.readouterr().err.splitlines()[0])
    finally:
        structlog.configure(**saved)
    assert (first["event"], first["level"], first["error"]) == (
        "sequencer_sweep_failed",
        "warning",
        "ConnectionRefusedError",
    )
    assert "exception" not in first
