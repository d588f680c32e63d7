"""Coalescing: concurrent calls that ask the same kind of question share one query.

A call joins a batch only while that batch's run has not started, so every run starts after
every call in it arrived: a check that starts after a withdrawal was acknowledged reads a snapshot
taken after that withdrawal. Nothing is cached between runs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 - item, beside K(ey) and R(esult)
R = TypeVar("R")


class Coalescer(Generic[K, I, R]):
    """Runs `run(key, items)` for the items submitted with one key, at most `max_running` runs at
    once (`max_per_key` of one key; all of them when not given) and `max_batch` items per run.
    A failed run fails each of its calls with its error."""

    def __init__(
        self,
        run: Callable[[K, list[I]], Awaitable[list[R]]],
        max_batch: int = 500,
        max_running: int = 2,
        max_per_key: int | None = None,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_running = max_running
        self._max_per_key = max_per_key or max_running
        self._waiting: dict[K, list[tuple[I, asyncio.Future[R]]]] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._busy: dict[K, int] = {}  # runs in progress per key
        self._scheduled = False

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
        for key in list(self._waiting):
            if len(self._running) >= self._max_running:
                break
            if self._busy.get(key, 0) >= self._max_per_key:
                continue  # its next run waits for one of its own to finish
            waiting = self._waiting.pop(key)
            batch, rest = waiting[: self._max_batch], waiting[self._max_batch :]
            if rest:
                self._waiting[key] = rest
            batch = [(item, future) for item, future in batch if not future.done()]
            if batch:
                task = asyncio.get_running_loop().create_task(self._serve(key, batch))
                self._running.add(task)
                self._busy[key] = self._busy.get(key, 0) + 1
                task.add_done_callback(functools.partial(self._finished, key))

    def _finished(self, key: K, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        left = self._busy.pop(key, 1) - 1
        if left:
            self._busy[key] = left
        if self._waiting and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    async def _serve(self, key: K, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run(key, [item for item, _ in batch])
        except BaseException as error:  # every caller gets the failure, then it goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
