"""Inputs of the use cases, already converted to domain types by the API layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from consentd.domain.canonical import stamp
from consentd.domain.decision import PERSON_SOURCES
from consentd.domain.errors import InvalidInput, PermissionDenied
from consentd.domain.identifiers import Identifier
from consentd.domain.model import Channel, ConsentState, ProcessingRole, Source, Target

# A subject named by consentd's own id or by one identifier.
SubjectSelector = UUID | Identifier

MAX_CHOICES = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class Evidence:
    """How a consent was collected. ip_address and user_agent are only ever stored hashed."""

    ip_address: str = ""
    user_agent: str = ""
    reference: str = ""

    def __repr__(self) -> str:
        return f"Evidence(reference={self.reference!r}, <ip/ua redacted>)"


@dataclass(frozen=True, slots=True)
class Choice:
    target: Target
    state: ConsentState
    notice_version: int | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordConsent:
    identifiers: tuple[Identifier, ...]
    choices: tuple[Choice, ...]
    source: Source
    actor: str
    evidence: Evidence = Evidence()
    processing_role: ProcessingRole | None = None
    # When the person decided, for consents collected earlier (`consentd import consents`, the
    # API's decided_at); None: now. Validity counts from it; the audit entry keeps now.
    recorded_at: datetime | None = None
    # Whether the caller speaks for the person (set by ConsentUseCases.record_consent from its
    # scopes): a grant in person from a caller that does not is a system's (app/standing.py).
    vouched: bool = False

    @property
    def in_person(self) -> bool:
        """The person's own word: a source in person (domain/decision.PERSON_SOURCES) from a
        caller that speaks for them; anything else is a system's."""
        return self.source in PERSON_SOURCES and self.vouched

    def by_its_person(self, own: Identifier) -> RecordConsent:
        """The record a portal token (subject:self) makes for its person: naming them alone, as
        the token does (linking another address from a page would let anyone holding the link
        attach theirs), now, from the portal. Raises PermissionDenied."""
        if self.identifiers != (own,):
            raise PermissionDenied(
                "a portal token or preference link may record only for its own subject, named "
                f"as it names them ({own.kind.value.replace('_', ' ')}), alone"
            )
        return replace(self, source=Source.PORTAL, recorded_at=None)

    def without_grants(
        self, dropped: Callable[[Choice], bool]
    ) -> tuple[RecordConsent, tuple[Target, ...]]:
        """The command without its grants `dropped` says (a refusal is never dropped), and
        their targets in the request's order (what a response lists as `superseded`)."""
        gone = [c for c in self.choices if c.state is ConsentState.GRANTED and dropped(c)]
        if not gone:
            return self, ()
        kept = tuple(c for c in self.choices if c not in gone)
        return replace(self, choices=kept), tuple(c.target for c in gone)


@dataclass(frozen=True, slots=True)
class WithdrawConsent:
    subject: SubjectSelector
    targets: tuple[Target, ...]
    withdraw_all: bool
    source: Source
    actor: str
    evidence: Evidence = Evidence()
    recorded_at: datetime | None = None  # as RecordConsent's
    # With withdraw_all: the channel withdrawn (every purpose on it), or every channel.
    channel: Channel = Channel.ALL


@dataclass(frozen=True, slots=True)
class CheckConsent:
    subject: SubjectSelector
    target: Target
    as_of: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListHistory:
    subject: SubjectSelector
    page_size: int
    page_token: str = ""
    purpose: str | None = None


# How far ahead of the server's clock a caller's decided_at is taken as now (clock skew).
DECIDED_SKEW = timedelta(minutes=5)


def settle_decided(command: RecordConsent, now: datetime) -> RecordConsent:
    """The command with its decided_at (`recorded_at`) read against the server's clock: a time
    up to DECIDED_SKEW ahead is now. Raises InvalidInput for one further ahead."""
    at = command.recorded_at
    if at is None or at <= now:
        return command
    if at - now > DECIDED_SKEW:
        raise InvalidInput(
            "decided_at",
            f"must not be more than {DECIDED_SKEW.seconds // 60} minutes ahead of the server's "
            f"clock (it is {stamp(at)}, "
            f"the server's {stamp(now)}); leave it unset for now",
        )
    return replace(command, recorded_at=None)
