"""The change feed's wait keeps a cancellation that arrives as its ticket resolves: the server
ends open streams at shutdown by cancelling them, and a write committing at that moment (its
wake-up resolving the ticket) made asyncio.wait_for (Python 3.11) return normally instead, so
the stream went on until the shutdown grace ran out (the fault suite saw 5.27 s)."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from consentd.app.changes import ChangeHub


async def test_a_cancellation_as_the_ticket_resolves_is_kept() -> None:
    hub, tenant = ChangeHub(), uuid4()
    ticket = hub.ticket(tenant)
    waiting = asyncio.ensure_future(hub.wait(tenant, ticket, 10))
    await asyncio.sleep(0)  # waiting on the ticket
    hub.changed(tenant)  # a write of the tenant committed ...
    waiting.cancel()  # ... as the server ends the stream
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_the_wait_ends_at_a_change_or_after_its_time() -> None:
    hub, tenant = ChangeHub(), uuid4()
    ticket = hub.ticket(tenant)
    asyncio.get_running_loop().call_later(0.01, hub.changed, tenant)
    await asyncio.wait_for(hub.wait(tenant, ticket, 10), 5)
    await hub.wait(tenant, hub.ticket(tenant), 0.01)  # nothing changed: returns after 10 ms
