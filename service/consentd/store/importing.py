"""The import store: one transaction per batch of `consentd import consents` (app/importing.py).

Rows are streamed with COPY into a temporary staging table (one per connection, emptied at each
commit), then applied with set-based statements, round by round (import_apply.py): the events
not superseded appended in file order for each subject, projected, each one's log entry queued
(0009's writers' format). New subjects are made as grouped writes make them (store/subjects.py
CREATE_LINKED); the batch's others are locked before the apply (store/consents.py's lock), as
every writer does."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.app.ports import ChangeSignal, Digest, UnitOfWorkFactory
from consentd.app.ports.imports import ImportCheckpoint, ImportFile, NewSubject, StagedEvent
from consentd.domain.contact_points import Closed
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import Purpose
from consentd.store.closed_points import closed_points, handed_over_each, held_closures
from consentd.store.consents import _LOCK_SUBJECTS
from consentd.store.driver import driver_of
from consentd.store.import_apply import APPLY
from consentd.store.imports import advance, claim
from consentd.store.reborn import born_erased
from consentd.store.subjects import _OWNERS, CREATE_LINKED
from consentd.store.uow import enter_tenant

_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS import_stage (
    line integer NOT NULL, subject_id uuid NOT NULL,
    purpose_id text NOT NULL, channel text NOT NULL, scope text NOT NULL, state text NOT NULL,
    notice_id text, notice_version integer, source text NOT NULL,
    recorded_at timestamptz NOT NULL, valid_until timestamptz, evidence_reference text NOT NULL,
    round integer NOT NULL
) ON COMMIT DELETE ROWS
"""
# A staged event's fields, in order (the enums are str: COPY takes them as their values), then
# its round (import_apply.py: the k-th row of its subject in the batch).
_STAGE_COLUMNS = (*StagedEvent._fields, "round")

# CREATE_LINKED answering with the identifiers another writer linked first (usually none).
_LINKED_ALL = "SELECT kind, digest, subject_id FROM linked\n"
_TAKEN = """SELECT kind, digest FROM unnest($5::text[], $6::bytea[]) AS i(kind, digest)
EXCEPT ALL SELECT kind, digest FROM linked
"""
_CREATE = CREATE_LINKED.removesuffix(_LINKED_ALL) + _TAKEN

# Subjects made for identifiers another writer linked first: nothing refers to them.
_DROP_SUBJECTS = """
WITH keys AS (DELETE FROM subject_keys WHERE tenant_id = $1 AND subject_id = ANY($2::uuid[]))
DELETE FROM subjects WHERE tenant_id = $1 AND subject_id = ANY($2::uuid[])
"""


class _Abandoned(Exception):
    """The batch before this one ended without committing: this one rolls back too."""


class _Turn:
    """A batch's place among the batches of its file open at once (SqlImportStore.batch). The
    next looks its owners up once this one linked its subjects (two never wait crosswise on an
    identifier), and once this one committed when it names an identifier this one linked to a
    new subject (it then finds that subject); it applies once this one applied (subjects locked
    and events sequenced in file order)."""

    def __init__(self, prior: _Turn | None) -> None:
        self.prior = prior
        self.linked, self.applied, self.ended = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self.created: set[bytes] = set()
        self.committed = False

    def end(self, committed: bool) -> None:
        self.committed = committed
        self.prior = None  # the chain ends at the batches open: memory stays flat
        for stage in (self.linked, self.applied, self.ended):
            stage.set()

    async def reached(self, stage: asyncio.Event) -> None:
        """Until this batch reached `stage`; raises _Abandoned when it ended uncommitted."""
        await stage.wait()
        if self.ended.is_set() and not self.committed:
            raise _Abandoned

    async def settled(self, digests: set[bytes]) -> None:
        """Until no batch still open (this one or before) links one of `digests`."""
        turn: _Turn | None = self
        while turn is not None and not turn.ended.is_set():
            if turn.created & digests:
                await turn.reached(turn.ended)  # commits are in order: the earlier ones too
                return
            turn = turn.prior


