"""The audit sequencer of one process: integrates queued audit rows into the log and the feed.

Writers queue entries in their own transactions (store/audit.py, store/consents.py) and, once
committed, call `changed(tenant)` (the unit of work's change signal). One task per process then
runs integration passes (store/sequencer.py) for the woken tenants until their queues are empty
(the tenants woken together in one transaction, up to GROUP of them; PARALLEL transactions at
once), and wakes the change feed's watchers. `sweep()` integrates every
tenant that has queued rows: what another process queued, or what a process killed before its
pass left behind; `serve` runs it every `sweep_seconds`. `drain(tenant)` integrates a tenant's
queue before a caller reads the log (verification, proofs, checkpoints), so what was
acknowledged before is in it.

Several processes (or replicas) integrating one tenant serialise on its head row: a pass that
finds the queue already emptied by another commits nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog

from consentd.app.ports import ChangeSignal, Integrated, LogIntegration

log = structlog.get_logger("consentd.sequencer")

BATCH = 2_000
# Transactions of passes at once: each is short, on its own head rows, so they never wait on
# each other. One at a time, writes spread over 50 tenants waited up to a second to be in the
# log (a pass and its commit per tenant, in turn).
PARALLEL = 4
# Tenants woken together are integrated in one transaction, up to GROUP of them: writes spread
# over many tenants woke a pass per write, each with its own commit.
GROUP = 8
# A failure that repeats (the database down: a sweep every half second wrote a traceback each,
# 1 GB a day) is logged with its traceback once, then by its kind once a minute, until a sweep
# succeeds (`sequencer_recovered`).
QUIET_SECONDS = 60.0
# A failure is over once sweeps have succeeded this long: with every connection slot taken, a
# sweep on a pooled connection finding nothing queued succeeded between failures, each
# "recovered" and the next failure's traceback again, 19 of each in 20 s (probe CB).
STEADY_SECONDS = 5.0


class _Failures:
    """Failures in a row, logged as QUIET_SECONDS says. Call failed() inside `except`.
    `transient`: whether an error is the database's unavailability (a restart, a lost
    connection), said as a warning without a traceback: a pass failed at error level, its
    traceback with it, at every blip the sequencer then recovered from (probe DB)."""

    def __init__(self, transient: Callable[[BaseException], bool] = lambda _: False) -> None:
        self._since: float | None = None
        self._said = self._last = 0.0
        self._transient = transient

    def failed(self, event: str, **fields: object) -> None:
        now = self._last = time.monotonic()
        if self._since is None:
            self._since = self._said = now
            error = sys.exc_info()[1]
            if error is not None and self._transient(error):
                log.warning(event, error=type(error).__name__, **fields)
            else:
                log.error(event, exc_info=True, **fields)
        elif now - self._said >= QUIET_SECONDS:
            self._said = now
            kind = type(sys.exc_info()[1]).__name__
            log.warning(event, error=kind, failing_seconds=round(now - self._since), **fields)

    def recovered(self) -> None:
        """A sweep succeeded: the failure is over once none came for STEADY_SECONDS."""
        if self._since is not None and time.monotonic() - self._last >= STEADY_SECONDS:
            log.info("sequencer_recovered", failed_seconds=round(self._last - self._since))
            self._since = None


class Sequencer:
    """`changed(tenant)` wakes it; `drain(tenant)` and `sweep()` integrate now."""

    def __init__(
        self,
        store: LogIntegration,
        clock: Callable[[], datetime],
        feed: ChangeSignal,
        batch: int = BATCH,
        transient: Callable[[BaseException], bool] = lambda _: False,
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
        self._failures = _Failures(transient)
        self._swept = time.monotonic()  # when a sweep last succeeded

    def changed(self, tenant_id: UUID) -> None:
        """A transaction of `tenant_id` that queued entries committed."""
        self._woken.add(tenant_id)
        self._idle.clear()
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self._wake = asyncio.Event()
            # In a context of its own: the request that woke it first must not lend it its
            # deadline (a 1 ms statement timeout on every pass once that deadline passed) nor
            # its trace.
            self._task = asyncio.get_running_loop().create_task(
                self._run(), context=contextvars.Context()
            )
        self._wake.set()

    async def _run(self) -> None:
        running: set[asyncio.Task[None]] = set()
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            while self._woken or running:
                while self._woken and len(running) < PARALLEL:
                    group = [self._woken.pop() for _ in range(min(GROUP, len(self._woken)))]
                    running.add(asyncio.ensure_future(self._integrate_logged(group)))
                _, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            self._idle.set()

    async def settled(self) -> None:
        """Until every tenant woken so far is integrated (no pass running or pending)."""
        await self._idle.wait()

    async def _integrate_logged(self, tenants: list[UUID]) -> None:
        """A pass of each tenant, together when several; a tenant with more queued than a pass
        takes is woken again. When the passes together fail, each tenant is drained alone (one
        tenant's failure never holds the others back)."""
        if len(tenants) > 1:
            try:
                for tenant_id, integrated in (await self._together(tenants)).items():
                    if integrated.entries >= self._batch:  # more queued: another pass
                        self._woken.add(tenant_id)
                        self._wake.set()
                return
            except Exception:  # noqa: BLE001 - logged (_Failures); each tenant alone next
                self._failures.failed("sequencer_group_failed", tenants=len(tenants))
        for tenant_id in tenants:
            try:
                await self.drain(tenant_id)
            except Exception:  # noqa: BLE001 - logged (_Failures); the sweep retries
                self._failures.failed("sequencer_pass_failed", tenant=str(tenant_id))

    async def _together(self, tenants: list[UUID]) -> dict[UUID, Integrated]:
        async with contextlib.AsyncExitStack() as held:
            for tenant_id in sorted(tenants):  # one order: never two groups waiting crosswise
                lock = self._locks.setdefault(tenant_id, asyncio.Lock())
                await held.enter_async_context(lock)
            done = await self._store.integrate_many(tenants, self._batch, self._clock())
        for tenant_id, integrated in done.items():
            if integrated.fed:
                self._feed.changed(tenant_id)
        return done

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
        """Integrate every tenant with queued rows, up to GROUP of them a transaction (PARALLEL
        at once); the entries appended. (Each alone, writes spread over 50 tenants kept the
        sweep at four round trips a tenant every half second beside the woken passes.)"""
        tenants = await self._store.queued_tenants()
        gate = asyncio.Semaphore(PARALLEL)

        async def group(part: list[UUID]) -> int:
            async with gate:
                return await self._drain_group(part)

        parts = [tenants[i : i + GROUP] for i in range(0, len(tenants), GROUP)]
        return sum(await asyncio.gather(*(group(part) for part in parts)))

    async def _drain_group(self, tenants: list[UUID]) -> int:
        """The tenants' queues emptied: a pass of them together, then each alone that had more
        than a pass takes (or all of them alone when the pass together failed)."""
        total, alone = 0, tenants
        if len(tenants) > 1:
            try:
                done = await self._together(tenants)
                total = sum(d.entries for d in done.values())
                alone = [t for t, d in done.items() if d.entries >= self._batch]
            except Exception:
                log.warning("sequencer_group_failed", tenants=len(tenants), exc_info=True)
        for tenant_id in alone:
            total += await self.drain(tenant_id)
        return total

    async def sweep_periodically(self, seconds: float) -> None:
        """`sweep()` now and then every `seconds`, until cancelled; failures are logged."""
        while True:
            try:
                await self.sweep()
                self._swept = time.monotonic()
                self._failures.recovered()
            except Exception:  # noqa: BLE001 - logged (_Failures); never let the task die
                self._failures.failed("sequencer_sweep_failed")
            await asyncio.sleep(seconds)

    def stalled_seconds(self) -> float:
        """Seconds since a periodic sweep last succeeded (the stalled-seconds gauge)."""
        return time.monotonic() - self._swept

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

    def terminate(self) -> None:
        """Drop the store's connections at once: the database did not answer at shutdown."""
        self._store.terminate()
