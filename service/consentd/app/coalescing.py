"""Coalescing: concurrent calls that ask the same kind of question share one query.

A call joins a batch only while that batch's run has not started, so every run starts after
every call in it arrived: a check that starts after a withdrawal was acknowledged reads a snapshot
taken after that withdrawal. Nothing is cached between runs.

Under load a key's runs can be paced (`pace_limit`): when calls of its key arrived while a run
ran (or another of its runs still runs), its next run waits after that one ended as long as it
took (at most `pace_limit`), so the calls that arrive meanwhile share it. A lone caller never
waits: one that calls again as soon as it is answered found its next check held back that long
(3.4 -> 6.4 ms p50 calling one target one after another; probe PD). Measured with 64
checks in flight on one target (bench/campaign.py): batches of 2.6 checks on average without
pacing, 15 with a 10 ms limit, and about 1.4 times the checks per second — the server's
per-batch work (a task, a pooled connection, a round trip) was the cost that grew with the load.
Pausing twice as long as the last run took gained nothing at 64 in flight and made a lone
caller wait (3.0 -> 5.4 ms p50).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 - item, beside K(ey) and R(esult)
R = TypeVar("R")
_MAX_RESTED = 1_000


class Coalescer(Generic[K, I, R]):
    """Runs `run(key, items)` for the items submitted with one key, at most `max_running` runs at
    once (`max_per_key` of one key; all of them when not given) and `max_batch` items per run.
    A failed run fails each of its calls with its error. `pace_limit` (seconds, 0 for none):
    see the module's docstring; a full batch (`max_batch` waiting) never waits."""

    def __init__(
        self,
        run: Callable[[K, list[I]], Awaitable[list[R]]],
        max_batch: int = 500,
        max_running: int = 2,
        max_per_key: int | None = None,
        pace_limit: float = 0.0,
        *,
        context: Callable[[], contextvars.Context] = contextvars.copy_context,
        hopeless: Callable[[BaseException], bool] = lambda _: False,
    ) -> None:
        """`context` gives each run's context when it starts (from the context of the call that
        started the batch): a run serves several calls, so what binds one call alone (its
        deadline) must not bind the run; the wiring passes store/uow.py's batch_context.
        `hopeless(error)`: a run's failure the calls waiting for the same key would meet too
        (Grouping.hopeless: the database not answering), which they get at once."""
        self._run = run
        self._context = context
        self._hopeless = hopeless
        self._max_batch = max_batch
        self._max_running = max_running
        self._max_per_key = max_per_key or max_running
        self._pace_limit = pace_limit
        self._waiting: dict[K, list[tuple[I, asyncio.Future[R]]]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._busy: dict[K, int] = {}  # runs in progress per key
        self._rested: dict[K, float] = {}  # loop time before which a key's next run waits
        self._scheduled = False
        self._timer: asyncio.Handle | None = None  # a paced dispatch, due at _wake
        self._wake = math.inf

    async def submit(self, key: K, item: I) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.setdefault(key, []).append((item, future))
        if not self._scheduled:
            # Dispatch once this turn of the loop is over: calls that arrive together share a run.
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        now, wake = loop.time(), math.inf
        for key in list(self._waiting):
            if len(self._running) >= self._max_running:
                break
            if self._busy.get(key, 0) >= self._max_per_key:
                continue  # its next run waits for one of its own to finish
            rested = self._rested.pop(key, now)
            if rested > now and len(self._waiting[key]) < self._max_batch:
                self._rested[key] = rested  # paced: more calls may join before it starts
                wake = min(wake, rested)
                continue
            waiting = self._waiting.pop(key)
            batch, rest = waiting[: self._max_batch], waiting[self._max_batch :]
            if rest:
                self._waiting[key] = rest
            batch = [(item, future) for item, future in batch if not future.done()]
            if batch:
                task = loop.create_task(self._serve(key, batch), context=self._context())
                self._running.add(task)
                self._busy[key] = self._busy.get(key, 0) + 1
                task.add_done_callback(functools.partial(self._finished, key, now))
        if wake < self._wake:
            if self._timer is not None:
                self._timer.cancel()
            # (uvloop's call_at gives a plain Handle, without when(), for a time already past)
            self._timer, self._wake = loop.call_at(wake, self._woken), wake

    def _woken(self) -> None:
        self._timer, self._wake = None, math.inf
        self._dispatch()

    def _finished(self, key: K, started: float, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        left = self._busy.pop(key, 1) - 1
        if left:
            self._busy[key] = left
        loop = asyncio.get_running_loop()
        if self._pace_limit and (left or key in self._waiting):
            now = loop.time()
            self._rested[key] = now + min(self._pace_limit, now - started)
            if len(self._rested) > _MAX_RESTED:  # keys seen once (e.g. as_of checks)
                self._rested = {k: t for k, t in self._rested.items() if t > now}
        if self._waiting and not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._dispatch)

    async def _serve(self, key: K, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run(key, [item for item, _ in batch])
        except BaseException as error:  # every caller gets the failure, then it goes on
            if self._hopeless(error):
                # The database did not answer (within its ceiling): the calls that queued behind
                # this run would wait another ceiling to meet the same (checks in flight when
                # PostgreSQL froze took twice the ceiling; probe BJ). They fail with it.
                batch = batch + self._waiting.pop(key, [])
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
