"""Rights of the person: requests, their state machine and deadlines, and processing blocks.

Deadline rule (GDPR art. 12(3); the privacy policy's "dans un délai d'un mois à compter de la
confirmation de réception de votre demande"): a request is due one calendar month after its
receipt, which the service acknowledges when it records the request, at the same time of day
in Paris (domain/months.due_after). Checking the requester's identity does not stop the clock.
One extension of one or two further months is allowed, with a reason, and only before the first
deadline has passed; it is counted from the first deadline by the same rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.months import due_after

MAX_EXTENSION_MONTHS = 2
CODE_TTL = timedelta(hours=24)
# Wrong codes a request may see in all, whatever new codes were sent meanwhile (a new code
# giving five more tries let a 6-digit code be guessed by asking again and again); then an
# operator attests the identity.
MAX_CODE_ATTEMPTS = 5
ATTESTED = "operator"  # an operator's attestation's method: `operator:<their words>`
# What an erasure leaves of an operator's words on the person's requests (the reason of an
# extension, an outcome): they may name the person (probe DX: "erased Jeanne Dupont").
WORDS_ERASED = "(erased with the person)"
CODE_EXPIRED = "the code has expired: ask for a new one"
TOO_MANY_CODES = "too many wrong codes for this request: an operator must attest the identity"


class RequestKind(enum.StrEnum):
    ACCESS = "access"
    RECTIFY = "rectify"
    ERASE = "erase"
    RESTRICT = "restrict"
    OBJECT = "object"
    PORT = "port"


class RequestState(enum.StrEnum):
    RECEIVED = "received"
    IDENTITY_VERIFIED = "identity_verified"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    REFUSED = "refused"


_NEXT: dict[RequestState, frozenset[RequestState]] = {
    RequestState.RECEIVED: frozenset({RequestState.IDENTITY_VERIFIED, RequestState.REFUSED}),
    RequestState.IDENTITY_VERIFIED: frozenset({RequestState.IN_PROGRESS, RequestState.REFUSED}),
    RequestState.IN_PROGRESS: frozenset({RequestState.DONE, RequestState.REFUSED}),
    RequestState.DONE: frozenset(),
    RequestState.REFUSED: frozenset(),
}
# What moves a request on from each open state (the message a wrong step gets says it).
_STEP = {
    RequestState.RECEIVED: (
        "verify the person's identity first (ConfirmIdentity), then call StartRightsRequest"
    ),
    RequestState.IDENTITY_VERIFIED: "call StartRightsRequest first",
}
OPEN_STATES = frozenset(
    {RequestState.RECEIVED, RequestState.IDENTITY_VERIFIED, RequestState.IN_PROGRESS}
)


class BlockKind(enum.StrEnum):
    """What stops processing for a subject regardless of its consents."""

    RESTRICTED = "restricted"
    OBJECTED = "objected"
    ERASED = "erased"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True, slots=True)
class Block:
    kind: BlockKind
    since: datetime


@dataclass(frozen=True, slots=True)
class StoredIdentifier:
    kind: IdentifierKind
    digest: bytes
    sealed_value: bytes | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ContactChange:
    change_id: UUID
    kind: IdentifierKind
    action: str
    sealed_value: bytes | None
    changed_at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class BlockRecord:
    kind: BlockKind
    since: datetime
    lifted_at: datetime | None
    request_id: UUID | None


@dataclass(frozen=True, slots=True)
class RightsRequest:
    request_id: UUID
    subject_id: UUID
    kind: RequestKind
    state: RequestState
    received_at: datetime
    updated_at: datetime
    verified_at: datetime | None = None
    due_at: datetime | None = None
    extended_due_at: datetime | None = None
    extension_reason: str = ""
    closed_at: datetime | None = None
    outcome: str = ""
    verification_method: str = ""
    # Keyed hash of the one-time code, its expiry and the wrong tries so far.
    code_digest: bytes | None = None
    code_expires_at: datetime | None = None
    code_attempts: int = 0
    # When the person was told of the latest extension or refusal (None: not by consentd).
    person_told_at: datetime | None = None

    @classmethod
    def received(
        cls, request_id: UUID, subject_id: UUID, kind: RequestKind, now: datetime
    ) -> RightsRequest:
        """A request acknowledged at `now`: due one month later."""
        return cls(
            request_id,
            subject_id,
            kind,
            RequestState.RECEIVED,
            now,
            now,
            due_at=due_after(now, 1),
        )

    @property
    def effective_due_at(self) -> datetime | None:
        """The extended due date once the person was told of the extension within the first
        month (GDPR art. 12(3): an extension they are not told of does not count); else the
        first (an operator saw "not overdue" for a month past it, nobody told; probe BF)."""
        told = self.person_told_at
        counts = told is not None and self.due_at is not None and told <= self.due_at
        return self.extended_due_at if counts and self.extended_due_at else self.due_at

    def is_overdue(self, now: datetime) -> bool:
        due = self.effective_due_at
        return self.state in OPEN_STATES and due is not None and now > due

    @property
    def closed_late(self) -> bool:
        """Closed (done, refused) after its due date, as is_overdue reads it."""
        due, closed = self.effective_due_at, self.closed_at
        return closed is not None and due is not None and closed > due

    def _move(self, to: RequestState, now: datetime) -> RightsRequest:
        if to is self.state:
            raise FailedPrecondition(
                f"the request is {to.value} already: nothing to change", code="ALREADY_IN_STATE"
            )
        if to not in _NEXT[self.state]:
            step = _STEP.get(self.state)
            then = f": {step}" if step and to is not RequestState.IDENTITY_VERIFIED else ""
            raise FailedPrecondition(
                f"a request that is {self.state.value} cannot become {to.value}{then}",
                code="TRANSITION_NOT_ALLOWED",
            )
        closed = now if to in (RequestState.DONE, RequestState.REFUSED) else None
        return replace(self, state=to, updated_at=now, closed_at=closed)

    def require_unverified(self) -> None:
        """Raises FailedPrecondition unless the request waits for its identity (DO, DQ)."""
        if self.state is RequestState.RECEIVED:
            return
        if self.state in (RequestState.DONE, RequestState.REFUSED):
            raise FailedPrecondition(
                f"this request is {self.state.value} (closed): no code is needed for it",
                code="REQUEST_CLOSED",
            )
        raise FailedPrecondition("the identity is verified already", code="ALREADY_VERIFIED")

    def code_to_check(self, now: datetime) -> bytes:
        """The digest of the code sent, while a code may be tried. Raises FailedPrecondition."""
        self.require_unverified()
        if self.code_digest is None or self.code_expires_at is None:
            raise FailedPrecondition("no code was sent for this request", code="NO_CODE_SENT")
        if now > self.code_expires_at:
            raise FailedPrecondition(CODE_EXPIRED, code="CODE_EXPIRED")
        if self.code_attempts >= MAX_CODE_ATTEMPTS:
            raise FailedPrecondition(TOO_MANY_CODES, code="TOO_MANY_CODES")
        return self.code_digest

    def attested(self, now: datetime, words: str) -> RightsRequest:
        """Identity confirmed by an operator, in their words (kept until the person is erased,
        never in the audit log: request_log.py)."""
        return self.verified(now, f"{ATTESTED}:{words}")

    def verified(self, now: datetime, method: str) -> RightsRequest:
        """Identity confirmed; the due date stays the one counted from receipt."""
        moved = self._move(RequestState.IDENTITY_VERIFIED, now)
        return replace(
            moved,
            verified_at=now,
            due_at=self.due_at or due_after(self.received_at, 1),
            verification_method=method,
            code_digest=None,
            code_expires_at=None,
        )

    def started(self, now: datetime) -> RightsRequest:
        return self._move(RequestState.IN_PROGRESS, now)

    def done(self, now: datetime, outcome: str) -> RightsRequest:
        """Done. An erase request done erases the person in the same transaction, and the
        operator's words on them go with them (store forget_words): this row, written after,
        kept them (probe DM: an ID card number; DX: a name in the outcome)."""
        done = replace(self._move(RequestState.DONE, now), outcome=outcome)
        return done.without_words() if self.kind is RequestKind.ERASE else done

    @property
    def verified_by(self) -> str:
        """How the identity was verified, by the method's name only (`operator`, never the
        operator's words after it); "" while unverified."""
        return self.verification_method.partition(":")[0]

    def without_words(self) -> RightsRequest:
        """What stays of the request once the person is erased: how the identity was verified
        by the method's name, WORDS_ERASED for an extension's reason and an outcome."""
        return replace(
            self,
            verification_method=self.verified_by,
            extension_reason=WORDS_ERASED if self.extension_reason else "",
            outcome=WORDS_ERASED if self.outcome else "",
        )

    def refused(self, now: datetime, reason: str) -> RightsRequest:
        if not reason.strip():
            raise InvalidInput("reason", "is required to refuse a request")
        return replace(self._move(RequestState.REFUSED, now), outcome=reason, person_told_at=None)

    def told(self, now: datetime) -> RightsRequest:
        """The person told of its extension or refusal, and why, by the operator (a call, a
        letter), now; as it is when they were told already. Raises FailedPrecondition when there
        is nothing to tell."""
        if self.extended_due_at is None and self.state is not RequestState.REFUSED:
            raise FailedPrecondition(
                "the request was neither extended nor refused: there is nothing to tell",
                code="NOTHING_TO_TELL",
            )
        if self.person_told_at is not None:
            return self
        # The row moved: an e-mail telling the same decision, sent before, records nothing over
        # it (store told() guards on updated_at; probe GI: a replica's e-mailed "told" rewrote
        # the time after this one was logged, and verify read the row as tampered).
        return replace(self, person_told_at=now, updated_at=now)

    def extended(
        self, now: datetime, months: int, reason: str, *, told: bool = False
    ) -> RightsRequest:
        """One extension of 1 or 2 months before the first deadline, while the request is
        open: the deadline runs from receipt, so a request whose identity is still being
        verified may need it too. `told`: the operator told the person themselves, now (it
        counts from then: effective_due_at). Raises InvalidInput or FailedPrecondition."""
        if not 1 <= months <= MAX_EXTENSION_MONTHS:
            raise InvalidInput("months", f"must be 1 to {MAX_EXTENSION_MONTHS}")
        if not reason.strip():
            raise InvalidInput("reason", "is required: the person must be told why")
        if self.state not in OPEN_STATES:
            raise FailedPrecondition(
                f"a request that is {self.state.value} cannot be extended",
                code="TRANSITION_NOT_ALLOWED",
            )
        if self.extended_due_at is not None:
            raise FailedPrecondition(
                "the request was extended already: one extension only", code="ALREADY_EXTENDED"
            )
        if self.due_at is None or now > self.due_at:
            raise FailedPrecondition(
                "an extension is only possible before the first due date", code="PAST_DUE"
            )
        return replace(
            self,
            extended_due_at=due_after(self.due_at, months),
            extension_reason=reason,
            updated_at=now,
            person_told_at=now if told else None,
        )
