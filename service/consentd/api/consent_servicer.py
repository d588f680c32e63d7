"""consent.v1.ConsentService over grpc.aio: convert, call one use case, convert back."""

from __future__ import annotations

from typing import Any

import grpc
from consent.v1 import consent_pb2 as pb
from consent.v1 import consent_pb2_grpc

from consentd.api import consent_converters as conv
from consentd.api.context import once, principal
from consentd.app.confirmations import DoubleOptIn
from consentd.app.consents import ConsentUseCases

Context = grpc.aio.ServicerContext[Any, Any]


class ConsentServicer(consent_pb2_grpc.ConsentServiceServicer):
    def __init__(
        self, consents: ConsentUseCases, phone_region: str, double_opt_in: DoubleOptIn
    ) -> None:
        self._consents = consents
        self._region = phone_region
        self._double_opt_in = double_opt_in

    async def RecordConsent(
        self, request: pb.RecordConsentRequest, context: Context
    ) -> pb.RecordConsentResponse:
        command = conv.record_in(request, self._region)
        written = await self._consents.record_consent(principal(), command, once(conv.record_out))
        return conv.record_out(written)

    async def WithdrawConsent(
        self, request: pb.WithdrawConsentRequest, context: Context
    ) -> pb.WithdrawConsentResponse:
        command = conv.withdraw_in(request, self._region)
        keyed = once(conv.withdraw_out)
        return conv.withdraw_out(await self._consents.withdraw_consent(principal(), command, keyed))

    async def CheckConsent(
        self, request: pb.CheckConsentRequest, context: Context
    ) -> pb.CheckConsentResponse:
        command = conv.check_in(request, self._region)
        return conv.check_out(await self._consents.check_consent(principal(), command))

    async def GetSubjectConsents(
        self, request: pb.GetSubjectConsentsRequest, context: Context
    ) -> pb.GetSubjectConsentsResponse:
        subject = conv.subject_in(request, self._region)
        caller = principal()
        subject_id, events = await self._consents.subject_consents(caller, subject)
        targets = [e.target for e in events]
        ask = self._consents.answers_now
        answers = await ask(caller, subject_id, targets) if subject_id else []
        return conv.consents_out(subject_id, events, answers)

    async def ListConsentHistory(
        self, request: pb.ListConsentHistoryRequest, context: Context
    ) -> pb.ListConsentHistoryResponse:
        query = conv.history_in(request, self._region)
        return conv.history_out(await self._consents.consent_history(principal(), query))

    async def ConfirmConsent(
        self, request: pb.ConfirmConsentRequest, context: Context
    ) -> pb.ConfirmConsentResponse:
        token, evidence = conv.confirm_in(request)
        keyed = once(conv.confirm_out)
        return conv.confirm_out(
            await self._double_opt_in.confirm(principal(), token, evidence, keyed)
        )
