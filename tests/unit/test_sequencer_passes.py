"""The sequencer integrates woken tenants a few at a time (jobs/sequencer.py: PARALLEL): passes
of different tenants overlap, never more than PARALLEL at once, never two of one tenant, and
every woken tenant is drained — on a fake store whose passes take time."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from uuid import UUID, uuid4

from consentd.app.ports import Integrated
from consentd.jobs.sequencer import PARALLEL, Sequencer


class SlowStore:
    """Each tenant has `queued` rows; a pass takes 10 ms and integrates up to `limit` of them."""

    def __init__(self, tenants: list[UUID], queued: int) -> None:
        self.queued = dict.fromkeys(tenants, queued)
        self.running: Counter[UUID] = Counter()
        self.most = 0
        self.most_of_one = 0
        self.empty = asyncio.Event()

    async def integrate(self, tenant_id: UUID, limit: int, now: datetime) -> Integrated:
        self.running[tenant_id] += 1
        self.most = max(self.most, sum(self.running.values()))
        self.most_of_one = max(self.most_of_one, self.running[tenant_id])
        await asyncio.sleep(0.01)
        taken = min(limit, self.queued[tenant_id])
        self.queued[tenant_id] -= taken
        self.running[tenant_id] -= 1
        if not any(self.queued.values()) and not sum(self.running.values()):
            self.empty.set()
        return Integrated(taken, taken)

    async def queued_tenants(self) -> list[UUID]:
        return [t for t, n in self.queued.items() if n]

    async def close(self) -> None:
        return None


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
    assert 1 < store.most <= PARALLEL
    assert store.most_of_one == 1
    assert set(feed.woken) == set(tenants)


async def test_a_sweep_drains_every_queued_tenant_a_few_at_a_time() -> None:
    tenants = [uuid4() for _ in range(10)]
    store, feed = SlowStore(tenants, 7), Feed()
    sequencer = _sequencer(store, feed)
    assert await sequencer.sweep() == 70
    assert not any(store.queued.values())
    assert 1 < store.most <= PARALLEL
    await sequencer.aclose()
