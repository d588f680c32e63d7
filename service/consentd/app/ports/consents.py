"""Ports of consents: subjects, events, the catalogue, campaign reads, the change signal and
double opt-in confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID

from consentd.app.ports._base import CheckKey, Digest
from consentd.domain.confirmations import Confirmation
from consentd.domain.contact_points import PriorHolding
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.model import ConsentEvent, ConsentFact, ConsentState, Notice, Purpose, Target
from consentd.domain.rights import Block, BlockKind
from consentd.domain.tenancy import Tenant


class CheckRow(NamedTuple):
    """What decides one check: the subject (None if unknown), its latest applicable fact, and
    its blocks (restrictions, objections, erasure, suppressions; see consentd_check()). A
    NamedTuple: one is made per recipient of a bulk check."""

    subject_id: UUID | None
    fact: ConsentFact | None
    blocks: Sequence[Block] = ()
    # A contact point's key: its earlier holders, and since when its holder holds it.
    priors: Sequence[PriorHolding] = ()
    held_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckBatch:
    """The rows of a batch check, in key order, with the purpose and its notice floor."""

    purpose: Purpose
    notice_floor: int | None
    rows: list[CheckRow]


@dataclass(frozen=True, slots=True)
class BlockChange:
    """A block (restriction or objection) put in force at `at`, or lifted at `at`."""

    block_id: UUID
    subject_id: UUID
    kind: BlockKind
    lifted: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class FeedChange:
    """One feed position: a consent event or a block change (exactly one is set), with its
    subject's external id (the tenant's CRM key; empty when none, or erased): as the store
    reads it, sealed with the subject's wrapped key (`sealed_external`); opened by the feed."""

    position: int
    event: ConsentEvent | None
    block: BlockChange | None = None
    external_id: str = ""
    sealed_external: tuple[bytes, bytes] | None = None


def feed_mark(fact_id: UUID, lifted: bool | None = None) -> str:
    """What a feed cursor keeps of the change at its position, to know it again: the start of
    its fact's id (a block's, and whether lifted: a block is two changes). A database restored
    from an earlier backup holds other changes at the positions a consumer saw (probe FG)."""
    return fact_id.hex[:12] + ("-lifted" if lifted else "")


@dataclass(frozen=True, slots=True)
class NewSubject:
    """A subject to create with its wrapped data key and its identifiers (digest, sealed value)."""

    subject_id: UUID
    wrapped_key: bytes
    identifiers: list[tuple[Digest, bytes]]


class SubjectRepository(Protocol):
    async def owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]:
        """The subject each known identifier (of `digests`) belongs to."""
        ...

    async def exists(self, subject_id: UUID) -> bool: ...

    async def heard_from(self, subject_id: UUID, now: datetime) -> None:
        """The person was heard from at `now` by a path that keeps no row dated then (a
        sign-in): the retention of inactive subjects counts it."""
        ...

    async def create(self, subject_id: UUID, now: datetime) -> None: ...

    async def lock_points(self, digests: Sequence[Digest]) -> None:
        """Hold a transaction lock per contact point (in one order, so that two writers cannot
        deadlock): writers linking the same new ones to new subjects run one after the other."""
        ...

    async def delete_unreferenced(self, subject_id: UUID) -> None:
        """Drop a subject row that no identifier or event refers to (a lost creation race)."""
        ...

    async def attach(
        self, subject_id: UUID, digest: Digest, now: datetime, sealed: bytes | None = None
    ) -> UUID:
        """Link an identifier (and its sealed value) to a subject unless it is linked already;
        return its owner."""
        ...

    async def create_many(self, created: Sequence[NewSubject], now: datetime) -> int:
        """Create the subjects, store their keys and link their identifiers in one statement;
        the number of identifiers linked (fewer when another transaction linked one first)."""
        ...


