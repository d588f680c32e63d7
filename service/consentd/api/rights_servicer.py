"""consent.v1.RightsService over grpc.aio: convert, call one use case, convert back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import grpc
from consent.v1 import rights_pb2 as pb
from consent.v1 import rights_pb2_grpc
from google.protobuf.message import Message

from consentd.api import rights_converters as conv
from consentd.api.context import once, principal
from consentd.api.converters import actor_in, enum_in, subject_ref_in
from consentd.app.requests import RightsRequestUseCases, Submitted
from consentd.app.rights import RightsUseCases
from consentd.domain.errors import InvalidInput
from consentd.domain.rights import RightsRequest

Context = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R", bound=Message)


class RightsServicer(rights_pb2_grpc.RightsServiceServicer):
    def __init__(
        self, rights: RightsUseCases, requests: RightsRequestUseCases, phone_region: str
    ) -> None:
        self._rights = rights
        self._requests = requests
        self._region = phone_region

    def _answer(self, response: type[R]) -> Callable[[RightsRequest], R]:
        """The response of a rights request's transition: the request as it now stands."""

        def answer(moved: RightsRequest) -> R:
            return response(request=conv.request_out(moved, self._requests.now()))

        return answer

    async def ExportSubject(
        self, request: pb.ExportSubjectRequest, context: Context
    ) -> pb.ExportSubjectResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        return conv.export_out(await self._rights.export(principal(), subject))

    async def EraseSubject(
        self, request: pb.EraseSubjectRequest, context: Context
    ) -> pb.EraseSubjectResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        actor = actor_in(request.actor)
        keyed = once(conv.erasure_out)
        return conv.erasure_out(await self._rights.erase(principal(), subject, actor, keyed))

    async def RestrictProcessing(
        self, request: pb.RestrictProcessingRequest, context: Context
    ) -> pb.RestrictProcessingResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        keyed = once(_restricted)
        return _restricted(await self._rights.restrict(principal(), subject, request.lift, keyed))

    async def RecordObjection(
        self, request: pb.RecordObjectionRequest, context: Context
    ) -> pb.RecordObjectionResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        return _objected(await self._rights.object(principal(), subject, once(_objected)))

    async def RectifyContact(
        self, request: pb.RectifyContactRequest, context: Context
    ) -> pb.RectifyContactResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        value = conv.contact_in(request, self._region)
        actor, keyed = actor_in(request.actor), once(_rectified)
        return _rectified(await self._rights.rectify(principal(), subject, value, actor, keyed))

    async def SubmitRightsRequest(
        self, request: pb.SubmitRightsRequestRequest, context: Context
    ) -> pb.SubmitRightsRequestResponse:
        kind = enum_in(conv.KINDS, request.kind, "kind")
        subject = subject_ref_in(request.subject, "subject", self._region)
        send_to = conv.code_contact_in(request.send_code_to, "send_code_to")

        def answer(submitted: Submitted) -> pb.SubmitRightsRequestResponse:
            return conv.submitted_out(submitted, self._requests.now())

        return answer(
            await self._requests.submit(principal(), kind, subject, send_to, once(answer))
        )

    async def ResendVerificationCode(
        self, request: pb.ResendVerificationCodeRequest, context: Context
    ) -> pb.ResendVerificationCodeResponse:
        request_id = conv.request_id_in(request.request_id)
        send_to = conv.code_contact_in(request.send_code_to, "send_code_to")
        if send_to is None:
            raise InvalidInput("send_code_to", "is required: EMAIL or PHONE")
        keyed = once(_resent)
        return _resent(await self._requests.resend_code(principal(), request_id, send_to, keyed))

    async def ConfirmIdentity(
        self, request: pb.ConfirmIdentityRequest, context: Context
    ) -> pb.ConfirmIdentityResponse:
        request_id = conv.request_id_in(request.request_id)
        proof = request.WhichOneof("proof")
        answer, requests = self._answer(pb.ConfirmIdentityResponse), self._requests
        if proof == "code":
            code = request.code
            confirmed = await requests.confirm_identity(principal(), request_id, code, once(answer))
        elif proof == "attested_by" and request.attested_by.strip():
            by = actor_in(request.attested_by, "attested_by")
            confirmed = await requests.attest_identity(principal(), request_id, by, once(answer))
        else:
            raise InvalidInput("proof", "is required: set code or attested_by")
        return answer(confirmed)

    async def StartRightsRequest(
        self, request: pb.StartRightsRequestRequest, context: Context
    ) -> pb.StartRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        answer = self._answer(pb.StartRightsRequestResponse)
        return answer(await self._requests.start(principal(), request_id, once(answer)))

    async def ExtendRightsRequest(
        self, request: pb.ExtendRightsRequestRequest, context: Context
    ) -> pb.ExtendRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        reason = conv.text_in("reason", request.reason, required=True)
        answer = self._answer(pb.ExtendRightsRequestResponse)
        extended = await self._requests.extend(
            principal(), request_id, request.months, reason, once(answer), told=request.person_told
        )
        return answer(extended)

    async def RecordPersonTold(
        self, request: pb.RecordPersonToldRequest, context: Context
    ) -> pb.RecordPersonToldResponse:
        request_id = conv.request_id_in(request.request_id)
        answer = self._answer(pb.RecordPersonToldResponse)
        return answer(await self._requests.told(principal(), request_id, once(answer)))

    async def CompleteRightsRequest(
        self, request: pb.CompleteRightsRequestRequest, context: Context
    ) -> pb.CompleteRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        outcome = conv.text_in("outcome", request.outcome, required=True)
        actor, answer = actor_in(request.actor), self._answer(pb.CompleteRightsRequestResponse)
        done = await self._requests.complete(principal(), request_id, outcome, actor, once(answer))
        return answer(done)

    async def RefuseRightsRequest(
        self, request: pb.RefuseRightsRequestRequest, context: Context
    ) -> pb.RefuseRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        reason = conv.text_in("reason", request.reason, required=True)
        answer = self._answer(pb.RefuseRightsRequestResponse)
        return answer(await self._requests.refuse(principal(), request_id, reason, once(answer)))

    async def GetRightsRequest(
        self, request: pb.GetRightsRequestRequest, context: Context
    ) -> pb.GetRightsRequestResponse:
        found = await self._requests.get(principal(), conv.request_id_in(request.request_id))
        return pb.GetRightsRequestResponse(request=conv.request_out(found, self._requests.now()))

    async def ListRightsRequests(
        self, request: pb.ListRightsRequestsRequest, context: Context
    ) -> pb.ListRightsRequestsResponse:
        state = (
            enum_in(conv.STATES, request.state, "state")
            if request.state != pb.RIGHTS_REQUEST_STATE_UNSPECIFIED
            else None
        )
        subject = (
            subject_ref_in(request.subject, "subject", self._region)
            if request.HasField("subject")
            else None
        )
        page = await self._requests.listed(
            principal(),
            request.overdue_only,
            state,
            request.page_size,
            request.page_token,
            due_within_days=request.due_within_days,
            subject=subject,
        )
        now = self._requests.now()
        return pb.ListRightsRequestsResponse(
            requests=[conv.request_out(r, now) for r in page.items],
            next_page_token=page.next_page_token,
        )


def _restricted(subject_id: UUID) -> pb.RestrictProcessingResponse:
    return pb.RestrictProcessingResponse(subject_id=str(subject_id))


def _objected(subject_id: UUID) -> pb.RecordObjectionResponse:
    return pb.RecordObjectionResponse(subject_id=str(subject_id))


def _rectified(subject_id: UUID) -> pb.RectifyContactResponse:
    return pb.RectifyContactResponse(subject_id=str(subject_id))


def _resent(sent: bool) -> pb.ResendVerificationCodeResponse:
    return pb.ResendVerificationCodeResponse(code_sent=sent)
