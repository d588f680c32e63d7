"""Fields a caller may not set are refused, not ignored: a field the contract does not define
(a tenant id, a server timestamp from a newer or forged schema) anywhere in a request, and the
server-stamped times of a purpose."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

import grpc
import pytest
from consent.v1 import catalog_pb2, consent_pb2, types_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import grant, put_purpose, stamp, target
from tests.e2e.security_helpers import fails, row_counts

# Field number 99 as a varint with value 1: tag (99 << 3 | 0) = 792 = 0x98 0x06.
FIELD_99 = b"\x98\x06\x01"
# Field number 2048 as a length-delimited string "tenant-b": what a forged `tenant_id` might be.
FOREIGN_TENANT = b"\x82\x80\x01\x08tenant-b"
CHECK = "/consent.v1.ConsentService/CheckConsent"
RECORD = "/consent.v1.ConsentService/RecordConsent"
PUT_PURPOSE = "/consent.v1.CatalogService/PutPurpose"
SOMEONE = types_pb2.SubjectIdentity(email="someone@example.fr")


def _length_delimited(number: int, payload: bytes) -> bytes:
    tag = number << 3 | 2
    assert tag < 128
    assert len(payload) < 128
    return bytes([tag, len(payload)]) + payload


def _raw(channel: grpc.aio.Channel, path: str, response: type[Message]) -> Any:
    return channel.unary_unary(
        path, request_serializer=lambda b: b, response_deserializer=response.FromString
    )


def _violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    fields: list[str] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            fields.extend(v.field for v in bad_request.field_violations)
    return fields


@pytest.fixture
async def newsletter(stubs: Stubs) -> None:
    await put_purpose(stubs, "newsletter")


def _check_request() -> bytes:
    return consent_pb2.CheckConsentRequest(
        subject=types_pb2.SubjectRef(email="someone@example.fr"), target=target("newsletter")
    ).SerializeToString()


def _record_request() -> bytes:
    return consent_pb2.RecordConsentRequest(
        subject=SOMEONE, choices=[grant(target("newsletter"))], source=types_pb2.SOURCE_API
    ).SerializeToString()


@pytest.mark.usefixtures("newsletter")
async def test_the_same_request_without_extra_fields_is_accepted(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """The raw requests the tests below extend are valid as they are (so the refusals are due
    to the extra field alone)."""
    check = await _raw(channel, CHECK, consent_pb2.CheckConsentResponse)(
        _check_request(), metadata=stubs.metadata
    )
    assert check.decision == consent_pb2.DECISION_DENY
    recorded = await _raw(channel, RECORD, consent_pb2.RecordConsentResponse)(
        _record_request(), metadata=stubs.metadata
    )
    assert len(recorded.events) == 1


class Extra(NamedTuple):
    path: str
    body: bytes
    response: type[Message]
    field: str


EXTRA_FIELDS = {
    "check field 99": Extra(
        CHECK, _check_request() + FIELD_99, consent_pb2.CheckConsentResponse, "request"
    ),
    "check forged tenant": Extra(
        CHECK, _check_request() + FOREIGN_TENANT, consent_pb2.CheckConsentResponse, "request"
    ),
    "record field 99": Extra(
        RECORD, _record_request() + FIELD_99, consent_pb2.RecordConsentResponse, "request"
    ),
    "record forged tenant": Extra(
        RECORD, _record_request() + FOREIGN_TENANT, consent_pb2.RecordConsentResponse, "request"
    ),
    # A second `subject` (field 1) merges into the first: an unknown field inside it.
    "record subject field 99": Extra(
        RECORD,
        _record_request() + _length_delimited(1, FIELD_99),
        consent_pb2.RecordConsentResponse,
        "subject",
    ),
    # The same inside the first choice's target (choices = 2, target = 1).
    "record target field 99": Extra(
        RECORD,
        consent_pb2.RecordConsentRequest(
            subject=SOMEONE, source=types_pb2.SOURCE_API
        ).SerializeToString()
        + _length_delimited(
            2, grant(target("newsletter")).SerializeToString() + _length_delimited(1, FIELD_99)
        ),
        consent_pb2.RecordConsentResponse,
        "choices[0].target",
    ),
}


@pytest.mark.usefixtures("newsletter")
@pytest.mark.parametrize("extra", EXTRA_FIELDS.values(), ids=EXTRA_FIELDS.keys())
async def test_fields_the_contract_does_not_define_are_invalid(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant, extra: Extra
) -> None:
    """A request carrying a field the contract does not define is INVALID_ARGUMENT naming the
    message that carries it, and writes nothing."""
    before = await row_counts(app, tenant.tenant_id)
    call = _raw(channel, extra.path, extra.response)
    error = await fails(call(extra.body, metadata=stubs.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).startswith(f"{extra.field}:")
    assert _violations(error) == [extra.field]
    assert await row_counts(app, tenant.tenant_id) == before


@pytest.mark.parametrize("stamped", ["created_at", "updated_at"])
async def test_put_purpose_with_server_timestamps_is_invalid(stubs: Stubs, stamped: str) -> None:
    """PutPurpose with created_at or updated_at set is INVALID_ARGUMENT, and creates nothing."""
    purpose = catalog_pb2.Purpose(purpose_id="stamped", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT)
    getattr(purpose, stamped).CopyFrom(stamp(datetime(2020, 1, 1, tzinfo=UTC)))
    error = await fails(
        stubs.catalog.PutPurpose(
            catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error)[0].startswith("purpose.")
    missing = await fails(
        stubs.catalog.GetPurpose(
            catalog_pb2.GetPurposeRequest(purpose_id="stamped"), metadata=stubs.metadata
        )
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_put_purpose_unknown_field_inside_purpose(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """An undefined field inside the purpose (a forged `tenant_id`) is INVALID_ARGUMENT naming
    `purpose`, not silently dropped."""
    purpose = catalog_pb2.Purpose(purpose_id="forged", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT)
    body = _length_delimited(1, purpose.SerializeToString() + FOREIGN_TENANT)
    error = await fails(
        _raw(channel, PUT_PURPOSE, catalog_pb2.PutPurposeResponse)(body, metadata=stubs.metadata)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _violations(error) == ["purpose"]
