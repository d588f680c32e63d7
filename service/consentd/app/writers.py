"""Admission of a tenant's consent writes into transactions, a few at a time per process.

Every consent write of a tenant ends holding the tenant's feed and audit heads until it commits,
so its writes commit one after the other whatever the number of open transactions. With more
open at once than that, the writers that wait for the heads keep the event loop busy with their
first statements while the one holding them waits for its turn to send the next: the heads are
held longer and every write slows (64 in flight: p99 0.8-1.2 s; 4 at a time: 0.4 s, and more
writes per second). Waiting here is first come, first served (asyncio.Semaphore), so a
withdrawal queues behind at most the writes that came before it, never behind later ones.
"""

from __future__ import annotations

import asyncio
from uuid import UUID


class TenantWriters:
    def __init__(self, per_tenant: int) -> None:
        if per_tenant < 1:
            raise ValueError("per_tenant must be at least 1")
        self._per_tenant = per_tenant
        self._lanes: dict[UUID, asyncio.Semaphore] = {}

    def __call__(self, tenant_id: UUID) -> asyncio.Semaphore:
        """The tenant's admission (async with it around the unit of work)."""
        lane = self._lanes.get(tenant_id)
        if lane is None:
            lane = self._lanes[tenant_id] = asyncio.Semaphore(self._per_tenant)
        return lane
