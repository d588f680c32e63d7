"""The import's values and the store it writes through (store/importing.py), apart from the
use case (app/importing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID

from consentd.app.ports._base import Digest
from consentd.domain.contact_points import Closed
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Channel, ConsentState, PartyScope, Purpose, Source, Target


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

    async def closed(self, digests: Sequence[Digest]) -> dict[Digest, Closed]:
        """Those of the digests only the person takes back (erased, or left by an objector),
        why and since when (store/closed_points.py)."""
        ...

    async def handed_over(self, digests: Sequence[Digest]) -> dict[Digest, datetime]:
        """For each digest that changed hands, when it last left a subject that does not hold
        it now."""
        ...

    async def held_closures(self, subject_ids: Sequence[UUID]) -> dict[UUID, dict[Digest, Closed]]:
        """For each of these subjects holding contact points only the person takes back, those
        contact points, why and since when."""
        ...

    async def born_erased(self, subject_ids: Sequence[UUID]) -> set[UUID]:
        """Those of these subjects made holding a contact point erased before, who have not
        granted in person since."""
        ...

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

    async def floors(self, tenant_id: UUID, notice_ids: Sequence[str]) -> dict[str, int]:
        """The re-consent floor of each of these notices that has one: grants on a version
        below it never count (NOTICE_OUTDATED)."""
        ...

    async def settled(self, tenant_id: UUID) -> None:
        """The queued log entries integrated (the sequencer woken and waited for)."""
        ...


@dataclass(frozen=True, slots=True)
class ImportFile:
    digest: str  # SHA-256 of the file: the import's identity
    name: str
    rows: int  # valid rows (the whole file: nothing is written when a row is bad)
