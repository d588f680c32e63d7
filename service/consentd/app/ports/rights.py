"""Ports of the rights of the person: keys, blocks, requests, retention, breach scoping and the
notifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from consentd.app.ports._base import Digest
from consentd.app.ports.consents import ConfirmationMessage
from consentd.domain.breach import TouchedSubject, Window
from consentd.domain.contact_points import Closed
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.retention import TenantRetention
from consentd.domain.rights import (
    BlockKind,
    BlockRecord,
    ContactChange,
    RequestState,
    RightsRequest,
    StoredIdentifier,
)
from consentd.domain.tenancy import Tenant


class RightsRepository(Protocol):
    async def wrapped_key(self, subject_id: UUID) -> bytes | None: ...

    async def store_key(self, subject_id: UUID, wrapped: bytes, now: datetime) -> bytes:
        """Store the wrapped key unless one exists; the one stored."""
        ...

    async def destroy_key(self, subject_id: UUID, check: bytes | None, now: datetime) -> bool:
        """Destroy the subject's data key; keep `check` (the secret's, when it opened the key)
        as the tenant's secret check unless it has one."""
        ...

    async def identifiers(self, subject_id: UUID) -> list[StoredIdentifier]: ...

    async def detach(
        self, subject_id: UUID, kind: IdentifierKind | None, now: datetime, keep: bytes = b""
    ) -> list[StoredIdentifier]:
        """Unlink identifiers (of one kind, or all; but the one whose digest is `keep`), ending
        their holdings at `now`."""
        ...

    async def mark_erased(self, subject_id: UUID, now: datetime) -> datetime: ...

    async def forget_replays(self, subject_id: UUID, visitors: Sequence[str]) -> int:
        """Replace the answers stored for idempotent replay that name the subject (its id), or
        one of `visitors` as a cookie choice's visitor, by app/idempotency.ERASED_ANSWER: a
        replay after an erasure handed back erased data."""
        ...

    async def erased_at(self, subject_id: UUID) -> datetime | None: ...

    async def former_contact_points(self, subject_id: UUID) -> list[Digest]:
        """The contact points the subject held before (rectified away) that nobody holds now."""

    async def closed_contact_points(self, digests: Sequence[Digest]) -> dict[Digest, Closed]:
        """Those of these contact points only the person takes back (erased, or left by an
        objector), why and since when."""
        ...

    async def held_closures(self, subject_id: UUID) -> dict[Digest, Closed]:
        """closed_contact_points of the contact points the subject holds."""

    async def born_erased(self, subject_id: UUID) -> bool:
        """Whether the subject was made holding a contact point erased before, and has not
        granted in person since (the erased person named again)."""

    async def handed_over(self, digests: Sequence[Digest], decided: datetime) -> datetime | None:
        """When one of these contact points last left a subject that holds none of them now
        (an earlier holder); None when none changed hands, or when the subject holding them now
        held one of them at `decided` already."""
        ...

    async def holders_then(self, digests: Sequence[Digest], decided: datetime) -> set[UUID]:
        """The subjects that held these contact points at `decided`; when nobody did, the
        first to hold one of them after."""
        ...

    async def holdings(
        self, since: Mapping[Digest, datetime]
    ) -> dict[Digest, tuple[UUID, datetime]]:
        """Who holds each of these contact points now, and since when: the start of their first
        holding from its `since` on (moved away and back since, the first), else of this one."""
        ...

    async def taken_over(self, s: UUID, at: datetime, named: list[Digest]) -> set[IdentifierKind]:
        """The kinds of the contact points subject `s` took over from another person after `at`
        (RectifyContact); of those `named`, only ones another person still held at `at`."""
        ...

    async def subject_created_at(self, subject_id: UUID) -> datetime | None: ...

    async def suppress(
        self, digests: Sequence[Digest], reason: BlockKind, now: datetime
    ) -> None: ...

    async def add_block(
        self, subject_id: UUID, kind: BlockKind, now: datetime, request_id: UUID | None
    ) -> UUID | None:
        """Put a block in force: its id; None when a restriction is in force already (an
        objection is always recorded: the use case decides whether one is needed)."""

    async def lift_block(self, subject_id: UUID, kind: BlockKind, now: datetime) -> UUID | None:
        """Lift the block of that kind in force: its id; None when none is."""

    async def block_history(self, subject_id: UUID) -> list[BlockRecord]: ...

    async def log_contact_changes(
        self, subject_id: UUID, changes: Sequence[ContactChange]
    ) -> None: ...

    async def contact_history(self, subject_id: UUID) -> list[ContactChange]: ...


