"""The audit sequencer of one process: integrates queued audit rows into the log and the feed.

Writers queue entries in their own transactions (store/audit.py, store/consents.py) and, once
committed, call `changed(tenant)` (the unit of work's change signal). One task per process then
runs integration passes (store/sequencer.py) for the woken tenants until their queues are empty,
PARALLEL tenants at once, and wakes the change feed's watchers. `sweep()` integrates every
tenant that has queued rows: what another process queued, or what a process killed before its
pass left behind; `serve` runs it every `sweep_seconds`. `drain(tenant)` integrates a tenant's
queue before a caller reads the log (verification, proofs, checkpoints), so what was
acknowledged before is in it.

Several processes (or replicas) integrating one tenant serialise on its head row: a pass that
finds the queue already emptied by another commits nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog

from consentd.app.ports import ChangeSignal, LogIntegration

log = structlog.get_logger("consentd.sequencer")

BATCH = 2_000
# Tenants integrated at once: each pass is its own short transaction on its own head row, so
# passes of different tenants never wait on each other. One at a time, writes spread over 50
# tenants waited up to a second to be in the log (a pass and its commit per tenant, in turn).
PARALLEL = 4


class Sequencer:
    """`changed(tenant)` wakes it; `drain(tenant)` and `sweep()` integrate now."""

    def __init__(
        self,
        store: LogIntegration,
        clock: Callable[[], datetime],
        feed: ChangeSignal,
        batch: int = BATCH,
    ) -> None:
        self._store = store
        self._clock = clock
        self._feed = feed
        self._batch = batch
        self._woken: set[UUID] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._locks: dict[UUID, asyncio.Lock] = {}
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()

    def changed(self, tenant_id: UUID) -> None:
        """A transaction of `tenant_id` that queued entries committed."""
        self._woken.add(tenant_id)
        self._idle.clear()
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()

    async def _run(self) -> None:
        running: set[asyncio.Task[None]] = set()
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            while self._woken or running:
                while self._woken and len(running) < PARALLEL:
                    running.add(asyncio.ensure_future(self._drain_logged(self._woken.pop())))
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            self._idle.set()

    async def settled(self) -> None:
        """Until every tenant woken so far is integrated (no pass running or pending)."""
        await self._idle.wait()

    async def _drain_logged(self, tenant_id: UUID) -> None:
        try:
            await self.drain(tenant_id)
        except Exception:  # the sweep retries; never let the task die
            log.exception("sequencer_pass_failed", tenant=str(tenant_id))

    async def drain(self, tenant_id: UUID) -> int:
        """Integrate the tenant's queue until it is empty; the entries appended."""
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        total = 0
        async with lock:  # one pass per tenant at a time in this process
            while True:
                done = await self._store.integrate(tenant_id, self._batch, self._clock())
                total += done.entries
                if done.fed:
                    self._feed.changed(tenant_id)
                if done.entries < self._batch:
                    return total

    async def sweep(self) -> int:
        """Integrate every tenant with queued rows; the entries appended."""
        tenants = await self._store.queued_tenants()
        gate = asyncio.Semaphore(PARALLEL)

        async def one(tenant_id: UUID) -> int:
            async with gate:
                return await self.drain(tenant_id)

        return sum(await asyncio.gather(*(one(tenant) for tenant in tenants)))

    async def sweep_periodically(self, seconds: float) -> None:
        """`sweep()` now and then every `seconds`, until cancelled; failures are logged."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("sequencer_sweep_failed")
            await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        """Integrate what this process's writes queued (a CLI command exits right after), then
        stop the task."""
        task, self._task = self._task, None
        if task is not None and task.get_loop() is asyncio.get_running_loop():
            self._closing = True
            self._wake.set()
            await task
        for tenant in list(self._woken):
            try:
                await self.drain(tenant)
            except Exception:  # still queued: the next sweep (any process's) integrates it
                log.warning("sequencer_left_queued", tenant=str(tenant), exc_info=True)
        self._woken.clear()
        await self._store.close()
