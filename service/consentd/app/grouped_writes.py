"""Group commit of RecordConsent and WithdrawConsent (the frame: app/group_commit.py).

A batch does in one transaction what each call did in its own, in two statements for all its
tenants (store/write_batch.py, migration 0018): one reads, for each tenant in turn, its
catalogue, the owners of every identifier named (with their data keys) and its notices'
versions; the other writes, for each tenant in turn, every new subject with its key and
identifiers, then every event (each subject locked, in one order); then one commit — one WAL
flush instead of one per call. An acknowledged write is committed, as alone (a withdrawal
acknowledged is seen by every check that starts after it); the feed and the log take the events
as they take any append. Measured (bench/campaign.py, 64 in flight, one tenant, this 2-core
machine): 267 records/s alone; 370 with four batches at once per tenant, unpaced (small
batches); 507 with one; 590 with two; 679 with two, paced.

Batches take the calls of every tenant (two at once in all): row-level security reads the
tenant setting per statement, and each tenant's part is written under its own, so writes spread
over many tenants, one or two each, share a commit too. 50 tenants, 64 in flight: 231-370 ->
384-434 records/s and 313-342 -> 386-506 withdrawals/s, audit-log lag p99 123-386 -> 57-103 ms
(two alternated runs each); with each tenant's part in its own round trips (~45 a batch)
651-670 records/s and 705-762 withdrawals/s, in two statements for all 862-863 and 858-893
(two alternated runs each).

What a batch does not take runs alone after it: a call naming an identifier another call of the
batch names (or the same existing subject), a record that links a new identifier to an existing
subject, a known subject without a data key (made alone: two batches making keys in opposite
orders would deadlock), a grant that waits for a double opt-in confirmation, a grant in person
for a known subject from a key without consent:attest (its objection is read under the subject's
lock: the append function cannot tell its source from the person's), and a withdrawal by
subject id, of everything, or by a portal caller. A call the rules refuse (unknown purpose,
unpublished notice version, identifiers of two subjects, a validity the purpose does not allow)
gets its error and the others go on. Another transaction linking one of the batch's new
identifiers first, or a statement failing before the commit, rolls the batch back (Undone) and
every call runs alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from consentd.app.commands import RecordConsent, WithdrawConsent
from consentd.app.evidence import event_stamp
from consentd.app.group_commit import GroupCommit, Grouping, Undone, before_commit
from consentd.app.grouped_blocks import alone_for_blocks
from consentd.app.idempotency import Once
from consentd.app.keys import SubjectKeys
from consentd.app.ports import (
    Clock,
    Digest,
    IdentifiersTaken,
    NewSubject,
    PartQuery,
    PartRead,
    PartWrite,
    UnitOfWork,
    UnitOfWorkFactory,
)
from consentd.app.recording import Written, choice_events, require_notices, require_purposes
from consentd.app.subjects import CONFLICT, LinkRaced
from consentd.app.writers import TenantWriters
from consentd.domain.confirmations import DEFAULT_PENDING_DAYS
from consentd.domain.errors import ConsentError, FailedPrecondition
from consentd.domain.identifiers import Identifier, IdentifierHasher
from consentd.domain.model import ConsentEvent, ConsentState, Target
from consentd.domain.sealing import SubjectKey
from consentd.domain.tenancy import Principal

Command = RecordConsent | WithdrawConsent
Job = tuple[Principal, Command]
Outcome = Written | Exception
WriteOne = Callable[[Principal, Command, Once | None], Awaitable[Written]]


@dataclass
class _Batch:
    """What one batch writes, and what is left for after it."""

    now: datetime
    outcomes: list[Outcome | None]
    read: PartRead  # purposes, owners of every identifier the calls name, their keys, notices
    later: list[int] = field(default_factory=list)
    claimed: set[Digest] = field(default_factory=set)
    subjects: dict[int, UUID] = field(default_factory=dict)
    events: dict[int, list[ConsentEvent]] = field(default_factory=dict)
    created: list[NewSubject] = field(default_factory=list)


class GroupedWrites(GroupCommit[Job, Written]):
    """`write_one` is the one-call path: lone calls, and what a batch leaves, go through it."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: IdentifierHasher,
        clock: Clock,
        keys: SubjectKeys,
        *,
        writers: TenantWriters,
        write_one: WriteOne,
        grouping: Grouping,
    ) -> None:
        super().__init__(grouping, across_tenants=True)
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._keys = keys
        self._writers = writers
        self._write_one = write_one

    async def write(
        self, principal: Principal, command: Command, once: Once | None = None
    ) -> Written:
        return await self.submit(principal.tenant_id, (principal, command), once)

    async def _one(self, job: Job, once: Once | None) -> Written:
        try:
            return await self._write_one(*job, once)
        except LinkRaced:  # nothing was kept: read the owners again (probe ED)
            return await self._write_one(*job, once)

    async def _together(self, _key: UUID, jobs: list[Job]) -> list[Outcome]:
        """The batch in one transaction, tenant after tenant (admitted in tenant id order, as
        every batch does), then what it left, alone."""
        parts: dict[UUID, list[int]] = {}
        for index, (principal, _) in enumerate(jobs):
            parts.setdefault(principal.tenant_id, []).append(index)
        tenants = sorted(parts)
        async with contextlib.AsyncExitStack() as held:
            for tenant_id in tenants:
                await held.enter_async_context(self._writers(tenant_id))
            # One tenant refused (purged) or a failed start: every call alone, each its answer.
            uow = await before_commit(held.enter_async_context(self._uow(tenants[0])))
            # Stamped once the batch holds its writers and its transaction: stamped before it
            # waited for them, a grant committed after an objection was dated before it, and
            # checks said OBJECTED while the feed said granted last (probe HK).
            now = self._clock()
            mine = [(t, [jobs[i] for i in parts[t]]) for t in tenants]
            batches, written = await before_commit(self._write(uow, mine, now))
            await uow.commit()
        outcomes: list[Outcome | None] = [None] * len(jobs)
        later: list[int] = []
        for indexes, batch in zip((parts[t] for t in tenants), batches, strict=True):
            for index, events in batch.events.items():
                batch.outcomes[index] = Written(
                    batch.subjects[index], [written[e.event_id] for e in events]
                )
            for index, outcome in enumerate(batch.outcomes):
                outcomes[indexes[index]] = outcome
            later.extend(indexes[index] for index in batch.later)
        alone = await asyncio.gather(*(self._alone(jobs[i]) for i in later))
        for index, outcome in zip(later, alone, strict=True):
            outcomes[index] = outcome
        return [o if o is not None else RuntimeError("not recorded") for o in outcomes]

    async def _write(
        self, uow: UnitOfWork, parts: list[tuple[UUID, list[Job]]], now: datetime
    ) -> tuple[list[_Batch], dict[UUID, ConsentEvent]]:
        """Everything of the batch up to its commit, every tenant's reads in one call and its
        writes in one more: each tenant's part, and the written events by id."""
        named = [[self._digests(tenant_id, job) for job in jobs] for tenant_id, jobs in parts]
        queries = [
            PartQuery(
                tenant_id,
                sorted({t.purpose for _, command in jobs for t in _targets(command)}),
                sorted({d for ds in names for d in ds}),
            )
            for (tenant_id, jobs), names in zip(parts, named, strict=True)
        ]
        reads = await uow.batch_reads(queries)
        batches = [
            self._part(jobs, names, read, now)
            for (_, jobs), names, read in zip(parts, named, reads, strict=True)
        ]
        writes = [
            PartWrite(
                tenant_id, batch.created, [e for i in sorted(batch.events) for e in batch.events[i]]
            )
            for (tenant_id, _), batch in zip(parts, batches, strict=True)
            if batch.events
        ]
        if not writes:
            return batches, {}
        try:
            appended = await uow.batch_writes(writes, now)
        except IdentifiersTaken:
            raise Undone from None
        return batches, {e.event_id: e for e in appended}

    def _part(
        self, jobs: list[Job], named: list[dict[Digest, Identifier]], read: PartRead, now: datetime
    ) -> _Batch:
        """One tenant's calls checked against what was read and planned: their subjects and
        events, the errors of those the rules refuse, those left for after the batch."""
        batch = _Batch(now, [None] * len(jobs), read)
        for index, job in enumerate(jobs):
            try:
                if not named[index]:
                    batch.later.append(index)
                    continue
                _validate(job[1], read)
                self._plan(batch, index, job, named[index])
            except ConsentError as error:
                batch.outcomes[index] = error
        return batch

    def _digests(self, tenant_id: UUID, job: Job) -> dict[Digest, Identifier]:
        """The identifiers the call names by digest; none when the call runs alone."""
        principal, command = job
        if isinstance(command, RecordConsent):
            # A record with a decided_at reads its subject's facts first (app/standing.py).
            named: Sequence[Identifier] = () if command.recorded_at else command.identifiers
        elif principal.subject is None and not command.withdraw_all:
            named = [] if isinstance(command.subject, UUID) else [command.subject]
        else:
            named = []
        return {(i.kind, self._hasher.digest(tenant_id, i)): i for i in named}

    def _plan(
        self,
        batch: _Batch,
        index: int,
        job: Job,
        named: dict[Digest, Identifier],
    ) -> None:
        """Put the call's subject and events into the batch, or leave it for after: when another
        call of the batch names one of its identifiers or its subject, or when it links a new
        identifier to a known subject."""
        owners = batch.read.owners
        linked = {owners[d] for d in named if d in owners}
        if len(linked) > 1:
            raise FailedPrecondition(CONFLICT, code="IDENTIFIERS_OF_TWO_SUBJECTS")
        known = next(iter(linked), None)
        blocked = alone_for_blocks(job[1], known, named, batch.read)
        shared = batch.claimed.intersection(named) or known in batch.subjects.values()
        linking = isinstance(job[1], RecordConsent) and any(d not in owners for d in named)
        if blocked or shared or (known is not None and linking):
            batch.later.append(index)
            return
        principal, command = job
        tenant_id = principal.tenant_id
        if known is None:
            subject_id = uuid4()
            key, wrapped = self._keys.made(tenant_id, subject_id)
        else:
            subject_id = known
            stored = batch.read.keys.get(subject_id)
            if stored is None:
                # A key made here would be an insert of its own before the append: two batches
                # making keys in opposite orders would deadlock. The one-call path makes it.
                batch.later.append(index)
                return
            key = self._keys.unwrapped(tenant_id, subject_id, stored)
        events = _events(command, principal, subject_id, key, batch)
        if any(e.state is ConsentState.PENDING for e in events):
            batch.later.append(index)  # its confirmation is stored and sent by the one-call path
            return
        batch.claimed.update(named)
        batch.subjects[index] = subject_id
        batch.events[index] = events
        if known is None:
            sealed = [(d, key.seal(d[0].value, i.value)) for d, i in sorted(named.items())]
            batch.created.append(NewSubject(subject_id, wrapped, sealed))


def _targets(command: Command) -> list[Target]:
    if isinstance(command, RecordConsent):
        return [c.target for c in command.choices]
    return list(command.targets)


def _validate(command: Command, read: PartRead) -> None:
    """The rules the one-call path applies before writing (same errors, same messages)."""
    if isinstance(command, RecordConsent):
        require_purposes([t.purpose for t in _targets(command)], read.purposes, "choices")
        require_notices(command.choices, read.purposes, read.versions, read.floors)
    else:
        require_purposes([t.purpose for t in command.targets], read.purposes, "targets")


def _events(
    command: Command, principal: Principal, subject_id: UUID, key: SubjectKey, batch: _Batch
) -> list[ConsentEvent]:
    if isinstance(command, RecordConsent):
        return choice_events(
            command,
            subject_id,
            key,
            role=command.processing_role or principal.tenant.processing_role,
            purposes=batch.read.purposes,
            now=batch.now,
            pending_days=DEFAULT_PENDING_DAYS,
        )
    role = principal.tenant.processing_role
    stamp = event_stamp(subject_id, command, role, command.recorded_at or batch.now, key)
    return [stamp.event(t, ConsentState.WITHDRAWN, None, None, None) for t in command.targets]
