"""ConsentService messages <-> use-case commands and results."""

from __future__ import annotations

from collections.abc import Sized

from consent.v1 import consent_pb2 as pb

from consentd.api.converters import (
    BASES,
    CHANNELS,
    ROLES,
    SOURCES,
    STATES,
    actor_in,
    current_out,
    enum_in,
    enum_out,
    event_out,
    evidence_in,
    identity_in,
    subject_ref_in,
    target_in,
    target_out,
    time_in,
    time_out,
)
from consentd.app.commands import (
    MAX_CHOICES,
    CheckConsent,
    Choice,
    Evidence,
    ListHistory,
    RecordConsent,
    SubjectSelector,
    WithdrawConsent,
)
from consentd.app.confirmations import Confirmed
from consentd.app.consents import CheckResult, Written
from consentd.app.paging import Page
from consentd.domain.catalog import check_key
from consentd.domain.confirmations import Delivery, check_token
from consentd.domain.errors import InvalidInput
from consentd.domain.model import Channel, ConsentEvent, ConsentState, Decision, Reason, Target

_RECORDABLE = {k: v for k, v in STATES.items() if v in (ConsentState.GRANTED, ConsentState.REFUSED)}
DECISIONS = {pb.DECISION_ALLOW: Decision.ALLOW, pb.DECISION_DENY: Decision.DENY}
REASONS = {getattr(pb, f"REASON_{reason.name}"): reason for reason in Reason}


def _counted(items: Sized, field: str) -> None:
    """Raises InvalidInput unless 1 to MAX_CHOICES items: counted before any is converted (a
    1 MiB list took the event loop for a third of a second before it was refused; probe HB)."""
    if not 1 <= len(items) <= MAX_CHOICES:
        raise InvalidInput(field, f"must hold 1 to {MAX_CHOICES} items")


def _distinct(targets: list[Target], field: str) -> tuple[Target, ...]:
    _counted(targets, field)
    seen: set[Target] = set()
    for index, target in enumerate(targets):
        if target in seen:
            raise InvalidInput(f"{field}[{index}]", "names the same target as an earlier item")
        seen.add(target)
    return tuple(targets)


def _choice(message: pb.ConsentChoice, field: str) -> Choice:
    return Choice(
        target=target_in(message.target, f"{field}.target"),
        state=enum_in(_RECORDABLE, message.state, f"{field}.state"),
        notice_version=message.notice_version or None,
        valid_until=time_in(message.valid_until, f"{field}.valid_until")
        if message.HasField("valid_until")
        else None,
    )


def record_in(request: pb.RecordConsentRequest, phone_region: str) -> RecordConsent:
    _counted(request.choices, "choices")
    choices = [_choice(c, f"choices[{i}]") for i, c in enumerate(request.choices)]
    _distinct([c.target for c in choices], "choices")
    return RecordConsent(
        identifiers=identity_in(request.subject, "subject", phone_region),
        choices=tuple(choices),
        source=enum_in(SOURCES, request.source, "source"),
        actor=actor_in(request.actor),
        evidence=evidence_in(request.evidence, "evidence"),
        processing_role=ROLES.get(request.processing_role),
        recorded_at=time_in(request.decided_at, "decided_at")
        if request.HasField("decided_at")
        else None,
    )


def withdraw_in(request: pb.WithdrawConsentRequest, phone_region: str) -> WithdrawConsent:
    if request.all and request.targets:
        raise InvalidInput("targets", "must be empty when all is set")
    if request.channel and not request.all:  # before the targets: an SMS STOP without all
        raise InvalidInput(  # was told "targets: must hold 1 to 50 items" (probe QC)
            "channel",
            "is only read with all (every purpose on that channel): set all, or name the "
            "targets without it",
        )
    if not request.all:
        _counted(request.targets, "targets")
    targets = [target_in(t, f"targets[{i}]") for i, t in enumerate(request.targets)]
    return WithdrawConsent(
        subject=subject_ref_in(request.subject, "subject", phone_region),
        targets=() if request.all else _distinct(targets, "targets"),
        withdraw_all=request.all,
        source=enum_in(SOURCES, request.source, "source"),
        actor=actor_in(request.actor),
        evidence=evidence_in(request.evidence, "evidence"),
        channel=enum_in(CHANNELS, request.channel, "channel") if request.channel else Channel.ALL,
    )


