"""Group commit: the frame the grouped writers share (app/grouped_writes.py for consents,
app/grouped_cookies.py for cookie choices).

Calls of one tenant (or of every tenant, `across_tenants`) that arrive while its two batches
run wait for the next one (app/coalescing.py, paced like checks: the next batch waits as long
as the last took, 10 ms at most), which writes them in one transaction. A lone call runs
alone, through the one-call path. A batch rolled back before its commit (`Undone`: a race it
lost, a value the database refused) runs every call alone, so each gets its own answer and
nothing is written twice, unless the database is not answering (every call gets that, and
so do the calls waiting for the next batch); a failed commit fails every call of the batch (it
may have committed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import Context, copy_context
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from consentd.app.coalescing import Coalescer
from consentd.app.idempotency import Once

J = TypeVar("J")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Grouping:
    """How concurrent calls share work. `batch`: writes of a tenant per transaction at most (1:
    each its own); `context()`: the context a shared run starts in (store/uow.py's
    batch_context drops the call's deadline); `hopeless(error)`: a batch's failure that every
    call would meet alone too (the database not answering: store/database.py outage_of), which
    each call then gets as it is, rather than waiting for it again alone."""

    batch: int = 1
    context: Callable[[], Context] = copy_context
    hopeless: Callable[[BaseException], bool] = lambda _: False


# The batches' key when calls of every tenant share them.
_EVERY_TENANT = UUID(int=0)

# Each write its own transaction, runs in the first caller's context (tests, tools).
ALONE = Grouping()


class Undone(Exception):
    """The batch was rolled back before its commit: nothing of it was written."""


async def before_commit(write: Awaitable[T]) -> T:
    """`write`, any failure of it made Undone: it ran inside the batch's transaction, before its
    commit, so the rollback leaves nothing of it."""
    try:
        return await write
    except Undone:
        raise
    except Exception as error:
        raise Undone from error


class GroupCommit(Generic[J, R]):
    """Subclasses write a batch in `_together` (raising Undone before the commit to have every
    call run alone) and one call in `_one` (with its idempotency key, if any)."""

    def __init__(
        self, grouping: Grouping, per_tenant: int = 2, *, across_tenants: bool = False
    ) -> None:
        """`across_tenants`: calls of every tenant wait for the same batches (at most
        `per_tenant` at once in all), and `_together` gets jobs of several tenants."""
        self._grouping = grouping
        self._across = across_tenants
        self._batches: Coalescer[UUID, J, R | Exception] = Coalescer(
            self._run,
            max_batch=grouping.batch,
            max_running=256,
            max_per_key=per_tenant,
            pace_limit=0.01,
            context=grouping.context,
            hopeless=grouping.hopeless,
        )

    async def submit(self, tenant_id: UUID, job: J, once: Once | None = None) -> R:
        """The job's result; alone when grouping is off or under an idempotency key (the unit
        of work that claims the key writes that call alone, never a batch)."""
        if self._grouping.batch <= 1 or once is not None:
            return await self._one(job, once)
        outcome = await self._batches.submit(_EVERY_TENANT if self._across else tenant_id, job)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _run(self, key: UUID, jobs: list[J]) -> list[R | Exception]:
        """Raises the database's failure when it did not answer (`Grouping.hopeless`): every
        call of the batch gets it, and so do the calls waiting for the key's next batch (the
        Coalescer's `hopeless`), rather than each batch meeting it in turn (100 writes in
        flight when PostgreSQL froze were answered a ceiling apart; probe PA)."""
        lost: Exception | None = None
        if len(jobs) > 1:
            try:
                return await self._together(key, jobs)
            except Undone as undone:
                # A frozen database: each call alone waited the ceiling again (a write in
                # flight answered after 3 ceilings; probe N). Otherwise each alone, its answer.
                cause = undone.__cause__
                if isinstance(cause, Exception) and self._grouping.hopeless(cause):
                    lost = cause
        if lost is not None:
            raise lost
        outcomes = list(await asyncio.gather(*(self._alone(job) for job in jobs)))
        alone = outcomes[0]
        if len(outcomes) == 1 and isinstance(alone, Exception) and self._grouping.hopeless(alone):
            raise alone
        return outcomes

    async def _alone(self, job: J) -> R | Exception:
        try:
            return await self._one(job, None)
        except Exception as error:  # noqa: BLE001 - raised again in the caller's own task
            return error

    async def _one(self, job: J, once: Once | None) -> R:
        raise NotImplementedError

    async def _together(self, key: UUID, jobs: list[J]) -> list[R | Exception]:
        """The batch of `key` (the tenant's id, or _EVERY_TENANT across tenants)."""
        raise NotImplementedError
