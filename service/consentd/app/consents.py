"""Use cases of consent: record, withdraw, check, current state and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from consentd.app.checks import Checker, CheckResult, Tally, check_as_of
from consentd.app.coalescing import Coalescer
from consentd.app.commands import (
    MAX_PAGE_SIZE,
    CheckConsent,
    ListHistory,
    RecordConsent,
    SubjectSelector,
    WithdrawConsent,
    settle_decided,
)
from consentd.app.confirmation_rules import Named, addresses_named, not_asked_again
from consentd.app.confirmations import DoubleOptIn, Outgoing
from consentd.app.evidence import event_stamp
from consentd.app.group_commit import ALONE, Grouping
from consentd.app.grouped_writes import GroupedWrites
from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.paging import (
    Page,
    decode_token,
    encode_token,
    id_cursor,
    page_size,
    require_scope,
)
from consentd.app.ports import CheckKey, Clock, ReadUnitOfWorkFactory, UnitOfWork, UnitOfWorkFactory
from consentd.app.recording import (
    Written,
    check_notices,
    choice_events,
    expired,
    purposes_named,
    standing_withdrawals,
)
from consentd.app.standing import standing
from consentd.app.subjects import SubjectResolver
from consentd.app.writers import TenantWriters
from consentd.domain.confirmations import DEFAULT_PENDING_DAYS
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.model import ConsentEvent, ConsentState, Purpose, Source, Target, everything_on
from consentd.domain.tenancy import Principal

_HISTORY = "history"
# What "withdraw everything" lists one by one (beside the "all" fact): grants, pending or not.
_WITHDRAWABLE = (ConsentState.GRANTED, ConsentState.PENDING)
# A unary check joins the next query of its target only if that query has not started.
CheckBatchKey = tuple[UUID, Target, datetime | None]
# Under load a target's next query waits after the previous one as long as that one took, up to
# this many seconds (app/coalescing.py): a lone caller never waits.
CHECK_PACE_LIMIT = 0.01

__all__ = ["CheckResult", "ConsentUseCases", "Written"]


class ConsentUseCases:
    """Every consent use case; each call is one unit of work inside the caller's tenant."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: IdentifierHasher,
        clock: Clock,
        keys: SubjectKeys,
        reads: ReadUnitOfWorkFactory | None = None,
        *,
        writers: TenantWriters,
        tally: Tally | None = None,
        double_opt_in: DoubleOptIn | None = None,
        grouping: Grouping = ALONE,
    ) -> None:
        """`reads` serves checks (the unit of work when not given); `writers` admits a tenant's
        writes a few at a time (see app/writers.py); `tally` is told of every decision.
        `grouping.batch` > 1: concurrent records and withdrawals of a tenant share a transaction
        (app/grouped_writes.py); concurrent checks of a target share a query either way."""
        self._uow = uow
        self._grouped = GroupedWrites(
            uow, hasher, clock, keys, writers=writers, write_one=self._write_one, grouping=grouping
        )
        self._double_opt_in = double_opt_in
        self._writers = writers
        self._keys = keys
        self._subjects = SubjectResolver(hasher, keys)
        self._hasher = hasher
        self._clock = clock
        self._checker = Checker(reads or uow, hasher, clock, tally)
        # One batch query at a time per target (tenant, purpose, channel, scope, as_of): the
        # checks that arrive meanwhile wait for the next, so batches grow with the load and each
        # round trip answers more of them (64 in flight on one target: about 20% more checks per
        # second and a lower p99 than two at a time), and paced under load (CHECK_PACE_LIMIT).
        # Other targets run beside it.
        self._checks: Coalescer[CheckBatchKey, CheckKey, CheckResult | Exception] = Coalescer(
            self._decide,
            max_running=8,
            max_per_key=1,
            pace_limit=CHECK_PACE_LIMIT,
            context=grouping.context,
            hopeless=grouping.hopeless,
        )

    async def record_consent(
        self, principal: Principal, command: RecordConsent, once: Once | None = None
    ) -> Written:
        """Append a grant or refusal per choice, creating the subject when new. Raises
        InvalidInput, NotFound (purpose; an erased portal person), FailedPrecondition."""
        command = replace(command, vouched=principal.vouches)
        if principal.subject is not None:  # its person, alone, not erased (probes HH, HJ)
            return await self._record_one(principal, command.by_its_person(principal.subject), once)
        return await self._grouped.write(principal, command, once)

    async def _write_one(
        self, principal: Principal, command: RecordConsent | WithdrawConsent, once: Once | None
    ) -> Written:
        """The one-call path of either write (what the grouped path leaves to it, and a write
        under an idempotency key)."""
        if isinstance(command, RecordConsent):
            return await self._record_one(principal, command, once)
        return await self._withdraw_one(principal, command, once)

    async def _record_one(
        self, principal: Principal, command: RecordConsent, once: Once | None
    ) -> Written:
        now = self._clock()
        command = settle_decided(command, now)
        tenant = principal.tenant_id
        async with self._writers(tenant), self._uow(tenant, once) as uow:
            if principal.subject is not None:  # under the lock an erasure takes (probe HJ)
                await self._subjects.refuse_erased(uow, tenant, principal.subject, hold=True)
            named = [c.target.purpose for c in command.choices]
            purposes = await purposes_named(uow, named, "choices")
            await check_notices(uow, command.choices, purposes)
            emails = await addresses_named(uow, self._subjects, tenant, command, purposes)
            found = await standing(
                uow, self._subjects, tenant, command, now, purposes=purposes, named=emails
            )
            command, subject_id, superseded, now = found
            command, unasked = await not_asked_again(
                uow, command, subject_id, purposes, now, named=emails
            )
            if subject_id is None or not command.choices:
                result = Written(subject_id, [], superseded, not_asked_again=unasked)
                await uow.commit(result)
                return result
            role = command.processing_role or principal.tenant.processing_role
            key = await self._keys.key(uow, principal.tenant_id, subject_id, now)
            days = self._double_opt_in.days if self._double_opt_in else DEFAULT_PENDING_DAYS
            events = choice_events(
                command, subject_id, key, role=role, purposes=purposes, now=now, pending_days=days
            )
            # Each event queues its own log entry (its whole row) in the same statement.
            written = await uow.consents.append(events, now)
            asked = (written, emails)
            outgoing = await self._confirmation(uow, principal, command, asked, purposes)
            result = Written(subject_id, written, superseded, not_asked_again=unasked)
            await uow.commit(result)
        if self._double_opt_in is not None:
            delivery = await self._double_opt_in.send(outgoing)
            return replace(result, confirmation=delivery) if delivery else result
        return result

    async def _confirmation(
        self,
        uow: UnitOfWork,
        principal: Principal,
        command: RecordConsent,
        asked: tuple[list[ConsentEvent], Named],
        purposes: dict[str, Purpose],
    ) -> Outgoing | None:
        """The double opt-in message for the pending grants among those written, with what the
        record named (app/confirmations)."""
        if self._double_opt_in is None:
            return None
        return await self._double_opt_in.open(uow, principal, command, asked, purposes)

    async def withdraw_consent(
        self, principal: Principal, command: WithdrawConsent, once: Once | None = None
    ) -> Written:
        """Withdraw the targets, or everything (an "all" fact plus each current grant).

        A contact point not yet known becomes a subject so the opt-out is kept. A portal token
        is the person: theirs is SOURCE_PORTAL whatever it names (probe EA: SOURCE_IMPORT made it
        a system's "no", which a CRM's grant then undid). Raises NotFound for an unknown subject
        id or purpose.
        """
        if principal.subject is not None:
            command = replace(command, source=Source.PORTAL)
        return await self._grouped.write(principal, command, once)

    async def _withdraw_one(
        self, principal: Principal, command: WithdrawConsent, once: Once | None
    ) -> Written:
        now = self._clock()
        tenant = principal.tenant_id
        async with self._writers(tenant), self._uow(tenant, once) as uow:
            await self._subjects.guard(uow, principal, command.subject)
            subject_id = await self._subjects.kept(uow, tenant, command.subject, now)
            targets, current = await self._withdrawn_targets(uow, subject_id, command)
            # A person withdrawing again through the portal changes nothing: the withdrawals
            # that stand answer. (Systems' and support's opt-outs are each kept, with their
            # evidence.)
            portal = principal.subject is not None and command.recorded_at is None
            if portal and (standing := standing_withdrawals(targets, current)) is not None:
                result = Written(subject_id, standing)
                await uow.commit(result)
                return result
            role = principal.tenant.processing_role
            key = await self._keys.key(uow, principal.tenant_id, subject_id, now)
            common = event_stamp(subject_id, command, role, command.recorded_at or now, key)
            events = [common.event(t, ConsentState.WITHDRAWN, None, None, None) for t in targets]
            written = await uow.consents.append(events, now)
            result = Written(subject_id, written)
            await uow.commit(result)
        return result

    async def check_consent(self, principal: Principal, command: CheckConsent) -> CheckResult:
        """ALLOW or DENY with a reason; an unknown subject is simply no record. Raises NotFound
        for a purpose that is not in the catalogue, InvalidInput for an as_of in the future.

        Concurrent checks of one target share one query (see app/coalescing.py)."""
        check_as_of(command.as_of, self._clock())
        tenant = principal.tenant_id
        key = self._checker.key(tenant, command.subject)
        answer = await self._checks.submit((tenant, command.target, command.as_of), key)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def _decide(
        self, batch: CheckBatchKey, keys: list[CheckKey]
    ) -> list[CheckResult | Exception]:
        tenant, target, as_of = batch
        return (await self._checker.decide_each(tenant, target, as_of, keys))[1]

    async def subject_consents(
        self, principal: Principal, subject: SubjectSelector
    ) -> tuple[UUID | None, list[ConsentEvent]]:
        """The event behind each current-state row, a grant past its valid_until EXPIRED (as
        checks answer it); (None, []) for an unknown subject."""
        async with self._uow(principal.tenant_id) as uow:
            await self._subjects.guard(uow, principal, subject)
            subject_id = await self._subjects.find(uow, principal.tenant_id, subject)
            if subject_id is None:
                return None, []
            current = await uow.consents.current(subject_id)
        now = self._clock()
        return subject_id, [expired(e, now) for e in current]

    async def answers_now(
        self, principal: Principal, subject_id: UUID, targets: Sequence[Target]
    ) -> list[CheckResult | None]:
        """What a check of each target answers now for the subject (app/checks.py)."""
        return await self._checker.answers_now(principal.tenant_id, subject_id, targets)

    async def consent_history(self, principal: Principal, query: ListHistory) -> Page[ConsentEvent]:
        """A page of events, newest first. Raises InvalidInput for a bad page size or token."""
        size = page_size(query.page_size, 50, MAX_PAGE_SIZE)
        before = id_cursor(
            decode_token(_HISTORY, query.page_token, scope=None, tenant=principal.tenant_id)
        )
        async with self._uow(principal.tenant_id) as uow:
            await self._subjects.guard(uow, principal, query.subject)
            subject_id = await self._subjects.find(uow, principal.tenant_id, query.subject)
            # The person (however named) and the filter: a token is this list's only.
            scope = f"{subject_id}|{query.purpose or ''}"
            require_scope(query.page_token, scope, tenant=principal.tenant_id)
            if subject_id is None:
                return Page([], "")
            events = await uow.consents.history(subject_id, query.purpose, before, size + 1)
        more = len(events) > size
        events = events[:size]
        token = (
            encode_token(_HISTORY, str(events[-1].event_id), scope, tenant=principal.tenant_id)
            if more
            else ""
        )
        return Page(events, token)

    async def _withdrawn_targets(
        self, uow: UnitOfWork, subject_id: UUID, command: WithdrawConsent
    ) -> tuple[list[Target], list[ConsentEvent]]:
        """The targets to withdraw, and the subject's current facts."""
        if not command.withdraw_all:
            await purposes_named(uow, [t.purpose for t in command.targets], "targets")
        current = await uow.consents.current(subject_id)
        if not command.withdraw_all:
            return list(command.targets), current
        everything = everything_on(command.channel)
        granted = [
            e.target for e in current if e.state in _WITHDRAWABLE and everything.covers(e.target)
        ]
        return [everything, *granted], current
