"""Admission of a tenant's consent writes into transactions, a bounded number per process.

Until migration 0009 every consent write of a tenant held the tenant's feed and audit heads
until it committed, so its writes committed one after the other and more than a few open at once
only made every write slower (64 in flight: p99 0.8-1.2 s): the default was 4. Writers now lock
only their subject and queue their log entries (the sequencer chains them), so a tenant's writes
commit side by side; the bound (default 32, above the writing pool's 20 connections) only keeps
one tenant from taking every connection of the process. Measured on the shared 2-core machine
(/work/notes/issue-12a.md): 4 admitted 49-95 writes/s, p50 0.5-1 s; 16: 129/s; 64: 75-147/s,
p50 0.12-0.16 s. Waiting here is first come, first served (Lane), so a withdrawal queues behind
at most the writes that came before it, never behind later ones; once the database is lost,
every write still waiting is refused UNAVAILABLE at once (the bundled clients retry it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from types import TracebackType
from uuid import UUID


class Lane:
    """A semaphore (first come, first served) whose waiting writes can all be refused at once:
    when the database stopped answering, writes queued here would each have waited their turn
    and then the database's ceiling (100 writes of one tenant in flight when PostgreSQL froze
    ended 5 s apart in waves of 32, the last after 25 s with a 5 s ceiling; probe PA)."""

    __slots__ = ("_free", "_waiting")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        try:
            await future  # done with a place handed over, or with the refusal
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._release()  # handed a place as the caller went: the next one takes it
            with contextlib.suppress(ValueError):
                self._waiting.remove(future)
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)  # the place goes to the first still waiting
                return
        self._free += 1

    def refuse_waiting(self, error: Callable[[], BaseException]) -> int:
        """Every write waiting for a place fails with an `error()` of its own; how many did."""
        refused = 0
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error())
                refused += 1
        return refused


class TenantWriters:
    def __init__(self, per_tenant: int) -> None:
        if per_tenant < 1:
            raise ValueError("per_tenant must be at least 1")
        self._per_tenant = per_tenant
        self._lanes: dict[UUID, Lane] = {}

    def __call__(self, tenant_id: UUID) -> Lane:
        """The tenant's admission (async with it around the unit of work)."""
        lane = self._lanes.get(tenant_id)
        if lane is None:
            lane = self._lanes[tenant_id] = Lane(self._per_tenant)
        return lane

    def refuse_waiting(self, error: Callable[[], BaseException]) -> int:
        """Every write waiting for admission, of every tenant, fails with an `error()` (the health
        probe found the database lost: api/health.py Reachability); how many did. Writes
        admitted already end within the database's ceiling."""
        return sum(lane.refuse_waiting(error) for lane in self._lanes.values())
