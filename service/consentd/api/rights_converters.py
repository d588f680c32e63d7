"""RightsService messages <-> use-case inputs and results."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from consent.v1 import rights_pb2 as pb

from consentd.api.converters import enum_in, enum_out, time_out
from consentd.app.erasure import Erasure
from consentd.app.requests import Submitted
from consentd.app.subject_export import EXPORT_SCHEMA
from consentd.domain.catalog import check_text
from consentd.domain.errors import InvalidInput
from consentd.domain.free_text import without_contacts
from consentd.domain.identifiers import Identifier, IdentifierKind, normalise
from consentd.domain.rights import RequestKind, RequestState, RightsRequest
from consentd.domain.uuids import uuid_in

KINDS = {
    pb.RIGHTS_REQUEST_KIND_ACCESS: RequestKind.ACCESS,
    pb.RIGHTS_REQUEST_KIND_RECTIFY: RequestKind.RECTIFY,
    pb.RIGHTS_REQUEST_KIND_ERASE: RequestKind.ERASE,
    pb.RIGHTS_REQUEST_KIND_RESTRICT: RequestKind.RESTRICT,
    pb.RIGHTS_REQUEST_KIND_OBJECT: RequestKind.OBJECT,
    pb.RIGHTS_REQUEST_KIND_PORT: RequestKind.PORT,
}
STATES = {
    pb.RIGHTS_REQUEST_STATE_RECEIVED: RequestState.RECEIVED,
    pb.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED: RequestState.IDENTITY_VERIFIED,
    pb.RIGHTS_REQUEST_STATE_IN_PROGRESS: RequestState.IN_PROGRESS,
    pb.RIGHTS_REQUEST_STATE_DONE: RequestState.DONE,
    pb.RIGHTS_REQUEST_STATE_REFUSED: RequestState.REFUSED,
}
CONTACTS = {
    pb.CONTACT_KIND_EMAIL: IdentifierKind.EMAIL,
    pb.CONTACT_KIND_PHONE: IdentifierKind.PHONE,
    pb.CONTACT_KIND_EXTERNAL_ID: IdentifierKind.EXTERNAL_ID,
    pb.CONTACT_KIND_CAL_ID: IdentifierKind.CAL_ID,
}
# A one-time code goes to an address or a number, never to an id.
CODE_CONTACTS = {
    k: v for k, v in CONTACTS.items() if v in (IdentifierKind.EMAIL, IdentifierKind.PHONE)
}


def request_id_in(value: str, field: str = "request_id") -> UUID:
    try:
        return uuid_in(value)
    except ValueError:
        raise InvalidInput(field, "must be a request id (a UUID) issued by consentd") from None


def contact_in(message: pb.RectifyContactRequest, phone_region: str) -> Identifier | IdentifierKind:
    """The corrected value, or the kind alone to remove. Raises InvalidInput."""
    kind = enum_in(CONTACTS, message.kind, "kind")
    if not message.remove:
        return normalise(kind.value, message.value, phone_region, "value")
    if message.value:
        raise InvalidInput("value", "must be empty with remove (nothing takes its place)")
    return kind


def code_contact_in(value: int, field: str) -> IdentifierKind | None:
    """EMAIL or PHONE; None when unspecified."""
    if value == pb.CONTACT_KIND_UNSPECIFIED:
        return None
    return enum_in(CODE_CONTACTS, value, field)


def text_in(field: str, value: str, *, required: bool = False) -> str:
    """A reason or outcome: any e-mail address or phone number in it replaced by a marker (a
    request and its audit entries outlive the erasure of the person)."""
    return without_contacts(check_text(field, value, required=required))


def export_out(document: dict[str, Any]) -> pb.ExportSubjectResponse:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2)
    return pb.ExportSubjectResponse(schema=EXPORT_SCHEMA, document_json=text)


def erasure_out(erasure: Erasure) -> pb.EraseSubjectResponse:
    return pb.EraseSubjectResponse(
        subject_id=str(erasure.subject_id) if erasure.subject_id else "",
        erased_at=time_out(erasure.erased_at),
        identifiers_suppressed=erasure.identifiers_suppressed,
        events_appended=erasure.events_appended,
    )


def request_out(request: RightsRequest, now: datetime) -> pb.RightsRequest:
    return pb.RightsRequest(
        request_id=str(request.request_id),
        subject_id=str(request.subject_id),
        kind=enum_out(KINDS, request.kind),
        state=enum_out(STATES, request.state),
        received_at=time_out(request.received_at),
        identity_verified_at=time_out(request.verified_at),
        due_at=time_out(request.due_at),
        extended_due_at=time_out(request.extended_due_at),
        extension_reason=request.extension_reason,
        closed_at=time_out(request.closed_at),
        outcome=request.outcome,
        verification_method=request.verification_method,
        overdue=request.is_overdue(now),
        closed_late=request.closed_late,
        updated_at=time_out(request.updated_at),
        person_told_at=time_out(request.person_told_at),
    )


def submitted_out(submitted: Submitted, now: datetime) -> pb.SubmitRightsRequestResponse:
    return pb.SubmitRightsRequestResponse(
        request=request_out(submitted.request, now), code_sent=submitted.code_sent
    )
