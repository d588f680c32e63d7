"""Ports the use cases depend on. The store implements them; tests may subclass them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import ConsentEvent, ConsentFact, Notice, Purpose, Target
from consentd.domain.tenancy import Tenant

Clock = Callable[[], datetime]
Digest = tuple[IdentifierKind, bytes]
# A subject named by consentd's id or by the keyed digest of one identifier.
CheckKey = UUID | Digest


@dataclass(frozen=True, slots=True)
class CheckRow:
    """What decides one check: the subject (None if unknown) and its latest applicable fact."""

    subject_id: UUID | None
    fact: ConsentFact | None


@dataclass(frozen=True, slots=True)
class CheckBatch:
    """The rows of a batch check, in key order, with the purpose and its notice floor."""

    purpose: Purpose
    notice_floor: int | None
    rows: list[CheckRow]


@dataclass(frozen=True, slots=True)
class FeedChange:
    position: int
    event: ConsentEvent


@dataclass(frozen=True, slots=True)
class SuppressedRow:
    """A subject whose latest applicable fact may forbid contact, with one contact point digest
    (None when it has no contact point of the kind asked)."""

    subject_id: UUID
    fact: ConsentFact
    since: datetime
    digest: bytes | None


class SubjectRepository(Protocol):
    async def owners(self, digests: Sequence[Digest]) -> dict[IdentifierKind, UUID]:
        """The subject each known identifier belongs to."""
        ...

    async def exists(self, subject_id: UUID) -> bool: ...

    async def create(self, subject_id: UUID, now: datetime) -> None: ...

    async def delete_unreferenced(self, subject_id: UUID) -> None:
        """Drop a subject row that no identifier or event refers to (a lost creation race)."""
        ...

    async def attach(self, subject_id: UUID, digest: Digest, now: datetime) -> UUID:
        """Link an identifier to a subject unless it is linked already; return its owner."""
        ...


class ConsentRepository(Protocol):
    async def append(self, events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        """Append events and move the current-state projection; returns them with sequences."""
        ...

    async def current(self, subject_id: UUID) -> list[ConsentEvent]:
        """The event behind every current-state row of the subject."""
        ...

    async def history(
        self, subject_id: UUID, purpose: str | None, before: int | None, limit: int
    ) -> list[ConsentEvent]:
        """Events newest first, with sequence below `before` when given."""
        ...


class CatalogRepository(Protocol):
    async def purposes(self, purpose_ids: Sequence[str]) -> dict[str, Purpose]: ...

    async def put_purpose(self, purpose: Purpose, now: datetime) -> tuple[Purpose, bool] | None:
        """Create or update; None when the purpose exists with another lawful basis."""
        ...

    async def list_purposes(self, after: str | None, limit: int) -> list[Purpose]: ...

    async def publish_notice(self, notice: Notice) -> Notice:
        """Store the next version of the notice (the given version is ignored)."""
        ...

    async def notice_versions(self, notice_id: str) -> set[int]: ...

    async def list_notices(
        self, notice_id: str | None, after: tuple[str, int] | None, limit: int
    ) -> list[Notice]: ...


class CampaignRepository(Protocol):
    async def check(
        self, target: Target, keys: Sequence[CheckKey], as_of: datetime | None
    ) -> CheckBatch | None:
        """One row per key, in order, as of now or `as_of`; None when the purpose is unknown."""
        ...

    async def changes_after(self, position: int, limit: int) -> list[FeedChange]:
        """Feed changes with a position above `position`, in position order."""
        ...

    async def last_position(self) -> int:
        """The position of the tenant's last committed change (0 when none)."""
        ...

    async def suppressed(
        self, target: Target, kind: IdentifierKind, after: UUID | None, limit: int
    ) -> list[SuppressedRow]:
        """Up to `limit` subjects after `after` (in subject order) whose latest applicable fact
        is a refusal, withdrawal or erasure, one row per contact point of `kind`."""
        ...


class ChangeSignal(Protocol):
    """Tells the change feed's watchers in this process that a tenant committed changes."""

    def changed(self, tenant_id: UUID) -> None: ...


class TenantRepository(Protocol):
    async def by_slug(self, slug: str) -> Tenant | None: ...

    async def create(self, tenant: Tenant, now: datetime) -> Tenant:
        """Create the tenant, or return the existing one with that slug."""
        ...


class UnitOfWork(Protocol):
    """One transaction inside one tenant. Leaving the block without commit() rolls back."""

    @property
    def subjects(self) -> SubjectRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def campaign(self) -> CampaignRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[UUID], UnitOfWork]


class ReadUnitOfWork(Protocol):
    """A read-only transaction inside one tenant, for the campaign reads."""

    @property
    def campaign(self) -> CampaignRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


ReadUnitOfWorkFactory = Callable[[UUID], ReadUnitOfWork]
