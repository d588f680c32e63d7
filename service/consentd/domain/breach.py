"""Breach scoping: which subjects and which categories of data a time window touched.

The input to the 48-hour notice: for each tenant, how many subjects had data written or changed
in the window, how many were held at all (what a leak of the store in that window exposes), and
the data categories with the number of rows touched in each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from consentd.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Window:
    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidInput("until", "must be after since")


@dataclass(frozen=True, slots=True)
class TenantScope:
    tenant_slug: str
    subjects_touched: int
    subjects_held: int
    # Rows touched per category; categories with none are left out.
    categories: dict[str, int] = field(default_factory=dict)
    # Its data was purged (its contract ended): nothing is left to count.
    purged: bool = False


@dataclass(frozen=True, slots=True)
class TouchedSubject:
    """One subject a window touched: the person a breach notice concerns."""

    subject_id: UUID
    # The categories touched for this subject, sorted.
    categories: tuple[str, ...]
    # Set when the subject was erased since (nothing left to reach them by).
    erased_at: datetime | None
