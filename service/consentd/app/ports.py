"""Ports the use cases depend on. The store implements them; tests may subclass them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import NamedTuple, Protocol, Self
from uuid import UUID

from consentd.domain.audit import (
    AuditEntry,
    AuditRecord,
    Checkpoint,
    CheckpointSigner,
    Head,
    Payload,
)
from consentd.domain.breach import Window
from consentd.domain.cookie_policy import CookiePolicy
from consentd.domain.cookies import ChoiceMethod, CookieChoice
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.merkle import Tree
from consentd.domain.model import ConsentEvent, ConsentFact, Notice, Purpose, Target
from consentd.domain.proofs import FactCheck, TreeHead
from consentd.domain.retention import TenantRetention
from consentd.domain.rights import (
    Block,
    BlockKind,
    BlockRecord,
    ContactChange,
    RequestState,
    RightsRequest,
    StoredIdentifier,
)
from consentd.domain.tenancy import StoredKey, Tenant, TokenIssuer

Clock = Callable[[], datetime]
Digest = tuple[IdentifierKind, bytes]
# A subject named by consentd's id or by the keyed digest of one identifier.
CheckKey = UUID | Digest


class CheckRow(NamedTuple):
    """What decides one check: the subject (None if unknown), its latest applicable fact, and
    its blocks (restrictions, objections, erasure, suppressions; see SqlRights.blocks). A
    NamedTuple: one is made per recipient of a bulk check."""

    subject_id: UUID | None
    fact: ConsentFact | None
    blocks: Sequence[Block] = ()


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
    """A subject whose latest applicable fact or blocks may forbid contact, with one contact
    point digest (None when it has no contact point of the kind asked)."""

    subject_id: UUID
    fact: ConsentFact | None
    since: datetime | None
    digest: bytes | None
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """A contact point suppressed on its own (the erasure's entry outlives the person)."""

    digest: bytes
    reason: BlockKind
    since: datetime


class SubjectRepository(Protocol):
    async def owners(self, digests: Sequence[Digest]) -> dict[Digest, UUID]:
        """The subject each known identifier (of `digests`) belongs to."""
        ...

    async def exists(self, subject_id: UUID) -> bool: ...

    async def create(self, subject_id: UUID, now: datetime) -> None: ...

    async def delete_unreferenced(self, subject_id: UUID) -> None:
        """Drop a subject row that no identifier or event refers to (a lost creation race)."""
        ...

    async def attach(
        self, subject_id: UUID, digest: Digest, now: datetime, sealed: bytes | None = None
    ) -> UUID:
        """Link an identifier (and its sealed value) to a subject unless it is linked already;
        return its owner."""
        ...


class ConsentRepository(Protocol):
    async def append(
        self, events: Sequence[ConsentEvent], queued_at: datetime
    ) -> list[ConsentEvent]:
        """Append events, queue their log entries (stamped `queued_at`) and move the
        current-state projection; returns them with sequences."""
        ...

    async def current(self, subject_id: UUID) -> list[ConsentEvent]:
        """The event behind every current-state row of the subject."""
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

    async def list_notices(
        self, notice_id: str | None, after: tuple[str, int] | None, limit: int
    ) -> list[Notice]: ...


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

    async def suppressed(
        self, target: Target, kind: IdentifierKind, after: UUID | None, limit: int, at: datetime
    ) -> list[SuppressedRow]:
        """Up to `limit` subjects after `after` (in subject order) whose latest applicable fact
        is a refusal, withdrawal or erasure, or who have a block in force at `at`, one row per
        contact point of `kind`, with the latest fact and the blocks."""
        ...

    async def suppression_entries(
        self, kind: IdentifierKind, after: bytes | None, limit: int
    ) -> list[SuppressionEntry]:
        """Up to `limit` suppression entries of `kind` (no subject) after digest `after`."""
        ...


class ChangeSignal(Protocol):
    """Tells the change feed's watchers in this process that a tenant committed changes."""

    def changed(self, tenant_id: UUID) -> None: ...


class LogSequencer(Protocol):
    """Integrates a tenant's queued audit entries into its log (and the change feed)."""

    async def drain(self, tenant_id: UUID) -> int:
        """Integrate everything queued so far; the entries appended."""
        ...


class CookieRepository(Protocol):
    async def policy(self, *, for_update: bool = False) -> CookiePolicy | None:
        """The tenant's stored policy; None while it uses the defaults."""
        ...

    async def put_policy(self, policy: CookiePolicy, now: datetime) -> CookiePolicy | None:
        """Store the policy; None when a concurrent put raised the revision above it."""
        ...

    async def touch_visitor(
        self, visitor_id: str, subject_id: UUID | None, now: datetime
    ) -> UUID | None:
        """Create or refresh the visitor, linking it to `subject_id` when given; returns the
        subject the visitor is linked to (None when none)."""
        ...

    async def append(self, choice: CookieChoice) -> CookieChoice:
        """Store a choice; returns it with its sequence."""
        ...

    async def latest(self, visitor_id: str) -> CookieChoice | None: ...

    async def history(
        self, visitor_id: str | None, subject_id: UUID | None, before: UUID | None, limit: int
    ) -> list[CookieChoice]:
        """Choices of the visitor, or of the subject, newest first; when `before` (the id of
        one of those choices) is given, those recorded before it (none when it is not one)."""
        ...

    async def link_choices(self, visitor_id: str, subject_id: UUID) -> int:
        """Attribute the visitor's choices that have no subject; returns how many."""
        ...

    async def erase_subject(self, subject_id: UUID) -> tuple[MonthlyCounts, int]:
        """Delete the subject's choices and visitors: (choices per month and method, visitors)."""
        ...


MonthlyCounts = Mapping[tuple[date, ChoiceMethod], int]


class CookiePurgeRepository(Protocol):
    """The cookie-choice category of retention: expired choices, counts and the run log."""

    async def interrupt_running(self, now: datetime) -> int:
        """Mark runs left `running` by a killed purge as interrupted; returns how many."""
        ...

    async def start_run(self, run_id: UUID, now: datetime) -> None: ...

    async def delete_expired_choices(self, cutoff: datetime, limit: int) -> MonthlyCounts:
        """Delete up to `limit` choices expired at `cutoff`; counts per month and method."""
        ...

    async def add_counts(self, counts: MonthlyCounts) -> None: ...

    async def count_expired(self, cutoff: datetime) -> int:
        """How many choices have expired at `cutoff` (a dry run's figure)."""
        ...

    async def delete_idle_visitors(self, idle_before: datetime, limit: int) -> int:
        """Delete up to `limit` visitors with no choice left, last seen before `idle_before`."""
        ...

    async def record_progress(self, run_id: UUID, choices: int, visitors: int) -> None:
        """Add one batch's counts to the run, in the batch's own transaction."""
        ...

    async def finish_run(self, run_id: UUID, now: datetime) -> None: ...


class CallerDirectory(Protocol):
    """Credentials, read inside the tenant the credential claims (row-level security holds)."""

    async def api_key(self, tenant_id: UUID, key_id: str) -> tuple[Tenant, StoredKey] | None: ...

    async def issuer(self, tenant_id: UUID, issuer: str) -> tuple[Tenant, TokenIssuer] | None: ...


class TenantList(Protocol):
    async def tenants(self) -> list[Tenant]:
        """Every tenant, across tenants (the owner's lookup: the runtime role sees only the
        tenant it is in): jobs that span tenants loop over them, one unit of work each."""
        ...


class AdminRepository(Protocol):
    """Tenant and credential management; runs with the owner's connection (CLI, provisioning)."""

    async def tenant_by_slug(self, slug: str) -> Tenant | None: ...

    async def tenants(self) -> list[Tenant]: ...

    async def create_tenant(self, tenant: Tenant, now: datetime) -> Tenant:
        """Create the tenant, or return the existing one with that slug."""
        ...

    async def insert_key(self, tenant_id: UUID, key: StoredKey) -> None: ...

    async def revoke_key(self, tenant_id: UUID, key_id: str, now: datetime) -> bool:
        """True when a live key was revoked."""
        ...

    async def keys(self, tenant_id: UUID) -> list[StoredKey]: ...

    async def put_issuer(self, tenant_id: UUID, issuer: TokenIssuer, now: datetime) -> None: ...


class IdempotencyStore(Protocol):
    async def once(
        self,
        *,
        tenant_id: UUID,
        caller: str,
        key: str,
        method: str,
        request_sha256: bytes,
        execute: Callable[[], Awaitable[bytes]],
    ) -> bytes:
        """Run `execute` at most once per (tenant, caller, key) and return its response; a replay
        returns the stored response. The write and the key commit together. Raises InvalidInput
        when the key was used with another request."""
        ...


class AuditRepository(Protocol):
    def record(self, record: AuditRecord) -> None:
        """Queue `record` for the tenant's log when the unit of work commits."""
        ...

    def cookie_choice(self, choice_id: UUID, at: datetime) -> None:
        """Queue the stored cookie choice's entry when the unit of work commits."""
        ...

    async def head(self) -> Head | None: ...

    async def entries(self, after_seq: int, limit: int) -> list[AuditEntry]: ...

    async def prunable(self, before: datetime) -> list[int]:
        """Seqs of unpruned checkpoints whose entry is older than `before`, ascending."""
        ...

    async def checkpoints(self) -> list[Checkpoint]: ...

    async def checkpoint_head(self, signer: CheckpointSigner, at: datetime) -> Checkpoint | None:
        """Sign the head unless signed already; None for an empty chain."""
        ...

    async def prune_through(self, seq: int) -> int:
        """Remove the entries up to the checkpoint at `seq`; how many went."""
        ...

    async def count_through(self, seq: int) -> int: ...

    async def facts(self, limit: int) -> FactCheck:
        """The fact tables recomputed against the log; at most `limit` problems of each kind."""
        ...

    async def tree(self, size: int) -> Tree | None:
        """The Merkle tree of entries 1..size (None when its pruned part is unknown)."""
        ...

    async def proof_entry(
        self, seq: int, fact_id: UUID | None
    ) -> tuple[AuditEntry, Payload | None] | None:
        """Entry `seq` (or the entry of `fact_id`) and its fact's content as it stands now."""
        ...

    async def tree_head(self, size: int) -> TreeHead | None: ...

    async def store_tree_head(self, head: TreeHead) -> None: ...


class RightsRepository(Protocol):
    async def wrapped_key(self, subject_id: UUID) -> bytes | None: ...

    async def store_key(self, subject_id: UUID, wrapped: bytes, now: datetime) -> bytes:
        """Store the wrapped key unless one exists; the one stored."""
        ...

    async def destroy_key(self, subject_id: UUID) -> bool: ...

    async def identifiers(self, subject_id: UUID) -> list[StoredIdentifier]: ...

    async def detach(
        self, subject_id: UUID, kind: IdentifierKind | None
    ) -> list[StoredIdentifier]: ...

    async def mark_erased(self, subject_id: UUID, now: datetime) -> datetime: ...

    async def erased_at(self, subject_id: UUID) -> datetime | None: ...

    async def subject_created_at(self, subject_id: UUID) -> datetime | None: ...

    async def suppress(
        self, digests: Sequence[Digest], reason: BlockKind, now: datetime
    ) -> None: ...

    async def suppressions(self, digests: Sequence[Digest]) -> list[Block]: ...

    async def blocks(self, subject_id: UUID, at: datetime) -> list[Block]: ...

    async def add_block(
        self, subject_id: UUID, kind: BlockKind, now: datetime, request_id: UUID | None
    ) -> bool: ...

    async def lift_block(self, subject_id: UUID, kind: BlockKind, now: datetime) -> bool: ...

    async def block_history(self, subject_id: UUID) -> list[BlockRecord]: ...

    async def log_contact_changes(
        self, subject_id: UUID, changes: Sequence[ContactChange]
    ) -> None: ...

    async def contact_history(self, subject_id: UUID) -> list[ContactChange]: ...


class RequestRepository(Protocol):
    async def add(self, request: RightsRequest) -> None: ...

    async def get(self, request_id: UUID, *, for_update: bool = False) -> RightsRequest | None: ...

    async def save(self, request: RightsRequest) -> None: ...

    async def of_subject(self, subject_id: UUID) -> list[RightsRequest]: ...

    async def listed(
        self, overdue_at: datetime | None, state: RequestState | None, after: str | None, limit: int
    ) -> list[RightsRequest]: ...


class RetentionRepository(Protocol):
    async def settings(self) -> TenantRetention: ...

    async def put_settings(self, settings: TenantRetention, now: datetime) -> TenantRetention: ...

    async def mark_purged(self, now: datetime) -> None: ...

    def purge_order(self) -> list[str]:
        """The tenant's tables, in the order their rows can be deleted."""
        ...

    async def count(self, name: str) -> int: ...

    async def purge_batch(self, name: str, limit: int) -> int: ...

    async def count_expired_replays(self, now: datetime) -> int:
        """Stored answers of idempotent writes whose key has expired."""
        ...

    async def delete_expired_replays(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` of them; how many went."""
        ...


class BreachRepository(Protocol):
    async def scope(self, window: Window) -> tuple[int, int, dict[str, int]]:
        """(subjects touched, subjects held, rows touched per category) in the window."""
        ...


class Notifier(Protocol):
    """Sends a rights request's one-time code to the subject's own contact point."""

    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None: ...


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
