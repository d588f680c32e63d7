"""Small builders for end-to-end tests: the requests a customer would send, through the stubs."""

from __future__ import annotations

from datetime import datetime

import grpc
from consent.v1 import catalog_pb2, consent_pb2, types_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.conftest import Stubs

EMAIL = types_pb2.CHANNEL_EMAIL
SMS = types_pb2.CHANNEL_SMS
VOICE = types_pb2.CHANNEL_VOICE_CALL
FIRST = types_pb2.PARTY_SCOPE_FIRST_PARTY
PARTNERS = types_pb2.PARTY_SCOPE_PARTNERS
GRANTED = types_pb2.CONSENT_STATE_GRANTED
REFUSED = types_pb2.CONSENT_STATE_REFUSED
WITHDRAWN = types_pb2.CONSENT_STATE_WITHDRAWN
CONSENT = types_pb2.LAWFUL_BASIS_CONSENT
LEGITIMATE_INTEREST = types_pb2.LAWFUL_BASIS_LEGITIMATE_INTEREST
ALLOW = consent_pb2.DECISION_ALLOW
DENY = consent_pb2.DECISION_DENY


def target(
    purpose: str,
    channel: types_pb2.Channel.ValueType = EMAIL,
    scope: types_pb2.PartyScope.ValueType = FIRST,
) -> types_pb2.ConsentTarget:
    return types_pb2.ConsentTarget(purpose=purpose, channel=channel, scope=scope)


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def grant(
    to: types_pb2.ConsentTarget, notice_version: int = 0, valid_until: datetime | None = None
) -> consent_pb2.ConsentChoice:
    choice = consent_pb2.ConsentChoice(target=to, state=GRANTED, notice_version=notice_version)
    if valid_until is not None:
        choice.valid_until.CopyFrom(stamp(valid_until))
    return choice


def refuse(to: types_pb2.ConsentTarget, notice_version: int = 0) -> consent_pb2.ConsentChoice:
    return consent_pb2.ConsentChoice(target=to, state=REFUSED, notice_version=notice_version)


def by_email(email: str) -> types_pb2.SubjectRef:
    return types_pb2.SubjectRef(email=email)


def by_id(subject_id: str) -> types_pb2.SubjectRef:
    return types_pb2.SubjectRef(subject_id=subject_id)


async def put_purpose(
    stubs: Stubs,
    purpose_id: str,
    basis: types_pb2.LawfulBasis.ValueType = CONSENT,
    *,
    notice_id: str = "",
    max_validity_days: int = 0,
) -> catalog_pb2.Purpose:
    purpose = catalog_pb2.Purpose(
        purpose_id=purpose_id,
        lawful_basis=basis,
        notice_id=notice_id,
        max_validity_days=max_validity_days,
    )
    response = await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )
    return response.purpose


async def publish_notice(
    stubs: Stubs, notice_id: str, content: str, *, requires_reconsent: bool = False
) -> catalog_pb2.Notice:
    response = await stubs.catalog.PublishNotice(
        catalog_pb2.PublishNoticeRequest(
            notice_id=notice_id,
            title="Politique de confidentialité",
            language="fr-FR",
            content=content,
            requires_reconsent=requires_reconsent,
        ),
        metadata=stubs.metadata,
    )
    return response.notice


async def record(
    stubs: Stubs,
    subject: types_pb2.SubjectIdentity,
    *choices: consent_pb2.ConsentChoice,
    evidence: types_pb2.Evidence | None = None,
) -> consent_pb2.RecordConsentResponse:
    request = consent_pb2.RecordConsentRequest(
        subject=subject, choices=choices, source=types_pb2.SOURCE_PORTAL, actor="self"
    )
    if evidence is not None:
        request.evidence.CopyFrom(evidence)
    return await stubs.consent.RecordConsent(request, metadata=stubs.metadata)


async def withdraw(
    stubs: Stubs,
    subject: types_pb2.SubjectRef,
    *targets: types_pb2.ConsentTarget,
    everything: bool = False,
) -> consent_pb2.WithdrawConsentResponse:
    request = consent_pb2.WithdrawConsentRequest(
        subject=subject, targets=targets, all=everything, source=types_pb2.SOURCE_PORTAL
    )
    return await stubs.consent.WithdrawConsent(request, metadata=stubs.metadata)


async def check(
    stubs: Stubs,
    subject: types_pb2.SubjectRef,
    to: types_pb2.ConsentTarget,
    as_of: datetime | None = None,
) -> consent_pb2.CheckConsentResponse:
    request = consent_pb2.CheckConsentRequest(subject=subject, target=to)
    if as_of is not None:
        request.as_of.CopyFrom(stamp(as_of))
    return await stubs.consent.CheckConsent(request, metadata=stubs.metadata)


async def history(
    stubs: Stubs,
    subject: types_pb2.SubjectRef,
    *,
    page_size: int = 0,
    page_token: str = "",
    purpose: str = "",
) -> consent_pb2.ListConsentHistoryResponse:
    request = consent_pb2.ListConsentHistoryRequest(
        subject=subject, page_size=page_size, page_token=page_token, purpose=purpose
    )
    return await stubs.consent.ListConsentHistory(request, metadata=stubs.metadata)


async def current(
    stubs: Stubs, subject: types_pb2.SubjectRef
) -> consent_pb2.GetSubjectConsentsResponse:
    request = consent_pb2.GetSubjectConsentsRequest(subject=subject)
    return await stubs.consent.GetSubjectConsents(request, metadata=stubs.metadata)


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The ErrorInfo detail: the reason a caller branches on (it was the exception's class
    name, NOTFOUND for a purpose, a subject and a request alike)."""
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            assert info.domain == "consentd"
            return info
    raise AssertionError("no ErrorInfo detail")
