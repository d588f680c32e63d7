"""Shared proto <-> domain conversions: enums, targets, subjects, timestamps.

Every conversion validates, raising InvalidInput that names the request field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from consent.v1 import types_pb2 as pb
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from consentd.api.enum_names import wire_names
from consentd.app.commands import Evidence, SubjectSelector
from consentd.domain.canonical import EARLIEST, LATEST
from consentd.domain.catalog import check_ip_address, check_key, check_text
from consentd.domain.errors import InvalidInput
from consentd.domain.free_text import actor_text, without_contacts
from consentd.domain.identifiers import Identifier, normalise
from consentd.domain.model import (
    Channel,
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    PartyScope,
    ProcessingRole,
    Source,
    Target,
)
from consentd.domain.uuids import uuid_in

E = TypeVar("E", bound=Enum)

# SubjectIdentity's fields, in the order their errors are named.
IDENTITY_FIELDS = ("external_id", "email", "phone", "cal_id")

CHANNELS = {
    pb.CHANNEL_EMAIL: Channel.EMAIL,
    pb.CHANNEL_SMS: Channel.SMS,
    pb.CHANNEL_VOICE_CALL: Channel.VOICE_CALL,
    pb.CHANNEL_CHAT: Channel.CHAT,
    pb.CHANNEL_SOCIAL: Channel.SOCIAL,
    pb.CHANNEL_POSTAL: Channel.POSTAL,
    pb.CHANNEL_PUSH: Channel.PUSH,
}
SCOPES = {
    pb.PARTY_SCOPE_FIRST_PARTY: PartyScope.FIRST_PARTY,
    pb.PARTY_SCOPE_PARTNERS: PartyScope.PARTNERS,
}
STATES = {
    pb.CONSENT_STATE_GRANTED: ConsentState.GRANTED,
    pb.CONSENT_STATE_REFUSED: ConsentState.REFUSED,
    pb.CONSENT_STATE_WITHDRAWN: ConsentState.WITHDRAWN,
    pb.CONSENT_STATE_EXPIRED: ConsentState.EXPIRED,
    pb.CONSENT_STATE_ERASED: ConsentState.ERASED,
    pb.CONSENT_STATE_PENDING: ConsentState.PENDING,
}
BASES = {
    pb.LAWFUL_BASIS_CONSENT: LawfulBasis.CONSENT,
    pb.LAWFUL_BASIS_LEGITIMATE_INTEREST: LawfulBasis.LEGITIMATE_INTEREST,
}
SOURCES = {
    pb.SOURCE_PORTAL: Source.PORTAL,
    pb.SOURCE_BANNER: Source.BANNER,
    pb.SOURCE_API: Source.API,
    pb.SOURCE_IMPORT: Source.IMPORT,
    pb.SOURCE_SUPPORT: Source.SUPPORT,
}
ROLES = {
    pb.PROCESSING_ROLE_CONTROLLER: ProcessingRole.CONTROLLER,
    pb.PROCESSING_ROLE_PROCESSOR: ProcessingRole.PROCESSOR,
}
MAX_REFERENCE = 512
MAX_EVIDENCE = 1024


def enum_in(table: Mapping[Any, E], value: int, field: str) -> E:
    """The domain value of a proto enum; raises InvalidInput when unspecified or unknown."""
    if value not in table:
        # A value given but not taken here is not "required" (probe DU).
        what = "is required and must be" if not value else "must be"
        raise InvalidInput(field, f"{what} one of: {wire_names(table)}")
    return table[value]


# Reverse tables, built on first use per table: enum_out runs several times per answer.
_REVERSED: dict[int, dict[Any, Any]] = {}


def enum_out(table: Mapping[Any, E], value: E) -> Any:
    reverse = _REVERSED.get(id(table))
    if reverse is None:
        reverse = _REVERSED[id(table)] = {member: number for number, member in table.items()}
    return reverse[value]


# Targets already read, by their wire values: a campaign checks one target over and over, and
# the same object lets the check coalescer compare its keys by identity.
_TARGETS: dict[tuple[str, int, int], Target] = {}
_MAX_TARGETS = 10_000


def target_in(message: pb.ConsentTarget, field: str) -> Target:
    wire = (message.purpose, message.channel, message.scope)
    target = _TARGETS.get(wire)
    if target is None:
        if wire == ("", 0, 0):  # not "target.purpose: must be 1 to 64 characters" (probe QC)
            raise InvalidInput(field, "is required: set its purpose, channel and scope")
        target = Target(
            check_key(f"{field}.purpose", message.purpose),
            enum_in(CHANNELS, message.channel, f"{field}.channel"),
            enum_in(SCOPES, message.scope, f"{field}.scope"),
        )
        if len(_TARGETS) >= _MAX_TARGETS:
            _TARGETS.clear()
        _TARGETS[wire] = target
    return target


def target_out(target: Target) -> pb.ConsentTarget:
    if target.is_all:
        # Every purpose: on every channel (an empty target), or on the one it names.
        if target.channel is Channel.ALL:
            return pb.ConsentTarget()
        return pb.ConsentTarget(channel=enum_out(CHANNELS, target.channel))
    return pb.ConsentTarget(
        purpose=target.purpose,
        channel=enum_out(CHANNELS, target.channel),
        scope=enum_out(SCOPES, target.scope),
    )


def subject_ref_in(message: pb.SubjectRef, field: str, phone_region: str) -> SubjectSelector:
    """A subject id (UUID) or one normalised identifier."""
    which = message.WhichOneof("ref")
    if which is None:
        raise InvalidInput(
            field, "is required: set one of subject_id, external_id, email, phone, cal_id"
        )
    value = getattr(message, which)
    inner = f"{field}.{which}"
    if which == "subject_id":
        try:
            return uuid_in(value)
        except ValueError:
            raise InvalidInput(inner, "must be a UUID issued by consentd") from None
    return normalise(which, value, phone_region, inner)


def identity_in(
    message: pb.SubjectIdentity, field: str, phone_region: str
) -> tuple[Identifier, ...]:
    """Every identifier given; at least one is required."""
    found = tuple(
        normalise(kind, getattr(message, kind), phone_region, f"{field}.{kind}")
        for kind in IDENTITY_FIELDS
        if getattr(message, kind)
    )
    if not found:
        raise InvalidInput(
            field, "is required: set at least one of external_id, email, phone, cal_id"
        )
    return found


def required_in(message: Message, field: str, why: str) -> None:
    """Raises InvalidInput when `message` does not carry its sub-message `field`: a request
    whose zero value would silently reset what is stored (a put that replaces everything)."""
    if not message.HasField(field):
        raise InvalidInput(field, f"is required: {why}")


def evidence_in(message: pb.Evidence, field: str) -> Evidence:
    """The evidence as given; an IP address, when given, must be one (kept in its canonical
    form). Raises InvalidInput naming the field."""
    ip_address = check_text(f"{field}.ip_address", message.ip_address, 64)
    return Evidence(
        ip_address=str(check_ip_address(f"{field}.ip_address", ip_address)) if ip_address else "",
        # One line, no bidi or zero-width characters: shown as proof as they are stored.
        user_agent=check_text(
            f"{field}.user_agent", message.user_agent, MAX_EVIDENCE, one_line=True
        ),
        # Any e-mail address or phone number replaced by a marker: it outlives an erasure, on
        # the history and the change feed (a phone number stayed in clear; probe T).
        reference=without_contacts(
            check_text(f"{field}.reference", message.reference, MAX_REFERENCE, one_line=True)
        ),
    )


def actor_in(value: str, field: str = "actor") -> str:
    """Who did it: one line, contact points replaced by markers (free_text.actor_text)."""
    return actor_text(value, field)


def time_in(message: Timestamp, field: str) -> datetime:
    try:
        moment = message.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(field, "is not a valid timestamp") from None
    if moment < EARLIEST:
        raise InvalidInput(field, "must not be before 1970-01-01T00:00:00Z")
    if moment > LATEST:
        raise InvalidInput(field, "must not be after 9999-12-31T23:59:59Z")
    return moment


def time_out(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def event_out(event: ConsentEvent) -> pb.ConsentEvent:
    out = _event_out(event)
    if event.attested is not None:
        out.attested = event.attested
    if event.decided_at is not None:
        out.decided_at.FromDatetime(event.decided_at)
    return out


def _event_out(event: ConsentEvent) -> pb.ConsentEvent:
    return pb.ConsentEvent(
        event_id=str(event.event_id),
        subject_id=str(event.subject_id),
        target=target_out(event.target),
        state=enum_out(STATES, event.state),
        notice_id=event.notice_id or "",
        notice_version=event.notice_version or 0,
        source=enum_out(SOURCES, event.source),
        actor=event.actor,
        processing_role=enum_out(ROLES, event.processing_role),
        recorded_at=time_out(event.recorded_at),
        valid_until=time_out(event.valid_until),
        evidence_reference=event.evidence_reference,
        applies_to_all=event.target.is_all,
    )


def current_out(event: ConsentEvent) -> pb.CurrentConsent:
    return pb.CurrentConsent(
        target=target_out(event.target),
        state=enum_out(STATES, event.state),
        event_id=str(event.event_id),
        notice_id=event.notice_id or "",
        notice_version=event.notice_version or 0,
        updated_at=time_out(event.recorded_at),
        valid_until=time_out(event.valid_until),
        applies_to_all=event.target.is_all,
    )
