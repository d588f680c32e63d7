"""An open stream ends for the reason it was ended (the server draining), even when what it
was awaiting turns the cancellation into an error of its own, as a database driver does when
the connection is closed under its query (probe AM: the change feed was told "the database is
unavailable" at shutdown)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from consentd.api.calls import SHUTTING_DOWN, StreamEnded, Streams


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
