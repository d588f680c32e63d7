"""Admission of a tenant's consent writes into transactions, a bounded number per process.

Until migration 0009 every consent write of a tenant held the tenant's feed and audit heads
until it committed, so its writes committed one after the other and more than a few open at once
only made every write slower (64 in flight: p99 0.8-1.2 s): the default was 4. Writers now lock
only their subject and queue their log entries (the sequencer chains them), so a tenant's writes
commit side by side; the bound (default 32, above the writing pool's 20 connections) only keeps
one tenant from taking every connection of the process. Measured on the shared 2-core machine
(/work/notes/issue-12a.md): 4 admitted 49-95 writes/s, p50 0.5-1 s; 16: 129/s; 64: 75-147/s,
p50 0.12-0.16 s. Waiting here is first come, first served (asyncio.Semaphore), so a withdrawal
queues behind at most the writes that came before it, never behind later ones.
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
