"""What a write batch (app/grouped_writes.py) asks of its unit of work: every tenant's reads in
one call, every tenant's writes in one more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from consentd.app.ports._base import Digest
from consentd.app.ports.consents import NewSubject
from consentd.domain.contact_points import Closed
from consentd.domain.model import ConsentEvent, Purpose


@dataclass(frozen=True, slots=True)
class PartQuery:
    """What one tenant's part of a batch reads: these purposes, the owners of these digests."""

    tenant_id: UUID
    purpose_ids: Sequence[str]
    digests: Sequence[Digest]


@dataclass(frozen=True, slots=True)
class PartRead:
    """One tenant's answer: its purposes, the identifiers' owners with the wrapped data keys of
    those that have one, and every version of the purposes' notices."""

    purposes: dict[str, Purpose]
    owners: dict[Digest, UUID]
    keys: dict[UUID, bytes] = field(default_factory=dict)
    versions: dict[str, set[int]] = field(default_factory=dict)
    floors: dict[str, int] = field(default_factory=dict)
    # The named subjects with an objection in force, and since when.
    objections: dict[UUID, datetime] = field(default_factory=dict)
    # The named contact points only the person takes back: erased (migration 0022) or left by
    # an objector (0023); why and since when.
    closed: dict[Digest, Closed] = field(default_factory=dict)
    # The named subjects holding such a contact point besides the named ones (0038), or one
    # closed for some target (0048).
    holding_closed: set[UUID] = field(default_factory=set)
    # The named contact points an earlier holder left with their own "no" to some target
    # standing (0048): which targets, the one-call path reads (store/closed_points.py).
    refusing: set[Digest] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class PartWrite:
    """One tenant's part to write: new subjects first, then the events, in this order."""

    tenant_id: UUID
    created: Sequence[NewSubject]
    events: Sequence[ConsentEvent]


class IdentifiersTaken(Exception):
    """Another transaction linked one of the batch's new identifiers first: the batch's
    transaction cannot commit (its calls run again, alone)."""
