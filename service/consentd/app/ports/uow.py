"""The unit of work: one transaction inside one tenant, and its read-only sibling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from consentd.app.idempotency import NO_ANSWER, Once
from consentd.app.ports.audit import AuditRepository
from consentd.app.ports.batches import PartQuery, PartRead, PartWrite
from consentd.app.ports.consents import (
    CampaignRepository,
    CatalogRepository,
    ConfirmationRepository,
    ConsentRepository,
    SubjectRepository,
)
from consentd.app.ports.cookies import CookiePurgeRepository, CookieRepository
from consentd.app.ports.rights import (
    BreachRepository,
    RequestRepository,
    RetentionRepository,
    RightsRepository,
)
from consentd.domain.model import ConsentEvent


class UnitOfWork(Protocol):
    """One transaction inside one tenant at a time (a write batch's two calls move it through
    several). Leaving the block without commit() rolls back."""

    @property
    def subjects(self) -> SubjectRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def campaign(self) -> CampaignRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def rights(self) -> RightsRepository: ...

    @property
    def requests(self) -> RequestRepository: ...

    @property
    def cookies(self) -> CookieRepository: ...

    @property
    def cookie_purge(self) -> CookiePurgeRepository: ...

    @property
    def retention(self) -> RetentionRepository: ...

    @property
    def breach(self) -> BreachRepository: ...

    @property
    def confirmations(self) -> ConfirmationRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def batch_reads(self, parts: Sequence[PartQuery]) -> list[PartRead]:
        """Each part's purposes, owners (with their data keys) and notice versions, read inside
        its tenant, the tenants in the order given (each refused, as at the start, when
        purged). The unit of work is left inside the last part's tenant."""
        ...

    async def batch_writes(self, parts: Sequence[PartWrite], now: datetime) -> list[ConsentEvent]:
        """Each part's new subjects and events written inside its tenant, in the order given, at
        `now` (their creation and queueing time); the events as stored. IdentifiersTaken when
        another transaction linked one of the new identifiers first (the transaction can only
        roll back then)."""
        ...

    async def commit_refusal(self) -> None:
        """Commit what a refused call keeps, leaving its idempotency key unused."""
        ...

    async def restate(self, once: Once, answer: object) -> None:
        """Store `answer` under `once`'s key, whose write committed earlier (in another unit of
        work): what a retry is answered from now on. Commit to keep it."""
        ...

    async def commit(self, answer: object = NO_ANSWER) -> None:
        """Commit; a unit of work opened with an idempotency key stores `answer` (the use
        case's result, rendered by the key's Once) in the same transaction, and needs it."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, tenant_id: UUID, once: Once | None = None, /) -> UnitOfWork:
        """A unit of work in the tenant; with `once`, it claims the write's idempotency key
        first (raising Replayed when that write is done already)."""
        ...


# Units of work no caller's idempotency key reaches: the jobs' and verification snapshots.
JobUnitOfWorkFactory = Callable[[UUID], UnitOfWork]


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
