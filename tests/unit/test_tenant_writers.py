"""A tenant's consent writes enter their transactions a few at a time, first come first served,
and one tenant's queue never holds up another's."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from consentd.app.writers import TenantWriters


async def test_at_most_the_limit_run_at_once_in_arrival_order() -> None:
    """With a limit of 2, never more than 2 of one tenant's writes are inside at once, and they
    enter in the order they arrived."""
    writers = TenantWriters(2)
    tenant = uuid4()
    inside = 0
    most = 0
    entered: list[int] = []

    async def write(number: int) -> None:
        nonlocal inside, most
        async with writers(tenant):
            entered.append(number)
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(write(n) for n in range(10)))
    assert most == 2
    assert entered == list(range(10))


async def test_another_tenant_is_not_held_up() -> None:
    """A tenant whose lane is full does not delay another tenant's write."""
    writers = TenantWriters(1)
    busy, other = uuid4(), uuid4()
    release = asyncio.Event()

    async def hold() -> None:
        async with writers(busy):
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    async with asyncio.timeout(1):
        async with writers(other):
            pass
    release.set()
    await holder


def test_the_limit_is_at_least_one() -> None:
    """A limit of 0 would admit no write at all: refused at start."""
    with pytest.raises(ValueError, match="at least 1"):
        TenantWriters(0)


async def test_a_cancelled_waiter_gives_up_its_turn_not_a_place() -> None:
    """A write whose caller went while it waited leaves the queue; the places stay as many (a
    place handed to a waiter cancelled at that moment goes on to the next)."""
    writers = TenantWriters(1)
    tenant = uuid4()
    release = asyncio.Event()
    entered: list[str] = []

    async def write(name: str, hold: bool = False) -> None:
        async with writers(tenant):
            entered.append(name)
            if hold:
                await release.wait()

    holder = asyncio.create_task(write("holder", hold=True))
    await asyncio.sleep(0)
    gone = asyncio.create_task(write("gone"))
    after = asyncio.create_task(write("after"))
    await asyncio.sleep(0)
    release.set()
    await asyncio.sleep(0)  # the place is handed to "gone" ...
    gone.cancel()  # ... which goes before it runs
    async with asyncio.timeout(1):
        await asyncio.gather(holder, after)
        with pytest.raises(asyncio.CancelledError):
            await gone
        await write("later")  # the place came back: nothing leaked
    assert entered == ["holder", "after", "later"]


async def test_waiting_writes_are_refused_at_once_when_the_database_is_lost() -> None:
    """refuse_waiting fails every write still waiting, of every tenant, with an error of its
    own; the writes inside go on, and places are handed out again afterwards (100 writes of one
    tenant in flight when PostgreSQL froze ended a ceiling apart, in waves; probe PA)."""
    writers = TenantWriters(1)
    first, second = uuid4(), uuid4()
    release = asyncio.Event()

    async def write(tenant: object, hold: bool = False) -> str:
        async with writers(tenant):  # type: ignore[arg-type]
            if hold:
                await release.wait()
            return "written"

    inside = [asyncio.create_task(write(t, hold=True)) for t in (first, second)]
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(write(t)) for t in (first, second, first)]
    await asyncio.sleep(0)
    assert writers.refuse_waiting(lambda: ConnectionError("lost")) == 3
    answers = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(a) for a in answers] == [ConnectionError] * 3
    assert len({id(a) for a in answers}) == 3  # each its own error, not one raised thrice
    release.set()
    assert await asyncio.gather(*inside) == ["written", "written"]
    async with asyncio.timeout(1):
        assert await write(first) == "written"
    assert writers.refuse_waiting(lambda: ConnectionError("lost")) == 0
