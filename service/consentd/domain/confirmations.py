"""Double opt-in: a grant on a purpose that requires confirmation is recorded pending, and only
the person's confirmation, with the single-use token sent to their contact point, makes it a
grant. Plain Python: tokens, their digests and the rules of a confirmation."""

from __future__ import annotations

import base64
import enum
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.model import Channel, ConsentEvent, ConsentState, Purpose

# How long a pending grant waits for its confirmation, unless configured otherwise.
DEFAULT_PENDING_DAYS = 7
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
MAX_TOKEN = 128
_TOKEN_BYTES = 32
# Where a confirming page's URL (CONSENTD_CONFIRM_URL) takes the token, and the tenant's id
# (consentd's own page: /confirm/{tenant}/{token}).
TOKEN_PLACEHOLDER = "{token}"  # noqa: S105 - a place in a URL, not a secret
TENANT_PLACEHOLDER = "{tenant}"
# What new_token() makes (URL-safe base64, no padding): anything else is no token of ours.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def new_token() -> str:
    """A 256-bit random token, URL-safe (it travels in a link)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_TOKEN_BYTES)).rstrip(b"=").decode()


def confirm_link(template: str, tenant_id: UUID, token: str) -> str:
    """The link a message carries (empty: none, the token is typed in)."""
    if not template:
        return ""
    return template.replace(TENANT_PLACEHOLDER, str(tenant_id)).replace(TOKEN_PLACEHOLDER, token)


def check_token(token: str, field: str = "token") -> str:
    """A confirmation token as its link carries it: 1 to 128 of `A-Z a-z 0-9 _ -`. Raises
    InvalidInput for anything else (a malformed token is the caller's error, not an unknown
    one)."""
    shape = f"the token of a confirmation link, 1 to {MAX_TOKEN} characters of A-Z a-z 0-9 _ -"
    if not token:
        raise InvalidInput(field, f"is required: {shape}")
    if len(token) > MAX_TOKEN or not set(token) <= _TOKEN_CHARS:
        raise InvalidInput(field, f"is not {shape} (copy the whole link's token, nothing else)")
    return token


def token_digest(token: str) -> bytes:
    """What is stored: SHA-256 of the token (a random secret needs no key nor stretching).
    Raises InvalidInput when it is not a token (check_token)."""
    return hashlib.sha256(check_token(token).encode()).digest()


def pending_until(now: datetime, days: int = DEFAULT_PENDING_DAYS) -> datetime:
    return now + timedelta(days=days)


def language_of(notice_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The message's language: the notice's when it is one of ours, `default` otherwise (the
    service's CONSENTD_NOTIFY_LANGUAGE: it was French whatever that said)."""
    base = (notice_language or "").split("-", 1)[0].lower()
    return base if base in LANGUAGES else default


@dataclass(frozen=True, slots=True)
class Confirmation:
    """One confirmation message: which pending events it confirms, where it went, until when."""

    confirmation_id: UUID
    subject_id: UUID
    channel: Channel
    language: str
    event_ids: tuple[UUID, ...]
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None = None
    # The end of validity asked for each grant, in the order of event_ids (None: none asked;
    # empty: a confirmation stored before they were kept).
    grant_until: tuple[datetime | None, ...] = ()
    # The keyed digest of the address it went to (None: sent before migration 0044 kept it).
    address_digest: bytes | None = None
    # Whether that address was the person's before the ask (app/confirmation_rules.py
    # address_proven; None: asked before migration 0046): only then is its confirmation their
    # own word, lifting their "no".
    address_proven: bool | None = None

    def check_usable(self, now: datetime) -> None:
        """Raises FailedPrecondition when already used or past its time."""
        if self.confirmed_at is not None:
            raise FailedPrecondition(
                "this confirmation link was already used", code="CONFIRMATION_USED"
            )
        if now >= self.expires_at:
            raise FailedPrecondition(
                "this confirmation link has expired: the grant lapsed, give it again",
                code="CONFIRMATION_EXPIRED",
            )


def unknown_token() -> NotFound:
    return NotFound("no confirmation has this token in this tenant")


class Delivery(enum.StrEnum):
    """What became of a confirmation message (RecordConsentResponse.confirmation)."""

    SENT = "sent"  # handed to the relay
    NOT_SENT = "not_sent"  # the relay refused it or could not be reached
    LOGGED_ONLY = "logged_only"  # no relay: only written to the log


def pend(
    events: Sequence[ConsentEvent],
    purposes: Mapping[str, Purpose],
    now: datetime,
    days: int = DEFAULT_PENDING_DAYS,
) -> list[ConsentEvent]:
    """The events, with each grant on a purpose that requires confirmation made pending until
    `now` + `days` (its valid_until: past it, the check answers DENY `expired`)."""
    if not any(purposes[e.target.purpose].requires_confirmation for e in events):
        return list(events)
    until = pending_until(now, days)
    return [
        replace(e, state=ConsentState.PENDING, valid_until=until)
        if e.state is ConsentState.GRANTED and purposes[e.target.purpose].requires_confirmation
        else e
        for e in events
    ]
