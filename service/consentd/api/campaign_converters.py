"""CampaignService messages <-> use-case inputs and results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from consent.v1 import campaign_pb2 as pb
from consent.v1 import types_pb2

from consentd.api.consent_converters import DECISIONS, REASONS
from consentd.api.converters import (
    BASES,
    STATES,
    enum_out,
    event_out,
    subject_ref_in,
    target_in,
    target_out,
    time_in,
    time_out,
)
from consentd.app.campaign import MAX_BATCH, AnswerChunk, Hashed, Recipient
from consentd.app.checks import Decided
from consentd.app.feed import ChangePage
from consentd.app.ports import ConsentTally, FeedChange
from consentd.app.suppressions import Suppressed
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import Identifier, normalise, normalise_email
from consentd.domain.model import Target
from consentd.domain.rights import BlockKind

# Reverse maps, built once: these run for every recipient of a list.
_DECISION = {member: number for number, member in DECISIONS.items()}
_REASON = {member: number for number, member in REASONS.items()}
_BASIS = {member: number for number, member in BASES.items()}
_HASHABLE = ("email", "phone")


def recipients_in(
    messages: Sequence[types_pb2.SubjectRef], field: str, phone_region: str, start: int = 0
) -> list[Recipient]:
    """Each recipient as a selector, or the InvalidInput that names what is wrong with it,
    numbered from `start` (a stream's recipients are numbered across its messages, as its
    answers' `index` is)."""
    if len(messages) > MAX_BATCH:
        raise InvalidInput(
            field,
            f"must hold at most {MAX_BATCH} recipients in one message: a longer list goes in "
            "several calls, or in several messages of StreamCheckConsent",
        )
    found: list[Recipient] = []
    for index, message in enumerate(messages, start=start):
        try:
            # E-mails first and without building field names: the common case of a campaign.
            if message.WhichOneof("ref") == "email":
                found.append(normalise_email(message.email))
            else:
                found.append(subject_ref_in(message, f"{field}[{index}]", phone_region))
        except InvalidInput as error:
            found.append(_renamed(kept(error), f"{field}[{index}]"))
    return found


def kept(error: InvalidInput) -> InvalidInput:
    """`error` without its traceback, to be kept as a value: its frames hold the list it goes
    into and the value refused (a multi-MB string), a cycle only a full collection frees
    (probe AN: 3 GB after 20 s of refused 3 MB phone numbers)."""
    return error.with_traceback(None)


def _renamed(error: InvalidInput, field: str) -> InvalidInput:
    """The error with its field under `field` (e.g. `email` -> `recipients[3].email`)."""
    if error.field.startswith(field):
        return error
    return InvalidInput(f"{field}.{error.field}", error.reason)


def _as_of(message: pb.BatchCheckConsentRequest | pb.StreamCheckConsentRequest) -> datetime | None:
    return time_in(message.as_of, "as_of") if message.HasField("as_of") else None


def batch_in(
    request: pb.BatchCheckConsentRequest, phone_region: str
) -> tuple[Target, datetime | None, list[Recipient]]:
    return (
        target_in(request.target, "target"),
        _as_of(request),
        recipients_in(request.recipients, "recipients", phone_region),
    )


def stream_start(request: pb.StreamCheckConsentRequest) -> tuple[Target, datetime | None]:
    """The campaign named by the first message of a stream."""
    if not request.HasField("target"):
        raise InvalidInput("target", "is required in the first message of the stream")
    return target_in(request.target, "target"), _as_of(request)


async def stream_chunks(
    first: pb.StreamCheckConsentRequest,
    rest: AsyncIterator[pb.StreamCheckConsentRequest],
    phone_region: str,
) -> AsyncIterator[list[Recipient]]:
    """The recipients of every message, one list per message. Raises InvalidInput for a later
    message that names a target or as_of, or for a message with too many recipients."""
    yield recipients_in(first.recipients, "recipients", phone_region)
    seen = len(first.recipients)
    async for message in rest:
        if message.HasField("target"):
            raise InvalidInput("target", "only the first message of the stream names the target")
        if message.HasField("as_of"):
            raise InvalidInput("as_of", "only the first message of the stream names the moment")
        for links in ("unsubscribe_links", "preference_links"):
            if getattr(message, links):
                raise InvalidInput(links, "only the first message of the stream asks for the links")
        yield recipients_in(message.recipients, "recipients", phone_region, seen)
        seen += len(message.recipients)


def _fill(answers: Any, first_index: int, decided: Decided) -> None:
    """Append one CheckAnswer per answer to the repeated field `answers`, set field by field on
    the added message: a third of what building each message from keywords costs, for every
    recipient of a campaign."""
    add = answers.add
    for index, answer in enumerate(decided.answers, start=first_index):
        out = add()
        out.index = index
        if isinstance(answer, InvalidInput):
            out.error.field = answer.field
            out.error.message = answer.reason
            continue
        verdict = answer.verdict
        out.decision = _DECISION[verdict.decision]
        out.reason = _REASON[verdict.reason]
        if verdict.event_id:
            out.event_id = str(verdict.event_id)
        if verdict.valid_until is not None:
            out.valid_until.FromDatetime(verdict.valid_until)
        if answer.subject_id:
            out.subject_id = str(answer.subject_id)


def batch_out(decided: Decided) -> pb.BatchCheckConsentResponse:
    response = pb.BatchCheckConsentResponse(lawful_basis=_BASIS[decided.lawful_basis])
    _fill(response.answers, 0, decided)
    return response


def stream_out(chunk: AnswerChunk) -> pb.StreamCheckConsentResponse:
    response = pb.StreamCheckConsentResponse(lawful_basis=_BASIS[chunk.decided.lawful_basis])
    _fill(response.answers, chunk.first_index, chunk.decided)
    return response


# The channels whose contact points a suppression list names (app/suppressions.py).
_LISTED = (types_pb2.CHANNEL_EMAIL, types_pb2.CHANNEL_SMS, types_pb2.CHANNEL_VOICE_CALL)


def suppression_in(request: pb.ExportSuppressionListRequest) -> Target:
    """The list's target; its channel one with contact points (an unset one was told every
    channel was allowed, then CHAT refused; probe ZB)."""
    if request.target.channel not in _LISTED:
        reason = "is required and must be CHANNEL_EMAIL, CHANNEL_SMS or CHANNEL_VOICE_CALL"
        raise InvalidInput("target.channel", f"{reason}: no other has a contact point")
    return target_in(request.target, "target")


_BLOCK_KINDS = {
    BlockKind.OBJECTED: pb.BLOCK_KIND_OBJECTION,
    BlockKind.RESTRICTED: pb.BLOCK_KIND_RESTRICTION,
}


def changes_out(page: ChangePage, provenance: bool) -> pb.WatchConsentChangesResponse:
    """The page's changes; without `provenance`, events leave out their free text (actor,
    evidence reference): what ListConsentHistory would show only to the callers it admits."""
    return pb.WatchConsentChangesResponse(
        changes=[_change_out(c, provenance) for c in page.changes], cursor=page.cursor
    )


def _change_out(change: FeedChange, provenance: bool) -> pb.ConsentChange:
    if change.event is not None:
        event = event_out(change.event)
        if not provenance:
            event.ClearField("actor")
            event.ClearField("evidence_reference")
        return pb.ConsentChange(
            position=change.position, event=event, external_id=_external(change, provenance)
        )
    b = change.block
    assert b is not None  # the store sets exactly one
    block = pb.BlockChange(
        block_id=str(b.block_id),
        subject_id=str(b.subject_id),
        kind=_BLOCK_KINDS[b.kind],
        lifted=b.lifted,
        at=time_out(b.at),
    )
    return pb.ConsentChange(
        position=change.position, block=block, external_id=_external(change, provenance)
    )


def _external(change: FeedChange, provenance: bool) -> str:
    """The subject's external id, for the callers that may read its history (a consent:check
    key of a campaign tool gets subject ids only: it could list every customer's CRM key)."""
    return change.external_id if provenance else ""


def suppression_out(page: list[Suppressed], token: str) -> pb.ExportSuppressionListResponse:
    entries = [
        pb.SuppressionEntry(
            digest=s.digest,
            kind=s.kind.value,
            subject_id=str(s.subject_id) if s.subject_id else "",
            reason=_REASON[s.reason],
            event_id=str(s.event_id) if s.event_id else "",
            since=time_out(s.since),
        )
        for s in page
    ]
    return pb.ExportSuppressionListResponse(entries=entries, resume_token=token)


def contact_points_in(
    request: pb.HashContactPointsRequest, phone_region: str
) -> list[Identifier | InvalidInput]:
    """Each contact point normalised, or the InvalidInput that says what is wrong with it.
    The list is counted first: 65,000 phone numbers were each parsed before the refusal, and
    four such calls held the event loop 22 s (probe HB)."""
    if not 1 <= len(request.contact_points) <= MAX_BATCH:
        raise InvalidInput("contact_points", f"must hold 1 to {MAX_BATCH} items")
    found: list[Identifier | InvalidInput] = []
    for index, message in enumerate(request.contact_points):
        field = f"contact_points[{index}]"
        which = message.WhichOneof("ref")
        try:
            if which not in _HASHABLE:
                raise InvalidInput(field, "must be an email or a phone")
            found.append(
                normalise(which, getattr(message, which), phone_region, f"{field}.{which}")
            )
        except InvalidInput as error:
            found.append(kept(error))
    return found


def _error(error: InvalidInput) -> pb.RecipientError:
    return pb.RecipientError(field=error.field, message=error.reason)


def hashes_out(hashes: Sequence[Hashed | InvalidInput]) -> pb.HashContactPointsResponse:
    return pb.HashContactPointsResponse(
        hashes=[
            pb.ContactPointHash(error=_error(h))
            if isinstance(h, InvalidInput)
            else pb.ContactPointHash(kind=h[0].value, digest=h[1])
            for h in hashes
        ]
    )


def tallies_out(tallies: Sequence[ConsentTally], at: datetime) -> pb.SummarizeConsentsResponse:
    response = pb.SummarizeConsentsResponse(
        tallies=[
            pb.ConsentTally(
                target=target_out(t.target), state=enum_out(STATES, t.state), subjects=t.subjects
            )
            for t in tallies
        ]
    )
    response.as_of.FromDatetime(at)
    return response
