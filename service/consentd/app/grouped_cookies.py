"""Group commit of RecordCookieChoice: a tenant's concurrent cookie choices share a transaction.

As app/grouped_writes.py does for consents: a lone choice is recorded alone; the choices that
arrive while a tenant's two batches run share the next one: one policy read, then one statement
(store/cookie_batch.py) for the visitors' rows (in visitor-id order, so two batches never wait on
each other crosswise), the choices and their queued log entries, one commit. A choice the policy
refuses (unknown category or revision, malformed TCF string, expiry in the past) gets its own
error and the others go on; a choice naming a subject, or under an idempotency key, is recorded
alone. A statement failing before the commit (a value the database refuses) rolls the batch
back and every choice is recorded alone; a failed commit fails each choice of the batch (it may
have committed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from consentd.app.cookie_choices import CookieAnswer, RecordCookieChoice, answer
from consentd.app.group_commit import GroupCommit, Grouping, before_commit
from consentd.app.idempotency import Once
from consentd.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from consentd.domain.cookie_policy import DEFAULT_POLICY, CookiePolicy
from consentd.domain.cookies import CookieChoice
from consentd.domain.errors import ConsentError
from consentd.domain.tenancy import Principal

Job = tuple[Principal, RecordCookieChoice]
Outcome = CookieAnswer | Exception
Prepare = Callable[[UUID, RecordCookieChoice, CookiePolicy, datetime], CookieChoice]
RecordOne = Callable[[Principal, RecordCookieChoice, Once | None], Awaitable[CookieAnswer]]


_NOT_RECORDED = RuntimeError("not recorded")


class GroupedChoices(GroupCommit[Job, CookieAnswer]):
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        prepare: Prepare,
        record_one: RecordOne,
        grouping: Grouping,
    ) -> None:
        super().__init__(grouping)
        self._uow = uow
        self._clock = clock
        self._prepare = prepare
        self._record_one = record_one

    async def record(
        self, principal: Principal, command: RecordCookieChoice, once: Once | None = None
    ) -> CookieAnswer:
        if command.subject is not None:  # resolving a person is the one-call path's
            return await self._record_one(principal, command, once)
        return await self.submit(principal.tenant_id, (principal, command), once)

    async def _one(self, job: Job, once: Once | None) -> CookieAnswer:
        return await self._record_one(*job, once)

    async def _together(self, tenant_id: UUID, jobs: list[Job]) -> list[Outcome]:
        now = self._clock()
        async with self._uow(tenant_id) as uow:
            outcomes = await before_commit(self._write(uow, jobs, now))
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
        if not planned:
            return outcomes
        planned.sort(key=lambda p: (p[0], p[1]))
        stored = await uow.cookies.record_many([choice for _, _, choice in planned], now)
        for (_, index, _), choice in zip(planned, stored, strict=True):
            outcomes[index] = answer(policy, choice, now)
        return outcomes
