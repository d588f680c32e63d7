"""Coalescing: concurrent calls that ask the same kind of question share one query.

A call joins a batch only while that batch's run has not started, so every run starts after
every call in it arrived: a check that starts after a withdrawal was acknowledged reads a snapshot
taken after that withdrawal. Nothing is cached between runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 - item, beside K(ey) and R(esult)
R = TypeVar("R")


class Coalescer(Generic[K, I, R]):
    """Runs `run(key, items)` for the items submitted with one key, at most `max_running` runs at
    once and `max_batch` items per run. A failed run fails each of its calls with its error."""

    def __init__(
        self,
        run: Callable[[K, list[I]], Awaitable[list[R]]],
        max_batch: int = 500,
        max_running: int = 2,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_running = max_running
        self._waiting: dict[K, list[tuple[I, asyncio.Future[R]]]] = {}
        self._running: set[asyncio.Task[None]] = set()
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
        while self._waiting and len(self._running) < self._max_running:
            key = next(iter(self._waiting))
            waiting = self._waiting.pop(key)
            batch, rest = waiting[: self._max_batch], waiting[self._max_batch :]
            if rest:
                self._waiting[key] = rest
            batch = [(item, future) for item, future in batch if not future.done()]
            if batch:
                task = asyncio.get_running_loop().create_task(self._serve(key, batch))
                self._running.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
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
