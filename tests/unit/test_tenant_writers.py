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