class RequestRepository(Protocol):
    async def add(self, request: RightsRequest) -> None: ...

    async def get(self, request_id: UUID, *, for_update: bool = False) -> RightsRequest | None: ...

    async def save(self, request: RightsRequest) -> None: ...

    async def told(self, request: RightsRequest, at: datetime) -> bool:
        """The person told of `request`'s latest decision at `at`, unless it moved on since."""
        ...

    async def forget_words(self, subject_id: UUID) -> None:
        """An erasure: the operator's words on the person's requests go (how they verified
        them, why a request was extended, its outcome), as RightsRequest.without_words says."""
        ...

    async def of_subject(self, subject_id: UUID) -> list[RightsRequest]: ...

    async def listed(
        self,
        overdue_at: datetime | None,
        state: RequestState | None,
        after: str | None,
        limit: int,
        subject_id: UUID | None = None,
    ) -> list[RightsRequest]: ...


# How a read of the retention settings holds them until its transaction ends.
SettingsLock = Literal["share", "update"]


class RetentionRepository(Protocol):
    async def settings(self, *, lock: SettingsLock | None = None) -> TenantRetention:
        """`lock` "share": no put commits until the transaction ends (and one under way first);
        "update": no other reader that locks either (read, then put whole)."""
        ...

    async def database_now(self) -> datetime:
        """The database's clock (its guards on purges and prunes read it)."""
        ...

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

    async def inactive_subjects(
        self, before: datetime, after: UUID | None, limit: int, subject_id: UUID | None = None
    ) -> list[UUID]:
        """Up to `limit` subjects (by id, after `after`; or only `subject_id`) not erased that
        nobody heard from since `before` and that have no rights request open nor restriction
        in force."""
        ...


class BreachRepository(Protocol):
    async def scope(self, window: Window) -> tuple[int, int, dict[str, int]]:
        """(subjects touched, subjects held, rows touched per category) in the window."""
        ...

    async def subjects(
        self, window: Window, after: UUID | None, limit: int
    ) -> list[TouchedSubject]:
        """The subjects the window touched, by id after `after`, at most `limit`."""
        ...


class Notifier(Protocol):
    """Sends a rights request's one-time code, or a double opt-in confirmation, to the subject's
    own contact point."""

    def delivers(self, kind: IdentifierKind) -> bool:
        """Whether a code sent to a contact point of this kind reaches the person (False: it
        is only logged, e.g. no SMTP relay is configured)."""
        ...

    async def send_code(
        self, tenant: Tenant, request_id: UUID, contact: Identifier, code: str
    ) -> None: ...

    async def send_decision(
        self, tenant: Tenant, request: RightsRequest, contact: Identifier
    ) -> None:
        """Tell the person their request was extended or refused, and why."""
        ...

    async def send_confirmation(self, message: ConfirmationMessage) -> None: ...

    async def send_link(
        self, tenant: Tenant, contact: Identifier, url: str, expires: datetime
    ) -> None:
        """A person's preference link (app/link_requests.py), to the address they gave."""
        ...

    async def send_to_desk(self, tenant: Tenant, address: str, subject: str, body: str) -> None:
        """A message to the tenant's rights desk (rights_desk.py): its daily digest."""
        ...
