"""Every RPC x every scope: exactly the expected allow/deny. The RPCs are listed from the service
descriptors of the generated modules, so a new RPC fails here until it is given its scopes; the
expectations are written here, not imported from the service."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from consent.v1 import (
    audit_pb2,
    campaign_pb2,
    catalog_pb2,
    consent_pb2,
    cookies_pb2,
    retention_pb2,
    rights_pb2,
    types_pb2,
)
from google.protobuf import descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Tenant
from tests.conftest import bearer
from tests.e2e.security_helpers import register_portal

CHECK, WRITE, COOKIES, SELF, ADMIN, SUPPORT = (
    "consent:check",
    "consent:write",
    "cookies:write",
    "subject:self",
    "admin",
    "rights:support",
)
ALL_SCOPES = frozenset({CHECK, WRITE, COOKIES, SELF, ADMIN, SUPPORT})
CONSENT = "/consent.v1.ConsentService/"
CATALOG = "/consent.v1.CatalogService/"
COOKIES_SERVICE = "/consent.v1.CookieService/"
RIGHTS = "/consent.v1.RightsService/"
AUDIT = "/consent.v1.AuditService/"
RETENTION = "/consent.v1.RetentionService/"
CAMPAIGN = "/consent.v1.CampaignService/"
EXPECTED: dict[str, frozenset[str]] = {
    f"{CONSENT}RecordConsent": frozenset({WRITE, SELF, ADMIN}),  # SELF: for itself alone
    f"{CONSENT}WithdrawConsent": frozenset({WRITE, SELF, ADMIN}),
    f"{CONSENT}CheckConsent": frozenset({CHECK, WRITE, ADMIN}),
    f"{CONSENT}GetSubjectConsents": frozenset({CHECK, WRITE, SELF, ADMIN}),
    f"{CONSENT}ListConsentHistory": frozenset({WRITE, SELF, ADMIN}),
    f"{CONSENT}ConfirmConsent": frozenset({WRITE, SELF, ADMIN}),
    # Campaign tools: what CheckConsent allows, at scale (and the hashes to match the export).
    f"{CAMPAIGN}BatchCheckConsent": frozenset({CHECK, WRITE, ADMIN}),
    f"{CAMPAIGN}StreamCheckConsent": frozenset({CHECK, WRITE, ADMIN}),
    f"{CAMPAIGN}WatchConsentChanges": frozenset({CHECK, WRITE, ADMIN}),
    f"{CAMPAIGN}ExportSuppressionList": frozenset({CHECK, WRITE, ADMIN}),
    f"{CAMPAIGN}HashContactPoints": frozenset({CHECK, WRITE, ADMIN}),
    f"{CAMPAIGN}SummarizeConsents": frozenset({CHECK, WRITE, ADMIN}),
    f"{CATALOG}PutPurpose": frozenset({ADMIN}),
    f"{CATALOG}PublishNotice": frozenset({ADMIN}),
    f"{CATALOG}GetPurpose": ALL_SCOPES,
    f"{CATALOG}ListPurposes": ALL_SCOPES,
    f"{CATALOG}ListNotices": ALL_SCOPES,
    # cookies:write is a web page's public key: a visitor's own choice, nothing naming a person.
    f"{COOKIES_SERVICE}RecordCookieChoice": frozenset({COOKIES, WRITE, ADMIN}),
    f"{COOKIES_SERVICE}GetCookieChoice": frozenset({COOKIES, CHECK, WRITE, ADMIN}),
    f"{COOKIES_SERVICE}ListCookieChoices": frozenset({WRITE, ADMIN}),
    f"{COOKIES_SERVICE}LinkVisitor": frozenset({WRITE, ADMIN}),
    f"{COOKIES_SERVICE}PutCookiePolicy": frozenset({ADMIN}),
    f"{COOKIES_SERVICE}GetCookiePolicy": ALL_SCOPES,
    # Rights, audit and retention: admin; a person exports and files a request for itself.
    f"{RIGHTS}ExportSubject": frozenset({SELF, ADMIN}),
    f"{RIGHTS}EraseSubject": frozenset({ADMIN}),
    f"{RIGHTS}RestrictProcessing": frozenset({SUPPORT, ADMIN}),
    f"{RIGHTS}RecordObjection": frozenset({SUPPORT, ADMIN}),
    f"{RIGHTS}RectifyContact": frozenset({ADMIN}),
    f"{RIGHTS}SubmitRightsRequest": frozenset({SELF, SUPPORT, ADMIN}),
    f"{RIGHTS}ResendVerificationCode": frozenset({SUPPORT, ADMIN}),
    f"{RIGHTS}ConfirmIdentity": frozenset({SUPPORT, ADMIN}),
    f"{RIGHTS}StartRightsRequest": frozenset({ADMIN}),
    f"{RIGHTS}ExtendRightsRequest": frozenset({ADMIN}),
    f"{RIGHTS}RecordPersonTold": frozenset({SUPPORT, ADMIN}),
    f"{RIGHTS}CompleteRightsRequest": frozenset({ADMIN}),
    f"{RIGHTS}RefuseRightsRequest": frozenset({ADMIN}),
    f"{RIGHTS}GetRightsRequest": frozenset({SUPPORT, ADMIN}),
    f"{RIGHTS}ListRightsRequests": frozenset({SUPPORT, ADMIN}),
    f"{AUDIT}VerifyAuditChain": frozenset({ADMIN}),
    f"{AUDIT}CreateAuditCheckpoint": frozenset({ADMIN}),
    f"{AUDIT}ListAuditCheckpoints": frozenset({ADMIN}),
    f"{AUDIT}GetAuditTreeHead": frozenset({ADMIN}),
    f"{AUDIT}ProveAuditInclusion": frozenset({ADMIN}),
    f"{AUDIT}ProveAuditConsistency": frozenset({ADMIN}),
    f"{AUDIT}ScopeBreach": frozenset({ADMIN}),
    f"{AUDIT}ListBreachSubjects": frozenset({ADMIN}),
    f"{RETENTION}GetRetentionSettings": frozenset({ADMIN}),
    f"{RETENTION}PutRetentionSettings": frozenset({ADMIN}),
}
# The person the portal token acts for; every subject in the requests below is this one, so a
# portal caller allowed on an RPC is never refused for naming someone else.
PERSON = "crm-matrix-person"


def _rpcs() -> dict[str, descriptor.MethodDescriptor]:
    return {
        f"/{service.full_name}/{method.name}": method
        for module in (
            consent_pb2,
            catalog_pb2,
            cookies_pb2,
            rights_pb2,
            audit_pb2,
            retention_pb2,
            campaign_pb2,
        )
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }


RPCS = _rpcs()


def _minimal(message_type: descriptor.Descriptor) -> Message:
    """An instance of the input type, naming PERSON wherever it takes a subject."""
    message = GetMessageClass(message_type)()
    for field in message_type.fields:
        if field.message_type is None or field.is_repeated:
            continue
        if field.message_type.full_name == types_pb2.SubjectRef.DESCRIPTOR.full_name:
            getattr(message, field.name).CopyFrom(types_pb2.SubjectRef(external_id=PERSON))
        elif field.message_type.full_name == types_pb2.SubjectIdentity.DESCRIPTOR.full_name:
            getattr(message, field.name).CopyFrom(types_pb2.SubjectIdentity(external_id=PERSON))
    return message


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


async def _call(
    channel: grpc.aio.Channel, path: str, method: descriptor.MethodDescriptor, metadata: Any
) -> grpc.StatusCode:
    request = _minimal(method.input_type)
    response_type = GetMessageClass(method.output_type)
    try:
        if method.client_streaming:
            both = channel.stream_stream(
                path,
                request_serializer=_serialize,
                response_deserializer=response_type.FromString,
            )
            await _drain(both(iter([request]), metadata=metadata))
        elif method.server_streaming:
            stream = channel.unary_stream(
                path,
                request_serializer=_serialize,
                response_deserializer=response_type.FromString,
            )
            await _drain(stream(request, metadata=metadata))
        else:
            unary = channel.unary_unary(
                path,
                request_serializer=_serialize,
                response_deserializer=response_type.FromString,
            )
            await unary(request, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _drain(call: Any) -> None:
    """Read a stream to its end; one still open after a moment (the change feed tails forever)
    was admitted: cancel it."""

    async def read() -> None:
        async for _ in call:
            pass

    try:
        await asyncio.wait_for(read(), timeout=2.0)
    except TimeoutError:
        call.cancel()


@pytest.fixture
async def callers(admin: AdminUseCases, tenant: Tenant) -> dict[str, Any]:
    """Metadata of one caller per scope: API keys, and a portal token for subject:self."""
    found: dict[str, Any] = {}
    for scope in (CHECK, WRITE, COOKIES, ADMIN, SUPPORT):
        key, _ = await admin.issue_key(tenant.slug, [scope], name=f"matrix {scope}")
        found[scope] = bearer(key.token)
    portal = await register_portal(admin, tenant)
    found[SELF] = bearer(portal.token(PERSON))
    assert set(found) == ALL_SCOPES
    return found


def test_every_rpc_has_expected_scopes() -> None:
    """The table above names exactly the RPCs the descriptors define (none forgotten, none
    stale), and the services are the seven we know."""
    assert sorted(set(RPCS) - set(EXPECTED)) == [], "give the new RPC its scopes in EXPECTED"
    assert sorted(set(EXPECTED) - set(RPCS)) == [], "EXPECTED names an RPC that is gone"
    assert len(RPCS) >= 36


@pytest.mark.parametrize("path", sorted(RPCS), ids=lambda p: p.rsplit("/", 1)[-1])
async def test_scope_matrix(channel: grpc.aio.Channel, callers: dict[str, Any], path: str) -> None:
    """For each scope, the RPC answers PERMISSION_DENIED exactly when the scope is not among
    the RPC's allowed ones; an allowed call never gets PERMISSION_DENIED, UNAUTHENTICATED or
    UNKNOWN."""
    assert path in EXPECTED, f"{path} is missing from EXPECTED: default deny, give it its scopes"
    got = {scope: await _call(channel, path, RPCS[path], callers[scope]) for scope in ALL_SCOPES}
    denied = {scope for scope, code in got.items() if code == grpc.StatusCode.PERMISSION_DENIED}
    assert denied == ALL_SCOPES - EXPECTED[path], got
    forbidden = {
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNKNOWN,
    }
    assert {s: c for s, c in got.items() if s in EXPECTED[path] and c in forbidden} == {}


async def test_unlisted_method_is_denied(
    channel: grpc.aio.Channel, callers: dict[str, Any]
) -> None:
    """A method the services do not define is never served, whoever calls (UNIMPLEMENTED)."""
    for metadata in callers.values():
        unary = channel.unary_unary(
            f"{CONSENT}DeleteEverything",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await unary(b"", metadata=metadata)
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_a_refusal_names_the_scopes_that_would_do(
    channel: grpc.aio.Channel, callers: dict[str, Any]
) -> None:
    """Probe DF: support's key was refused RectifyContact with no word of the scope it needs."""
    path = "/consent.v1.RightsService/RectifyContact"
    unary = channel.unary_unary(
        path, request_serializer=_serialize, response_deserializer=lambda b: b
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await unary(_minimal(RPCS[path].input_type), metadata=callers[WRITE])
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert raised.value.details() == (
        "the caller's scopes do not allow RectifyContact (a key with one of: admin)"
    )
