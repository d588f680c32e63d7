"""Wake-ups for the change feed's watchers in this process.

A write that commits consent events calls `changed(tenant)`; the watchers of that tenant read
at once. Writes committed by another process (several processes serve one port, or replicas)
are found by the watchers' short polling instead. LISTEN/NOTIFY would wake them across processes,
but PostgreSQL serialises every committing transaction that sent a NOTIFY on one database-wide
lock, for the length of the commit's flush to disk: that would cap writes of every tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID


class ChangeHub:
    """Per tenant, the futures of the watchers waiting for a change."""

    def __init__(self) -> None:
        self._waiting: dict[UUID, set[asyncio.Future[None]]] = {}

    def changed(self, tenant_id: UUID) -> None:
        for future in self._waiting.pop(tenant_id, ()):
            if not future.done():
                future.set_result(None)

    def ticket(self, tenant_id: UUID) -> asyncio.Future[None]:
        """Taken before reading, so a change committed between the read and the wait is seen."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(tenant_id, set()).add(future)
        return future

    async def wait(self, tenant_id: UUID, ticket: asyncio.Future[None], seconds: float) -> None:
        """Until a change of the tenant is committed here, or `seconds` pass. (Not
        asyncio.wait_for: on Python 3.11 a cancellation arriving as the ticket resolves is
        swallowed, so a feed stream the server ended at shutdown — a write committing at that
        moment — went on until the grace ran out; asyncio.timeout keeps the cancellation.)"""
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await asyncio.shield(ticket)
        finally:
            self.release(tenant_id, ticket)

    def release(self, tenant_id: UUID, ticket: asyncio.Future[None]) -> None:
        """Forget a ticket that will not be waited for (or was)."""
        waiting = self._waiting.get(tenant_id)
        if waiting is not None:
            waiting.discard(ticket)
            if not waiting:
                del self._waiting[tenant_id]
        ticket.cancel()
