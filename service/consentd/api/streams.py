"""Every open stream of a server: each ends at once (UNAVAILABLE) when the server drains, and
ends UNAUTHENTICATED once its credential is revoked or expired (checked again every
RECHECK_SECONDS)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import grpc

from consentd.api.calls import SHUTTING_DOWN, Failure, StreamEnded, failure_of
from consentd.domain.errors import ConsentError

# How often an open stream checks its credential again (the README promises 5 s at most).
RECHECK_SECONDS = 4.0


class Watch:
    """One watched stream: why the server ended it, and whether its answer is with grpc."""

    def __init__(self) -> None:
        self.ended: list[Failure] = []
        self.handed_over = False

    @contextlib.contextmanager
    def handing_over(self) -> Iterator[None]:
        """Around a stream's `yield`: grpc sends the answer meanwhile, in the handler's task.
        A cancel landing there is taken by grpc's own send, which then left the call open until
        the shutdown's grace ran out (probe FB: a change feed catching up held a 10 s drain); so
        the watcher only notes the end, said here once the answer is sent."""
        self.handed_over = True
        try:
            yield
        finally:
            self.handed_over = False
        if self.ended:
            raise StreamEnded(self.ended[0])


class Streams:
    """Every open stream of a server: each ends at once (UNAVAILABLE) when close() is called
    (the server is draining) and re-checks its credential every RECHECK_SECONDS, ending with
    UNAUTHENTICATED once the key is revoked or expired."""

    def __init__(self, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self._closing = asyncio.Event()
        self._every = recheck_seconds

    def close(self) -> None:
        self._closing.set()

    @contextlib.asynccontextmanager
    async def watched(self, recheck: Callable[[], Awaitable[object]]) -> AsyncIterator[Watch]:
        """The block runs until it ends, or until the server drains or `recheck` (the
        credential looked up again) raises a domain error: then StreamEnded is raised in it
        (once its answer is sent, when grpc is sending one: Watch.handing_over)."""
        if self._closing.is_set():
            raise StreamEnded(Failure(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN))
        task = asyncio.current_task()
        assert task is not None
        watch = Watch()
        ended = watch.ended
        watcher = asyncio.create_task(self._watch(task, recheck, watch))
        try:
            yield watch
        except asyncio.CancelledError:
            if ended and task.uncancel() == 0:
                raise StreamEnded(ended[0]) from None
            raise
        except Exception:
            # Cancelled mid-statement, the driver may raise its own error instead (a connection
            # closed under the query): the stream still ended for the watcher's reason (probe
            # AM: the change feed was told "the database is unavailable" at shutdown), or, with
            # none, because the caller left: cancelled (13 of 30 feeds a client closed were
            # logged and counted UNAVAILABLE, a database outage to whoever watches; probe BQ).
            if task.cancelling():
                if not ended:
                    raise asyncio.CancelledError from None
                task.uncancel()
                raise StreamEnded(ended[0]) from None
            raise
        finally:
            watcher.cancel()

    async def _watch(
        self,
        task: asyncio.Task[Any],
        recheck: Callable[[], Awaitable[object]],
        watch: Watch,
    ) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._every):
                    await self._closing.wait()
            if self._closing.is_set():
                watch.ended.append(Failure(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN))
                break
            try:
                await recheck()
            except ConsentError as error:
                watch.ended.append(
                    failure_of(error) or Failure(grpc.StatusCode.UNAUTHENTICATED, "")
                )
                break
            except Exception:  # noqa: BLE001, S112 - the database is down: the stream's own reads say so
                continue
        if not watch.handed_over:
            task.cancel()
