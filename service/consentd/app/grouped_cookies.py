"""Group commit of RecordCookieChoice: a tenant's concurrent cookie choices share a transaction.

As app/grouped_writes.py does for consents: a lone choice is recorded alone; the choices that
arrive while a tenant's two batches run share the next one: one policy read, then per choice the
visitor's row and the choice (visitors in one order, so two batches never wait on each other
crosswise), one commit. A choice the policy refuses (unknown category or revision, malformed
TCF string, expiry in the past) gets its own error and the others go on; a choice naming a
subject, or under an idempotency key, is recorded alone (app/cookies.py decides). A statement
failing before the commit (a value the database refuses) rolls the batch back and every choice
is recorded alone; a failed commit fails each choice of the batch (it may have committed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from consentd.app.coalescing import Coalescer
from consentd.app.cookie_choices import CookieAnswer, RecordCookieChoice, answer
from consentd.app.grouped_writes import Grouping
from consentd.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from consentd.domain.cookie_policy import DEFAULT_POLICY, CookiePolicy
from consentd.domain.cookies import CookieChoice
from consentd.domain.errors import ConsentError
from consentd.domain.tenancy import Principal

Job = tuple[Principal, RecordCookieChoice]
Outcome = CookieAnswer | Exception
Prepare = Callable[[UUID, RecordCookieChoice, CookiePolicy, datetime], CookieChoice]
RecordOne = Callable[[Principal, RecordCookieChoice], Awaitable[CookieAnswer]]


_NOT_RECORDED = RuntimeError("not recorded")


class GroupedChoices:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        prepare: Prepare,
        record_one: RecordOne,
        grouping: Grouping,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._prepare = prepare
        self._one = record_one
        self._batches: Coalescer[UUID, Job, Outcome] = Coalescer(
            self._run,
            max_batch=grouping.batch,
            max_running=256,
            max_per_key=2,
            pace_limit=0.01,
            context=grouping.context,
        )

    async def record(self, principal: Principal, command: RecordCookieChoice) -> CookieAnswer:
        outcome = await self._batches.submit(principal.tenant_id, (principal, command))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _run(self, tenant_id: UUID, jobs: list[Job]) -> list[Outcome]:
        if len(jobs) > 1:
            try:
                return await self._together(tenant_id, jobs)
            except _Undone:
                pass  # every choice alone: each gets its own answer
        return list(await asyncio.gather(*(self._alone(job) for job in jobs)))

    async def _alone(self, job: Job) -> Outcome:
        try:
            return await self._one(*job)
        except Exception as error:  # noqa: BLE001 - raised again in the caller's own task
            return error

    async def _together(self, tenant_id: UUID, jobs: list[Job]) -> list[Outcome]:
        now = self._clock()
        async with self._uow(tenant_id) as uow:
            try:
                outcomes = await self._write(uow, jobs, now)
            except Exception as error:
                # Before the commit: rolled back, nothing written, so each choice alone writes
                # nothing twice. (A failed commit is not retried: it may have committed.)
                raise _Undone from error
            await uow.commit()
        return outcomes

    async def _write(self, uow: UnitOfWork, jobs: list[Job], now: datetime) -> list[Outcome]:
        tenant_id = jobs[0][0].tenant_id
        policy = await uow.cookies.policy() or DEFAULT_POLICY
        outcomes: list[Outcome] = [_NOT_RECORDED] * len(jobs)
        planned: list[tuple[str, int, CookieChoice]] = []
        for index, (_, command) in enumerate(jobs):
            try:
                choice = self._prepare(tenant_id, command, policy, now)
            except ConsentError as error:
                outcomes[index] = error
                continue
            planned.append((command.visitor_id, index, choice))
        for visitor_id, index, choice in sorted(planned, key=lambda p: (p[0], p[1])):
            linked = await uow.cookies.touch_visitor(visitor_id, None, now)
            stored = await uow.cookies.append(replace(choice, subject_id=linked))
            uow.audit.cookie_choice(stored.choice_id, now)
            outcomes[index] = answer(policy, stored, now)
        return outcomes


class _Undone(Exception):
    """The batch was rolled back before its commit: nothing of it was written."""
