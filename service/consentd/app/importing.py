"""Importing consents collected elsewhere (`consentd import consents`), a batch at a time.

The rows arrive validated (the CLI checks the whole file first) as a stream: memory stays flat.
Each batch is ONE transaction: it links its new identifiers to new subjects (keys made and
identifiers sealed here), applies the rows with set-based statements (events, projection, one
queued log entry each), then moves the file's checkpoint (keyed by its SHA-256) on from where the
batch before left it. Two batches are in flight, each on its own connection, committing in file
order: a killed import leaves whole batches with their checkpoint, and a rerun skips what the
checkpoint counts, so no row is imported twice.

A row superseded by what is on record for its target, imported or live, or by an earlier row of
the file (store/importing.py says when), is counted and not written.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import NamedTuple, Protocol
from uuid import UUID, uuid4

from consentd.app.ports import Clock, Digest
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import Identifier, IdentifierHasher
from consentd.domain.model import Channel, ConsentState, PartyScope, Purpose, Source, Target
from consentd.domain.sealing import Keyring
from consentd.domain.tenancy import Principal
from consentd.domain.validity import valid_until


class ImportRow(NamedTuple):
    """One decision to import; `line` is the file line it ends on (the header is line 1). A
    NamedTuple, cheaper to make than a frozen dataclass: two per row (checked, then imported)."""

    line: int
    identifier: Identifier
    target: Target
    state: ConsentState
    recorded_at: datetime
    source: Source
    notice_version: int | None
    evidence: str


@dataclass(frozen=True, slots=True)
class ImportCheckpoint:
    """Where an import of one file stands: every line up to `last_line` is committed."""

    last_line: int
    imported: int
    superseded: int
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewSubject:
    subject_id: UUID
    digest: Digest
    wrapped_key: bytes
    sealed_value: bytes


class StagedEvent(NamedTuple):
    """A row as the set-based apply takes it (the subject resolved, the target's parts apart;
    the event id is chosen by the apply). A NamedTuple, one per row, as ImportRow."""

    line: int
    subject_id: UUID
    purpose_id: str
    channel: Channel
    scope: PartyScope
    state: ConsentState
    notice_id: str | None
    notice_version: int | None
    source: Source
    recorded_at: datetime
    valid_until: datetime | None
    evidence_reference: str


class ImportBatch(Protocol):
    """One transaction of an import, inside the tenant (store/importing.py)."""

    async def checkpoint(self, at: datetime) -> ImportCheckpoint:
        """The file's checkpoint (made when new), locked until the transaction ends."""
        ...

    async def owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]: ...

    async def add_subjects(
        self, subjects: Sequence[NewSubject], at: datetime
    ) -> dict[Digest, UUID]:
        """Create the subjects and link their identifiers; the owners of the digests another
        writer linked first (its subject is kept, ours removed), most often none."""
        ...

    async def apply(
        self, events: Sequence[StagedEvent], actor: str, role: str, at: datetime
    ) -> int:
        """Append the events not superseded, project them, queue their log entries; returns
        how many were appended."""
        ...

    async def advance(self, checkpoint: ImportCheckpoint, at: datetime) -> None: ...


class ImportStore(Protocol):
    def batch(
        self, tenant_id: UUID, source: ImportFile
    ) -> AbstractAsyncContextManager[ImportBatch]:
        """A transaction; committed when the block ends without error. The batches of a file
        open at once are written in turn, in the order they were opened: one looks its owners
        up once the one before it linked its subjects (and once it committed, when it names an
        identifier that one linked to a new subject), and applies once the one before it
        applied; a batch after one that ended without committing fails."""
        ...

    async def catalogue(self, tenant_id: UUID) -> tuple[dict[str, Purpose], dict[str, set[int]]]:
        """Every purpose of the tenant and the published versions of every notice."""
        ...

    async def settled(self, tenant_id: UUID) -> None:
        """The queued log entries integrated (the sequencer woken and waited for)."""
        ...


@dataclass(frozen=True, slots=True)
class ImportFile:
    digest: str  # SHA-256 of the file: the import's identity
    name: str
    rows: int  # valid rows (the whole file: nothing is written when a row is bad)