class SqlImportBatch:
    def __init__(
        self,
        conn: AsyncConnection,
        raw: Any,
        tenant_id: UUID,
        source: ImportFile,
        turn: _Turn | None = None,  # None: no other batch of the file is open
    ) -> None:
        self._conn = conn
        self._raw = raw  # asyncpg.Connection: COPY is not in the Driver protocol
        self._tenant = tenant_id
        self._source = source
        self._turn = turn or _Turn(None)
        self._made: set[UUID] = set()  # subjects made in this transaction: nobody else sees them
        self.queued = False

    async def checkpoint(self, at: datetime) -> ImportCheckpoint:
        source = self._source
        return await claim(
            self._conn, self._tenant, source.digest, name=source.name, rows=source.rows, now=at
        )

    async def owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]:
        prior = self._turn.prior
        if prior is not None:
            await prior.reached(prior.linked)
            await prior.settled({digest for _, digest in digests})
        return await self._owners(digests)

    async def closed(self, digests: Sequence[Digest]) -> dict[Digest, Closed]:
        return await closed_points(self._raw, self._tenant, digests)

    async def handed_over(self, digests: Sequence[Digest]) -> dict[Digest, datetime]:
        return await handed_over_each(self._raw, self._tenant, digests)

    async def held_closures(self, subject_ids: Sequence[UUID]) -> dict[UUID, dict[Digest, Closed]]:
        return await held_closures(self._raw, self._tenant, subject_ids)

    async def born_erased(self, subject_ids: Sequence[UUID]) -> set[UUID]:
        return await born_erased(self._raw, self._tenant, subject_ids)

    async def _owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]:
        if not digests:
            return {}
        kinds = [kind.value for kind, _ in digests]
        rows = await self._raw.fetch(_OWNERS, self._tenant, kinds, [d for _, d in digests])
        return {(IdentifierKind(m["kind"]), bytes(m["digest"])): m["subject_id"] for m in rows}

    async def add_subjects(
        self, subjects: Sequence[NewSubject], at: datetime
    ) -> dict[Digest, UUID]:
        # In the digests' order, as live writers link them: never waiting crosswise.
        made = sorted(subjects, key=lambda s: (s.digest[0].value, s.digest[1]))
        self._turn.created.update(s.digest[1] for s in made)
        taken = await self._raw.fetch(
            _CREATE,
            self._tenant,
            at,
            [s.subject_id for s in made],
            [s.wrapped_key for s in made],
            [s.digest[0].value for s in made],
            [s.digest[1] for s in made],
            [s.subject_id for s in made],
            [s.sealed_value for s in made],
        )
        self._made.update(s.subject_id for s in made)
        if not taken:
            return {}
        # Linked meanwhile by a live writer: join its subject, drop ours.
        taken_digests = {(IdentifierKind(m["kind"]), bytes(m["digest"])) for m in taken}
        lost = [s.subject_id for s in subjects if s.digest in taken_digests]
        self._made.difference_update(lost)
        await self._raw.execute(_DROP_SUBJECTS, self._tenant, lost)
        return await self._owners(list(taken_digests))

    async def apply(
        self, events: Sequence[StagedEvent], actor: str, role: str, at: datetime
    ) -> int:
        self._turn.linked.set()
        prior = self._turn.prior
        if prior is not None:
            await prior.reached(prior.applied)
        imported = await self._apply(events, actor, role, at) if events else 0
        self._turn.applied.set()
        return imported

    async def _apply(
        self, events: Sequence[StagedEvent], actor: str, role: str, at: datetime
    ) -> int:
        await self._raw.execute(_STAGE)
        rows = Counter[UUID]()  # each subject's rows so far: a row's round
        staged = []
        for event in events:
            rows[event.subject_id] += 1
            staged.append((*event, rows[event.subject_id]))
        await self._raw.copy_records_to_table(
            "import_stage", records=staged, columns=_STAGE_COLUMNS
        )
        # Only subjects others may write need their lock: nobody else sees one made here yet.
        subjects = sorted(set(rows).difference(self._made))
        if subjects:
            await self._raw.execute(_LOCK_SUBJECTS, self._tenant, subjects)
        imported = 0
        for round_ in range(1, max(rows.values()) + 1):
            imported += await self._raw.fetchval(APPLY, self._tenant, actor, role, at, round_)
        self.queued = self.queued or imported > 0
        return imported

    async def advance(self, checkpoint: ImportCheckpoint, at: datetime) -> None:
        await advance(self._conn, self._tenant, self._source.digest, checkpoint, at)


# A batch's statements planned for any tenant, not for this one: a new tenant's first import,
# its rows not yet in the planner's statistics (one row expected, so a scan of all its
# identifiers was as cheap as a look-up), outlived the statement timeout past 70,000 people,
# rerun after rerun, until autovacuum's analyze came round (probe QA). The plan for a tenant of
# average size looks each contact point up by its key.
_GENERIC_PLANS = sa.text("SET LOCAL plan_cache_mode = force_generic_plan")


class SqlImportStore:
    def __init__(
        self,
        engine: AsyncEngine,
        uow: UnitOfWorkFactory,
        signal: ChangeSignal,
        settle: Any,
    ) -> None:
        """`signal` is woken after a batch that queued log entries commits; `settle(tenant)`
        integrates what is queued (the sequencer's drain)."""
        self._engine = engine
        self._uow = uow
        self._signal = signal
        self._settle = settle
        self._open: dict[tuple[UUID, str], _Turn] = {}  # the last batch opened of each file

    @asynccontextmanager
    async def batch(self, tenant_id: UUID, source: ImportFile) -> AsyncIterator[SqlImportBatch]:
        """In turn with the batches of the file already open (_Turn)."""
        file = (tenant_id, source.digest)
        turn = self._open[file] = _Turn(self._open.get(file))
        try:
            async with self._engine.connect() as conn:
                await enter_tenant(conn, tenant_id)
                await conn.execute(_GENERIC_PLANS)
                batch = SqlImportBatch(conn, await driver_of(conn), tenant_id, source, turn)
                yield batch
                await conn.commit()
        except BaseException:
            turn.end(committed=False)
            raise
        finally:
            if self._open.get(file) is turn:
                del self._open[file]
        turn.end(committed=True)
        if batch.queued:
            self._signal.changed(tenant_id)

    async def catalogue(self, tenant_id: UUID) -> tuple[dict[str, Purpose], dict[str, set[int]]]:
        purposes: dict[str, Purpose] = {}
        async with self._uow(tenant_id) as uow:
            after = None
            while page := await uow.catalog.list_purposes(after, 500):
                purposes.update((p.purpose_id, p) for p in page)
                after = page[-1].purpose_id
            notices = sorted({p.notice_id for p in purposes.values() if p.notice_id})
            versions = {n: await uow.catalog.notice_versions(n) for n in notices}
        return purposes, versions

    async def floors(self, tenant_id: UUID, notice_ids: Sequence[str]) -> dict[str, int]:
        if not notice_ids:
            return {}
        async with self._uow(tenant_id) as uow:
            return await uow.catalog.reconsent_floors(notice_ids)

    async def settled(self, tenant_id: UUID) -> None:
        await self._settle(tenant_id)
