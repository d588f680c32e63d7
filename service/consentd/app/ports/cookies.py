"""Ports of cookie choices and the cookie purge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple, Protocol
from uuid import UUID

from consentd.domain.cookie_policy import CookiePolicy
from consentd.domain.cookies import ChoiceMethod, CookieChoice


class CookieRepository(Protocol):
    async def choices_made(self) -> bool: ...

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

    async def record_many(
        self, choices: Sequence[CookieChoice], queued_at: datetime
    ) -> list[CookieChoice]:
        """Store the choices (no subject given) with their log entries queued at `queued_at`,
        their visitors touched first (as touch_visitor does, in visitor-id order), each choice
        linked to the subject its visitor is linked to; returns them, in the order given, with
        that subject and their sequences."""
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

    async def erase_subject(self, subject_id: UUID) -> ErasedCookies:
        """Delete the subject's choices and visitors."""
        ...


MonthlyCounts = Mapping[tuple[date, ChoiceMethod], int]


class ErasedCookies(NamedTuple):
    """What an erasure deleted of cookies: the choices counted per (month recorded, method),
    the visitor ids known no more, and the choices' ids (its audit entry names them: `audit
    verify` tells them from choices deleted by hand; probe FI)."""

    counts: MonthlyCounts
    visitors: list[str]
    choices: list[UUID]


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
