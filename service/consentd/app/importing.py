"""Importing consents collected elsewhere (`consentd import consents`), a batch at a time.

The rows arrive validated (the CLI reads and checks the file first) as a stream, so memory stays
flat however long the file. Each batch is ONE transaction of the import store: it locks the
file's checkpoint (the import ledger, keyed by the file's SHA-256), links the batch's new
identifiers to new subjects (keys made and identifiers sealed here), applies the rows with
set-based statements (consent events, the projection and one queued log entry per event: the
sequencer gives them their log entries and feed positions) and advances the checkpoint. A killed
import committed whole batches with their checkpoint, or nothing of the batch in flight; a rerun
skips what the checkpoint counts, so no row is imported twice.

A row older than what is on record for its target (imported or live, or an earlier row of the
file) is counted as superseded and not written: the projection keeps the latest event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Protocol
from uuid import UUID, uuid4

from consentd.app.ports import Clock, Digest
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import Identifier, IdentifierHasher
from consentd.domain.model import ConsentState, Purpose, Source, Target
from consentd.domain.sealing import Keyring
from consentd.domain.tenancy import Principal
from consentd.domain.validity import valid_until


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One decision to import; `line` is the file line it ends on (the header is line 1)."""

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


@dataclass(frozen=True, slots=True)
class StagedEvent:
    """A row as the set-based apply takes it (the subject resolved, the event id chosen)."""

    line: int
    event_id: UUID
    subject_id: UUID
    target: Target
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
        """Create the subjects and link their identifiers; the owner of each digest (another
        writer may have linked one first: its subject is kept, ours removed)."""
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
        """A transaction; committed when the block ends without error."""
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
        checkpoint = start
        stream = rows(start.last_line)

        def take() -> list[ImportRow]:
            return list(islice(stream, batch_size))

        # The next batch is read (parsed) in a thread while this one is in PostgreSQL.
        reading = asyncio.ensure_future(asyncio.to_thread(take))
        try:
            while True:
                batch = await reading
                if batch:
                    reading = asyncio.ensure_future(asyncio.to_thread(take))
                checkpoint = await self._batch(
                    principal, source, batch, purposes=purposes, before=checkpoint, actor=actor
                )
                progress(checkpoint)
                if not batch:
                    break
        finally:
            if not reading.done():
                await asyncio.gather(reading, return_exceptions=True)  # never two readers
        await self._store.settled(tenant)
        return checkpoint

    async def _batch(
        self,
        principal: Principal,
        source: ImportFile,
        batch: list[ImportRow],
        *,
        purposes: dict[str, Purpose],
        before: ImportCheckpoint,
        actor: str,
    ) -> ImportCheckpoint:
        tenant = principal.tenant_id
        now = self._clock()
        async with self._store.batch(tenant, source) as tx:
            if (await tx.checkpoint(now)).last_line != before.last_line:
                raise FailedPrecondition("another import of this file is running; rerun later")
            subjects = await self._subjects(tx, tenant, batch, now)
            events = [_staged(row, subjects, purposes) for row in batch]
            role = principal.tenant.processing_role.value
            imported = await tx.apply(events, actor, role, now)
            after = ImportCheckpoint(
                last_line=batch[-1].line if batch else before.last_line,
                imported=before.imported + imported,
                superseded=before.superseded + len(batch) - imported,
                completed_at=None if batch else now,
            )
            await tx.advance(after, now)
        return after

    async def _subjects(
        self, tx: ImportBatch, tenant: UUID, batch: Iterable[ImportRow], now: datetime
    ) -> dict[Identifier, UUID]:
        """The subject of every identifier of the batch, new ones made (a key each, the value
        sealed under it, as SubjectResolver does for one request)."""
        named = {row.identifier: (row.identifier.kind, self._hasher.digest(tenant, row.identifier))
                 for row in batch}  # fmt: skip
        owners = await tx.owners(sorted(set(named.values())))
        fresh: dict[Digest, NewSubject] = {}
        for identifier, digest in named.items():
            if digest in owners or digest in fresh:
                continue
            subject_id = uuid4()
            key, wrapped = self._keyring.new_key(tenant, subject_id)
            sealed = key.seal(identifier.kind.value, identifier.value)
            fresh[digest] = NewSubject(subject_id, digest, wrapped, sealed)
        if fresh:
            owners.update(await tx.add_subjects(list(fresh.values()), now))
        return {identifier: owners[digest] for identifier, digest in named.items()}


def _staged(
    row: ImportRow, subjects: dict[Identifier, UUID], purposes: dict[str, Purpose]
) -> StagedEvent:
    purpose = purposes[row.target.purpose]
    granted_or_refused = row.state is not ConsentState.WITHDRAWN
    return StagedEvent(
        line=row.line,
        event_id=uuid4(),
        subject_id=subjects[row.identifier],
        target=row.target,
        state=row.state,
        notice_id=purpose.notice_id if granted_or_refused else None,
        notice_version=row.notice_version if granted_or_refused else None,
        source=row.source,
        recorded_at=row.recorded_at,
        valid_until=valid_until(purpose, row.state, row.recorded_at, None, "valid_until"),
        evidence_reference=row.evidence,
    )
