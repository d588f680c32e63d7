"""consent.v1.RightsService over grpc.aio: convert, call one use case, convert back."""

from __future__ import annotations

from typing import Any

import grpc
from consent.v1 import rights_pb2 as pb
from consent.v1 import rights_pb2_grpc

from consentd.api import rights_converters as conv
from consentd.api.context import principal
from consentd.api.converters import actor_in, enum_in, subject_ref_in
from consentd.app.requests import RightsRequestUseCases
from consentd.app.rights import RightsUseCases
from consentd.domain.errors import InvalidInput

Context = grpc.aio.ServicerContext[Any, Any]


class RightsServicer(rights_pb2_grpc.RightsServiceServicer):
    def __init__(
        self, rights: RightsUseCases, requests: RightsRequestUseCases, phone_region: str
    ) -> None:
        self._rights = rights
        self._requests = requests
        self._region = phone_region

    async def ExportSubject(
        self, request: pb.ExportSubjectRequest, context: Context
    ) -> pb.ExportSubjectResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        return conv.export_out(await self._rights.export(principal(), subject))

    async def EraseSubject(
        self, request: pb.EraseSubjectRequest, context: Context
    ) -> pb.EraseSubjectResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        erasure = await self._rights.erase(principal(), subject, actor_in(request.actor))
        return conv.erasure_out(erasure)

    async def RestrictProcessing(
        self, request: pb.RestrictProcessingRequest, context: Context
    ) -> pb.RestrictProcessingResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        subject_id = await self._rights.restrict(principal(), subject, request.lift)
        return pb.RestrictProcessingResponse(subject_id=str(subject_id))

    async def RecordObjection(
        self, request: pb.RecordObjectionRequest, context: Context
    ) -> pb.RecordObjectionResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        subject_id = await self._rights.object(principal(), subject)
        return pb.RecordObjectionResponse(subject_id=str(subject_id))

    async def RectifyContact(
        self, request: pb.RectifyContactRequest, context: Context
    ) -> pb.RectifyContactResponse:
        subject = subject_ref_in(request.subject, "subject", self._region)
        value = conv.contact_in(request, self._region)
        subject_id = await self._rights.rectify(
            principal(), subject, value, actor_in(request.actor)
        )
        return pb.RectifyContactResponse(subject_id=str(subject_id))

    async def SubmitRightsRequest(
        self, request: pb.SubmitRightsRequestRequest, context: Context
    ) -> pb.SubmitRightsRequestResponse:
        kind = enum_in(conv.KINDS, request.kind, "kind")
        subject = subject_ref_in(request.subject, "subject", self._region)
        send_to = conv.code_contact_in(request.send_code_to, "send_code_to")
        submitted = await self._requests.submit(principal(), kind, subject, send_to)
        return conv.submitted_out(submitted, self._requests.now())

    async def ResendVerificationCode(
        self, request: pb.ResendVerificationCodeRequest, context: Context
    ) -> pb.ResendVerificationCodeResponse:
        request_id = conv.request_id_in(request.request_id)
        send_to = conv.code_contact_in(request.send_code_to, "send_code_to")
        if send_to is None:
            raise InvalidInput("send_code_to", "is required: EMAIL or PHONE")
        sent = await self._requests.resend_code(principal(), request_id, send_to)
        return pb.ResendVerificationCodeResponse(code_sent=sent)

    async def ConfirmIdentity(
        self, request: pb.ConfirmIdentityRequest, context: Context
    ) -> pb.ConfirmIdentityResponse:
        request_id = conv.request_id_in(request.request_id)
        proof = request.WhichOneof("proof")
        if proof == "code":
            confirmed = await self._requests.confirm_identity(principal(), request_id, request.code)
        elif proof == "attested_by" and request.attested_by.strip():
            attested_by = actor_in(request.attested_by, "attested_by")
            confirmed = await self._requests.attest_identity(principal(), request_id, attested_by)
        else:
            raise InvalidInput("proof", "is required: set code or attested_by")
        return pb.ConfirmIdentityResponse(request=conv.request_out(confirmed, self._requests.now()))

    async def StartRightsRequest(
        self, request: pb.StartRightsRequestRequest, context: Context
    ) -> pb.StartRightsRequestResponse:
        started = await self._requests.start(principal(), conv.request_id_in(request.request_id))
        return pb.StartRightsRequestResponse(
            request=conv.request_out(started, self._requests.now())
        )

    async def ExtendRightsRequest(
        self, request: pb.ExtendRightsRequestRequest, context: Context
    ) -> pb.ExtendRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        reason = conv.text_in("reason", request.reason, required=True)
        extended = await self._requests.extend(principal(), request_id, request.months, reason)
        return pb.ExtendRightsRequestResponse(
            request=conv.request_out(extended, self._requests.now())
        )

    async def CompleteRightsRequest(
        self, request: pb.CompleteRightsRequestRequest, context: Context
    ) -> pb.CompleteRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        outcome = conv.text_in("outcome", request.outcome)
        done = await self._requests.complete(
            principal(), request_id, outcome, actor_in(request.actor)
        )
        return pb.CompleteRightsRequestResponse(
            request=conv.request_out(done, self._requests.now())
        )

    async def RefuseRightsRequest(
        self, request: pb.RefuseRightsRequestRequest, context: Context
    ) -> pb.RefuseRightsRequestResponse:
        request_id = conv.request_id_in(request.request_id)
        reason = conv.text_in("reason", request.reason, required=True)
        refused = await self._requests.refuse(principal(), request_id, reason)
        return pb.RefuseRightsRequestResponse(
            request=conv.request_out(refused, self._requests.now())
        )

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
        page = await self._requests.listed(
            principal(), request.overdue_only, state, request.page_size, request.page_token
        )
        now = self._requests.now()
        return pb.ListRightsRequestsResponse(
            requests=[conv.request_out(r, now) for r in page.items],
            next_page_token=page.next_page_token,
        )