class ConsentImports:
    def __init__(
        self, store: ImportStore, hasher: IdentifierHasher, keyring: Keyring, clock: Clock
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._keyring = keyring
        self._clock = clock

    async def catalogue(self, tenant_id: UUID) -> tuple[dict[str, Purpose], dict[str, set[int]]]:
        return await self._store.catalogue(tenant_id)

    async def run(
        self,
        principal: Principal,
        source: ImportFile,
        rows: Callable[[int], Iterator[ImportRow]],
        *,
        batch_size: int,
        actor: str,
        progress: Callable[[ImportCheckpoint], None],
    ) -> ImportCheckpoint:
        """Import `rows(after)` (the rows after line `after`, in file order) in batches;
        `progress` is told where the import starts (a rerun resumes) and after each commit.
        Raises FailedPrecondition when another import of the same file moves its checkpoint
        meanwhile."""
        tenant = principal.tenant_id
        purposes, _ = await self._store.catalogue(tenant)
        async with self._store.batch(tenant, source) as tx:
            start = await tx.checkpoint(self._clock())
        if start.completed_at is not None:
            return start
        progress(start)
        role = principal.tenant.processing_role.value
        job = _Job(tenant, source, purposes, actor, role)
        checkpoint = await self._write_all(job, rows(start.last_line), start, batch_size, progress)
        await self._store.settled(tenant)
        return checkpoint

    async def _write_all(
        self,
        job: _Job,
        stream: Iterator[ImportRow],
        start: ImportCheckpoint,
        batch_size: int,
        progress: Callable[[ImportCheckpoint], None],
    ) -> ImportCheckpoint:
        """The batches, IN_FLIGHT at once; the checkpoint after the last (completed)."""

        def take() -> list[ImportRow]:
            return list(islice(stream, batch_size))

        # The next batch is read (parsed) in a thread while the others are written.
        reading = asyncio.ensure_future(asyncio.to_thread(take))
        writing: deque[asyncio.Future[ImportCheckpoint]] = deque()
        prior: asyncio.Future[ImportCheckpoint] = asyncio.get_running_loop().create_future()
        prior.set_result(start)
        checkpoint = start
        try:
            while True:
                batch = await reading
                if batch:
                    reading = asyncio.ensure_future(asyncio.to_thread(take))
                prior = asyncio.ensure_future(self._write(job, batch, prior))
                writing.append(prior)
                while writing and (len(writing) >= IN_FLIGHT or not batch):
                    checkpoint = await writing.popleft()  # batches commit in file order
                    progress(checkpoint)
                if not batch:
                    return checkpoint
        finally:
            # Left early (a batch failed, or cancelled): the batches in flight roll back. The
            # reader is waited for (never two readers).
            for task in writing:
                task.cancel()
            await asyncio.gather(reading, *writing, return_exceptions=True)

    async def _write(
        self, job: _Job, batch: list[ImportRow], prior: Awaitable[ImportCheckpoint]
    ) -> ImportCheckpoint:
        """One batch in its own transaction, in turn with the one opened before it (see
        ImportStore.batch); the checkpoint it moved, once `prior` (that one's) committed."""
        now = self._clock()
        async with self._store.batch(job.tenant, job.source) as tx:
            subjects = await self._subjects(tx, job.tenant, batch, now)
            events = [
                _staged(row, subject, job.purposes)
                for row, subject in zip(batch, subjects, strict=True)
            ]
            imported = await tx.apply(events, job.actor, job.role, now)
            before = await prior
            if (await tx.checkpoint(now)).last_line != before.last_line:
                raise FailedPrecondition("another import of this file is running; rerun later")
            after = ImportCheckpoint(
                last_line=batch[-1].line if batch else before.last_line,
                imported=before.imported + imported,
                superseded=before.superseded + len(batch) - imported,
                completed_at=None if batch else now,
            )
            await tx.advance(after, now)
        return after

    async def _subjects(
        self, tx: ImportBatch, tenant: UUID, batch: list[ImportRow], now: datetime
    ) -> list[UUID]:
        """The subject of each row, new ones made (a key each, the value sealed under it, as
        SubjectResolver does for one request)."""
        digests = [self._hasher.digest(tenant, row.identifier) for row in batch]
        named = {digest: row.identifier for digest, row in zip(digests, batch, strict=True)}
        owners = await tx.owners([(i.kind, d) for d, i in named.items()])
        known = {digest: subject for (_, digest), subject in owners.items()}
        fresh: list[NewSubject] = []
        for digest, identifier in named.items():
            if digest in known:
                continue
            subject_id = uuid4()
            key, wrapped = self._keyring.new_key(tenant, subject_id)
            sealed = key.seal(identifier.kind.value, identifier.value)
            fresh.append(NewSubject(subject_id, (identifier.kind, digest), wrapped, sealed))
        if fresh:
            known.update((s.digest[1], s.subject_id) for s in fresh)
            taken = await tx.add_subjects(fresh, now)
            known.update((digest, subject) for (_, digest), subject in taken.items())
        return [known[digest] for digest in digests]


# Batches written at once, each in its own transaction on its own connection: while
# PostgreSQL applies one, the next is prepared (digests, keys, sealing) and links its subjects.
IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class _Job:
    tenant: UUID
    source: ImportFile
    purposes: dict[str, Purpose]
    actor: str
    role: str


def _staged(row: ImportRow, subject_id: UUID, purposes: dict[str, Purpose]) -> StagedEvent:
    purpose = purposes[row.target.purpose]
    granted_or_refused = row.state is not ConsentState.WITHDRAWN
    target = row.target
    return StagedEvent(
        line=row.line,
        subject_id=subject_id,
        purpose_id=target.purpose,
        channel=target.channel,
        scope=target.scope,
        state=row.state,
        notice_id=purpose.notice_id if granted_or_refused else None,
        notice_version=row.notice_version if granted_or_refused else None,
        source=row.source,
        recorded_at=row.recorded_at,
        valid_until=valid_until(purpose, row.state, row.recorded_at, None, "valid_until"),
        evidence_reference=row.evidence,
    )
