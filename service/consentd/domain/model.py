"""Value types of the consent domain. Plain Python: no I/O, no framework import."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

ALL = "*"


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE_CALL = "voice_call"
    CHAT = "chat"
    SOCIAL = "social"
    POSTAL = "postal"
    PUSH = "push"
    ALL = ALL


class PartyScope(enum.StrEnum):
    FIRST_PARTY = "first_party"
    PARTNERS = "partners"
    ALL = ALL


class ConsentState(enum.StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    ERASED = "erased"
    # A grant on a purpose that requires confirmation (double opt-in), until the person confirms.
    PENDING = "pending"


class LawfulBasis(enum.StrEnum):
    CONSENT = "consent"
    LEGITIMATE_INTEREST = "legitimate_interest"


class Source(enum.StrEnum):
    PORTAL = "portal"
    BANNER = "banner"
    API = "api"
    IMPORT = "import"
    SUPPORT = "support"


class ProcessingRole(enum.StrEnum):
    CONTROLLER = "controller"
    PROCESSOR = "processor"


class Decision(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Reason(enum.StrEnum):
    GRANTED = "granted"
    LEGITIMATE_INTEREST = "legitimate_interest"
    NO_RECORD = "no_record"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NOTICE_OUTDATED = "notice_outdated"
    OBJECTED = "objected"
    RESTRICTED = "restricted"
    SUPPRESSED = "suppressed"
    ERASED = "erased"
    PENDING_CONFIRMATION = "pending_confirmation"


@dataclass(frozen=True, slots=True)
class Target:
    """One (purpose, channel, party scope); ALL_TARGETS stands for every one of them, and
    everything_on(channel) for every purpose and scope on one channel (an SMS "STOP")."""

    purpose: str
    channel: Channel
    scope: PartyScope

    @property
    def is_all(self) -> bool:
        """The "everything" target, of every channel or of one."""
        return self.purpose == ALL

    def covers(self, target: Target) -> bool:
        """Whether a fact of this target applies to `target`: its own, or an "everything" one
        of every channel or of `target`'s (consentd_check, migration 0036)."""
        return self == target or (
            self.purpose == ALL and self.channel in (Channel.ALL, target.channel)
        )


ALL_TARGETS = Target(ALL, Channel.ALL, PartyScope.ALL)


def everything_on(channel: Channel) -> Target:
    """The "everything" target of one channel (of every channel for Channel.ALL)."""
    return Target(ALL, channel, PartyScope.ALL)


@dataclass(frozen=True, slots=True)
class Purpose:
    purpose_id: str
    lawful_basis: LawfulBasis
    display_name: str = ""
    description: str = ""
    notice_id: str | None = None
    max_validity_days: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Double opt-in: a grant is recorded pending until the person confirms it (consent basis only).
    requires_confirmation: bool = False


@dataclass(frozen=True, slots=True)
class Notice:
    notice_id: str
    version: int
    title: str
    language: str
    content: str
    content_sha256: str
    requires_reconsent: bool
    published_at: datetime


class ConsentFact(NamedTuple):
    """An event as the decision rule sees it; `sequence` orders events (higher is later).

    A NamedTuple like Verdict: immutable, and made for every recipient of a bulk check, where a
    frozen dataclass's __init__ (object.__setattr__ per field) cost several times as much."""

    event_id: UUID
    sequence: int
    target: Target
    state: ConsentState
    notice_version: int | None
    valid_until: datetime | None
    recorded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One append-only fact of a subject's consent history."""

    event_id: UUID
    sequence: int
    subject_id: UUID
    target: Target
    state: ConsentState
    notice_id: str | None
    notice_version: int | None
    source: Source
    actor: str
    processing_role: ProcessingRole
    recorded_at: datetime
    valid_until: datetime | None
    evidence_reference: str
    # Keyed hashes of the collector's IP address and user agent; never the values themselves.
    evidence_ip_digest: bytes | None = None
    evidence_ua_digest: bytes | None = None
    # IP address and user agent sealed under the subject's data key (crypto-shredded on erasure).
    evidence_sealed: bytes | None = None
    # Whether the caller that recorded it speaks for the person (consent:attest, admin, their
    # own portal token, a confirmation link followed); None for events from before this was
    # kept, and the import's. A grant in person counts as the person's own only when not False.
    attested: bool | None = None
    # When the person decided, for a record sent later with its decided_at; None: as recorded.
    decided_at: datetime | None = None

    def fact(self) -> ConsentFact:
        return ConsentFact(
            self.event_id,
            self.sequence,
            self.target,
            self.state,
            self.notice_version,
            self.valid_until,
            self.recorded_at,
        )


class Verdict(NamedTuple):
    decision: Decision
    reason: Reason
    event_id: UUID | None = None
    valid_until: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW
