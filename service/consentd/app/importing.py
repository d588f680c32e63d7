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
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from uuid import UUID, uuid4

from consentd.app.ports import Clock
from consentd.app.ports.imports import (
    ImportBatch,
    ImportCheckpoint,
    ImportFile,
    ImportRow,
    ImportStore,
    NewSubject,
    StagedEvent,
)
from consentd.domain.contact_points import Closed, reached
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.model import ConsentState, Purpose
from consentd.domain.sealing import Keyring
from consentd.domain.tenancy import Principal
from consentd.domain.validity import valid_until


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

    async def floors(self, tenant_id: UUID, notice_ids: Sequence[str]) -> dict[str, int]:
        return await self._store.floors(tenant_id, notice_ids)

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
                if subject is not None
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
    ) -> list[UUID | None]:
        """The subject of each row, new ones made (a key each, the value sealed under it, as
        SubjectResolver does for one request); None for a row decided before its contact point
        was erased: an old CRM file brought the erased person back, their address sealed and
        exported again, their grants on record (the erasure stands); and for any grant row of a
        contact point only the person takes back, erased or left by an objector (_after)."""
        digests = [self._hasher.digest(tenant, row.identifier) for row in batch]
        named = {digest: row.identifier for digest, row in zip(digests, batch, strict=True)}
        pairs = [(i.kind, d) for d, i in named.items()]
        closures = {d: c for (_, d), c in (await tx.closed(pairs)).items()}
        closed = {d: c.at for d, c in closures.items() if c.whole}
        handed = {d: at for (_, d), at in (await tx.handed_over(pairs)).items()}
        wanted = [
            d
            if _counts(row, closed.get(d), handed.get(d)) and not _refused(row, closures.get(d))
            else None
            for d, row in zip(digests, batch, strict=True)
        ]
        named = {d: named[d] for d in wanted if d is not None}
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
        found = [known[digest] if digest is not None else None for digest in wanted]
        return await _without_held_closed(tx, batch, found)


async def _without_held_closed(
    tx: ImportBatch, batch: list[ImportRow], subjects: list[UUID | None]
) -> list[UUID | None]:
    """None for a grant row whose subject holds a contact point only the person takes back
    that reaches the row's channel, the row naming the subject otherwise (its external id): a
    re-import keyed by customer id gave the customer a STOP-left or erased number back, ALLOW
    (probe BN), where the API drops such a grant (app/taken_back.py)."""
    granted = {
        s for row, s in zip(batch, subjects, strict=True)
        if s is not None and row.state is ConsentState.GRANTED
    }  # fmt: skip
    held = await tx.held_closures(sorted(granted)) if granted else {}
    # The erased person named again: no grant on any channel (taken_back; probe ZE).
    reborn = await tx.born_erased(sorted(held)) if held else set()
    return [
        None
        if s in held
        and row.state is ConsentState.GRANTED
        and (
            s in reborn
            or row.target.channel in reached(kind for (kind, _), c in held[s].items() if c.whole)
            or any(_refused(row, c) for c in held[s].values())
        )
        else s
        for row, s in zip(batch, subjects, strict=True)
    ]


def _refused(row: ImportRow, closed: Closed | None) -> bool:
    """A grant row of a target an earlier holder of its contact point said no to themselves
    (Closed.targets, migration 0048): only the person takes it back, never a file."""
    return closed is not None and row.state is ConsentState.GRANTED and row.target in closed.targets


def _counts(row: ImportRow, closed: datetime | None, handed: datetime | None) -> bool:
    """Whether a row is imported: not a row of a closed contact point (_after), nor a grant
    decided while its contact point was another person's (`handed`: when it last left a
    subject that does not hold it now): theirs, not its holder's now nor a new subject's (it
    was imported, and never counted: probe BE)."""
    if closed is not None and not _after(row, closed):
        return False
    return handed is None or row.state is not ConsentState.GRANTED or row.recorded_at > handed


def _after(row: ImportRow, closed: datetime) -> bool:
    """A row of a closed contact point (erased, or left by an objector, at `closed`) that
    counts: a refusal or withdrawal decided after. A grant never does: a file is a system's
    word, and only the person takes such a contact point back (a refusal row, then a grant row,
    in two files or two batches, brought an erased person back)."""
    return row.recorded_at > closed and row.state is not ConsentState.GRANTED


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