def record_out(written: Written) -> pb.RecordConsentResponse:
    return pb.RecordConsentResponse(
        subject_id=str(written.subject_id) if written.subject_id else "",
        events=[event_out(e) for e in written.events],
        superseded=[target_out(t) for t in written.superseded],
        not_asked_again=[target_out(t) for t in written.not_asked_again],
        confirmation=(
            _DELIVERIES[written.confirmation]
            if written.confirmation
            else pb.CONFIRMATION_DELIVERY_UNSPECIFIED
        ),
    )


_DELIVERIES = {
    Delivery.SENT: pb.CONFIRMATION_DELIVERY_SENT,
    Delivery.NOT_SENT: pb.CONFIRMATION_DELIVERY_NOT_SENT,
    Delivery.LOGGED_ONLY: pb.CONFIRMATION_DELIVERY_LOGGED_ONLY,
}


def withdraw_out(written: Written) -> pb.WithdrawConsentResponse:
    events = [event_out(e) for e in written.events]
    return pb.WithdrawConsentResponse(subject_id=str(written.subject_id), events=events)


def check_in(request: pb.CheckConsentRequest, phone_region: str) -> CheckConsent:
    return CheckConsent(
        subject=subject_ref_in(request.subject, "subject", phone_region),
        target=target_in(request.target, "target"),
        as_of=time_in(request.as_of, "as_of") if request.HasField("as_of") else None,
    )


def check_out(result: CheckResult) -> pb.CheckConsentResponse:
    verdict = result.verdict
    return pb.CheckConsentResponse(
        decision=enum_out(DECISIONS, verdict.decision),
        reason=enum_out(REASONS, verdict.reason),
        event_id=str(verdict.event_id) if verdict.event_id else "",
        valid_until=time_out(verdict.valid_until),
        subject_id=str(result.subject_id) if result.subject_id else "",
        lawful_basis=enum_out(BASES, result.lawful_basis),
    )


def subject_in(request: pb.GetSubjectConsentsRequest, phone_region: str) -> SubjectSelector:
    return subject_ref_in(request.subject, "subject", phone_region)


def consents_out(
    subject_id: object, events: list[ConsentEvent], answers: list[CheckResult | None]
) -> pb.GetSubjectConsentsResponse:
    decisions = [
        pb.TargetDecision(
            decision=enum_out(DECISIONS, r.verdict.decision),
            reason=enum_out(REASONS, r.verdict.reason),
        )
        if r is not None
        else pb.TargetDecision()
        for r in answers
    ]
    return pb.GetSubjectConsentsResponse(
        subject_id=str(subject_id) if subject_id else "",
        consents=[current_out(e) for e in events],
        decisions=decisions,
    )


def history_in(request: pb.ListConsentHistoryRequest, phone_region: str) -> ListHistory:
    return ListHistory(
        subject=subject_ref_in(request.subject, "subject", phone_region),
        page_size=request.page_size,
        page_token=request.page_token,
        purpose=check_key("purpose", request.purpose) if request.purpose else None,
    )


def history_out(page: Page[ConsentEvent]) -> pb.ListConsentHistoryResponse:
    return pb.ListConsentHistoryResponse(
        events=[event_out(e) for e in page.items], next_page_token=page.next_page_token
    )


def confirm_in(request: pb.ConfirmConsentRequest) -> tuple[str, Evidence]:
    return check_token(request.token), evidence_in(request.evidence, "evidence")


def confirm_out(confirmed: Confirmed) -> pb.ConfirmConsentResponse:
    return pb.ConfirmConsentResponse(
        subject_id=str(confirmed.subject_id),
        events=[event_out(e) for e in confirmed.events],
        confirmed_at=time_out(confirmed.confirmed_at),
        channel=enum_out(CHANNELS, confirmed.channel),
    )