class ConsentRepository(Protocol):
    async def append(
        self, events: Sequence[ConsentEvent], queued_at: datetime
    ) -> list[ConsentEvent]:
        """Append events, queue their log entries (stamped `queued_at`) and move the
        current-state projection; returns them with sequences."""
        ...

    async def lock_subject(self, subject_id: UUID) -> None:
        """Hold the subject's write lock (append's) until the transaction ends: an erasure
        takes it first, so a write waiting on it sees the subject erased."""
        ...

    async def current(self, subject_id: UUID) -> list[ConsentEvent]:
        """The event behind every current-state row of the subject."""
        ...

    async def persons_words(self, subject_id: UUID) -> list[ConsentEvent]:
        """The subject's latest word per target that domain/decision.persons_word holds (their
        own, or an ask put to them), whatever a system wrote after it."""
        ...

    async def attached_in_person(self, subject_id: UUID, at: datetime) -> bool:
        """Whether a record of the person's own (in person, from a caller that speaks for
        them) was written at `at`, when a holding of theirs began: that record linked it."""
        ...

    async def history(
        self, subject_id: UUID, purpose: str | None, before: UUID | None, limit: int
    ) -> list[ConsentEvent]:
        """Events newest first; when `before` (an event id of this subject) is given, those
        recorded before it (none when it is not one of the subject's events)."""
        ...

    async def all_events(self, subject_id: UUID) -> list[ConsentEvent]:
        """Every event of the subject, oldest first."""
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

    async def reconsent_floors(self, notice_ids: Sequence[str]) -> dict[str, int]:
        """The re-consent floor of each notice that has one (grants below it do not count)."""
        ...

    async def list_notices(
        self, notice_id: str | None, after: tuple[str, int] | None, limit: int
    ) -> list[Notice]: ...


class ConsentTally(NamedTuple):
    """How many subjects hold `state` for a target (an "everything" one too)."""

    target: Target
    state: ConsentState
    subjects: int


class CampaignRepository(Protocol):
    async def check(
        self, target: Target, keys: Sequence[CheckKey], as_of: datetime | None, at: datetime
    ) -> CheckBatch | None:
        """One row per key, in order, as of now or `as_of` (blocks in force at `at`, which is
        `as_of` or now); None when the purpose is unknown."""
        ...

    async def changes_after(self, position: int, limit: int) -> list[FeedChange]:
        """Feed changes with a position above `position`, in position order."""
        ...

    async def last_position(self) -> int:
        """The position of the tenant's last committed change (0 when none)."""
        ...

    async def fact_at(self, position: int) -> str | None:
        """The mark of the change at `position` (feed_mark of its fact); None when none is."""
        ...

    async def suppression_candidates(
        self, target: Target, kind: IdentifierKind, after: UUID | None, limit: int, at: datetime
    ) -> list[tuple[UUID, bytes | None]]:
        """Up to `limit` subjects after `after` (in subject order) that a check of the target
        may answer with a suppressing DENY for one of their contact points: their latest
        applicable fact is a refusal, withdrawal or erasure, a block is in force at `at`, they
        were erased, or a contact point of theirs had another holder or is suppressed. One row
        per contact point of `kind` (digest None when they have none)."""
        ...

    async def unheld_contact_points(
        self, kind: IdentifierKind, after: bytes | None, limit: int
    ) -> list[bytes]:
        """Up to `limit` digests of `kind` after `after` (in digest order) that nobody holds now
        but that were held before or are suppressed."""
        ...

    async def tallies(self, purpose: str | None, at: datetime) -> list[ConsentTally]:
        """How many subjects hold each state of each target (of `purpose` alone when given),
        a grant past its validity at `at` counted as expired; in target, then state order."""
        ...


class ChangeSignal(Protocol):
    """Tells the change feed's watchers in this process that a tenant committed changes."""

    def changed(self, tenant_id: UUID) -> None: ...


@dataclass(frozen=True, slots=True)
class ConfirmationMessage:
    """What a double opt-in message says: the purposes to confirm (each name with its channel's
    value), the token (and the link that carries it, when the tenant's portal has one), until
    when. `contact` and `token` are secret: never log them."""

    tenant: Tenant
    contact: Identifier
    token: str
    link: str
    language: str
    purposes: tuple[tuple[str, str], ...]
    expires_at: datetime

    def __repr__(self) -> str:
        return f"ConfirmationMessage({self.tenant.slug}, {self.language}, <redacted>)"


class ConfirmationRepository(Protocol):
    """Double opt-in confirmations, by the SHA-256 of their token."""

    async def add(self, confirmation: Confirmation, token_sha256: bytes) -> None: ...

    async def lock(self, token_sha256: bytes) -> Confirmation | None:
        """The confirmation, locked for this transaction; None for an unknown digest."""
        ...

    async def confirmed(self, confirmation_id: UUID, at: datetime) -> None: ...

    async def of_subject(self, subject_id: UUID) -> list[Confirmation]: ...
