"""An open stream ends for the reason it was ended (the server draining), even when what it
was awaiting turns the cancellation into an error of its own, as a database driver does when
the connection is closed under its query (probe AM: the change feed was told "the database is
unavailable" at shutdown)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import grpc
import pytest

from consentd.api.calls import SHUTTING_DOWN, StreamEnded
from consentd.api.streams import Streams


async def _nothing() -> None:
    return None


async def _driver_like() -> None:
    """Waits; cancelled, raises its own error, as asyncpg may."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        raise ConnectionResetError("connection closed under the query") from None


async def test_a_stream_cancelled_under_a_driver_ends_as_shutting_down() -> None:
    streams = Streams(recheck_seconds=60)

    async def stream() -> None:
        async with streams.watched(_nothing):
            await _driver_like()

    task = asyncio.create_task(stream())
    await asyncio.sleep(0.05)
    streams.close()
    with pytest.raises(StreamEnded) as ended:
        await task
    assert (ended.value.failure.code, ended.value.failure.message) == (
        grpc.StatusCode.UNAVAILABLE,
        SHUTTING_DOWN,
    )


async def test_an_error_of_its_own_still_ends_the_stream_with_it() -> None:
    streams = Streams(recheck_seconds=60)
    with pytest.raises(ConnectionResetError):
        async with streams.watched(_nothing):
            raise ConnectionResetError("the database went away")


async def test_a_stream_whose_answer_is_being_sent_ends_once_it_is_sent() -> None:
    """grpc.aio sends a streaming handler's answers in the handler's own task: a cancel landing
    in that send was taken by grpc, which left the call open until the shutdown's grace ran out
    (probe FB: a change feed catching up held a 10 s drain in 5 runs of 15). The server's end
    is said by the stream itself once the answer is sent."""
    streams = Streams(recheck_seconds=60)
    sent: list[int] = []

    async def answers() -> AsyncIterator[int]:
        async with streams.watched(_nothing) as watch:
            for n in itertools.count():
                with watch.handing_over():
                    yield n

    async def grpc_like() -> None:
        async for n in answers():
            await asyncio.sleep(0.05)  # the send, which is grpc's: never cancelled
            sent.append(n)

    task = asyncio.create_task(grpc_like())
    await asyncio.sleep(0.02)  # the first answer is being sent
    streams.close()
    with pytest.raises(StreamEnded) as ended:
        await task
    assert ended.value.failure.message == SHUTTING_DOWN
    assert sent == [0]
