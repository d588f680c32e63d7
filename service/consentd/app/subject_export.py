"""The export of a subject (access, portability): everything held about it, read in the
rights use case's unit of work, then laid out as a JSON-ready document of schema
`consentd.subject-export/1` (docs/subject-export.md), section by section. Sealed values are in
clear while the subject's key exists, None once it is destroyed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from consentd.app.evidence import open_evidence
from consentd.app.ports import UnitOfWork
from consentd.domain.canonical import stamp, stamp_or_none
from consentd.domain.model import ConsentEvent
from consentd.domain.rights import BlockRecord, ContactChange, RightsRequest, StoredIdentifier
from consentd.domain.sealing import SubjectKey
from consentd.domain.tenancy import Principal

EXPORT_SCHEMA = "consentd.subject-export/1"


class ExportSection(Protocol):
    """More of a subject's data for its export (issue #3 registers `cookie_choices`)."""

    async def export(self, uow: UnitOfWork, subject_id: UUID) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class SubjectRecords:
    """What is held about a subject, as read for its export; `sections` by section name."""

    identifiers: list[StoredIdentifier]
    contacts: list[ContactChange]
    current: list[ConsentEvent]
    events: list[ConsentEvent]
    blocks: list[BlockRecord]
    requests: list[RightsRequest]
    created_at: datetime | None
    erased_at: datetime | None
    sections: dict[str, list[dict[str, Any]]]


async def read_records(
    uow: UnitOfWork, subject_id: UUID, sections: Mapping[str, ExportSection]
) -> SubjectRecords:
    """Everything the export lays out, read in the caller's unit of work."""
    return SubjectRecords(
        identifiers=await uow.rights.identifiers(subject_id),
        contacts=await uow.rights.contact_history(subject_id),
        current=await uow.consents.current(subject_id),
        events=await uow.consents.all_events(subject_id),
        blocks=await uow.rights.block_history(subject_id),
        requests=await uow.requests.of_subject(subject_id),
        created_at=await uow.rights.subject_created_at(subject_id),
        erased_at=await uow.rights.erased_at(subject_id),
        sections={name: await s.export(uow, subject_id) for name, s in sections.items()},
    )


def export_document(
    principal: Principal,
    now: datetime,
    subject_id: UUID,
    key: SubjectKey | None,
    records: SubjectRecords,
) -> dict[str, Any]:
    """The export document (`key`: the subject's, None once destroyed)."""
    return {
        "schema": EXPORT_SCHEMA,
        "exported_at": stamp(now),
        "tenant": principal.tenant.slug,
        "controller_or_processor": principal.tenant.processing_role.value,
        "subject": {
            "subject_id": str(subject_id),
            "created_at": stamp_or_none(records.created_at),
            "erased_at": stamp_or_none(records.erased_at),
        },
        "identity": [_identity(i, key) for i in records.identifiers],
        "contact_history": [_contact_change(c, key) for c in records.contacts],
        "current_consents": [_event(e, key) for e in records.current],
        "consent_history": [_event(e, key) for e in records.events],
        "processing_blocks": [_block(b) for b in records.blocks],
        "rights_requests": [_request(r) for r in records.requests],
        **records.sections,
    }


def _identity(identifier: StoredIdentifier, key: SubjectKey | None) -> dict[str, Any]:
    return {
        "kind": identifier.kind.value,
        "value": _open(key, identifier.kind.value, identifier.sealed_value),
        "linked_at": stamp(identifier.created_at),
    }


def _contact_change(change: ContactChange, key: SubjectKey | None) -> dict[str, Any]:
    return {
        "kind": change.kind.value,
        "action": change.action,
        "value": _open(key, change.kind.value, change.sealed_value),
        "changed_at": stamp(change.changed_at),
        "actor": change.actor,
    }


def _event(event: ConsentEvent, key: SubjectKey | None) -> dict[str, Any]:
    return {
        "event_id": str(event.event_id),
        "sequence": event.sequence,
        "purpose": event.target.purpose,
        "channel": event.target.channel.value,
        "scope": event.target.scope.value,
        "applies_to_all": event.target.is_all,
        "state": event.state.value,
        "notice_id": event.notice_id,
        "notice_version": event.notice_version,
        "source": event.source.value,
        "actor": event.actor,
        # Whether the caller spoke for the person: kept for grants and refusals since migration
        # 0033; null for withdrawals, import rows and older events (docs/subject-export.md).
        "attested": event.attested,
        "processing_role": event.processing_role.value,
        "recorded_at": stamp(event.recorded_at),
        # When the person decided, for a record sent later with its decided_at (migration
        # 0040); null: as recorded.
        "decided_at": stamp_or_none(event.decided_at),
        "valid_until": stamp_or_none(event.valid_until),
        "evidence": {"reference": event.evidence_reference, **_sealed(key, event)},
    }


def _sealed(key: SubjectKey | None, event: ConsentEvent) -> dict[str, str | None]:
    """The IP address and user agent: "" when none was given (a withdrawal's, an import row's:
    the keys were left out, probe WA), null once the person's key is destroyed."""
    if key is None:
        return {"ip_address": None, "user_agent": None}
    return {"ip_address": "", "user_agent": "", **(open_evidence(key, event.evidence_sealed) or {})}


def _block(block: BlockRecord) -> dict[str, Any]:
    return {
        "kind": block.kind.value,
        "since": stamp(block.since),
        "lifted_at": stamp_or_none(block.lifted_at),
        "request_id": str(block.request_id) if block.request_id else None,
    }


def _request(request: RightsRequest) -> dict[str, Any]:
    return {
        "request_id": str(request.request_id),
        "kind": request.kind.value,
        "state": request.state.value,
        "received_at": stamp(request.received_at),
        "identity_verified_at": stamp_or_none(request.verified_at),
        # How, by its method's name (a code, an operator): probe DX found the facts below
        # held on the request and left out of the person's copy.
        "identity_verified_by": request.verified_by or None,
        "due_at": stamp_or_none(request.effective_due_at),
        "first_due_at": stamp_or_none(request.due_at),
        "extension_reason": request.extension_reason or None,
        "person_told_of_extension_at": stamp_or_none(request.person_told_at),
        "closed_at": stamp_or_none(request.closed_at),
        "closed_late": request.closed_late,
        "outcome": request.outcome or None,
    }


def _open(key: SubjectKey | None, label: str, sealed: bytes | None) -> str | None:
    """A sealed value in clear; None when it was never sealed or the key is destroyed."""
    if key is None or sealed is None:
        return None
    return key.open(label, sealed)
