"""The one map from domain errors to gRPC statuses, with google.rpc details."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from consentd.domain import errors

DOMAIN = "consentd"
STATUS_OF: dict[type[errors.ConsentError], grpc.StatusCode] = {
    errors.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}
DETAILS_KEY = "grpc-status-details-bin"


def status_of(error: errors.ConsentError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return grpc.StatusCode.INTERNAL


def details_of(error: errors.ConsentError, code: grpc.StatusCode) -> bytes:
    """A serialized google.rpc.Status: BadRequest for invalid input, ErrorInfo always."""
    detail_messages: list[Message] = []
    if isinstance(error, errors.InvalidInput):
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.reason
        )
        detail_messages.append(error_details_pb2.BadRequest(field_violations=[violation]))
    if isinstance(error, errors.ResourceExhausted) and error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(timedelta(seconds=max(error.retry_after, 0.001)))
        detail_messages.append(error_details_pb2.RetryInfo(retry_delay=delay))
    # A stable name a caller can branch on: the case's own (PURPOSE_NOT_FOUND, OBJECTION_IN_FORCE,
    # ...) or the status's; the field of invalid input in its metadata.
    info = error_details_pb2.ErrorInfo(reason=error.code or code.name, domain=DOMAIN)
    if isinstance(error, errors.InvalidInput):
        info.metadata["field"] = error.field
    detail_messages.append(info)
    packed = []
    for message in detail_messages:
        item = any_pb2.Any()
        item.Pack(message)
        packed.append(item)
    status = status_pb2.Status(code=_code_number(code), message=error.message, details=packed)
    serialized: bytes = status.SerializeToString()
    return serialized


def _code_number(code: grpc.StatusCode) -> int:
    number: int = code.value[0]
    assert code_pb2.Code.Name(number)
    return number


# An answer written before any servicer ran (api/refusals.py) carries the ErrorInfo every error
# carries, its reason the status's name (a refusal from the request's head had none; UC, VA).


def connect_json(code: grpc.StatusCode, message: str) -> bytes:
    """A Connect error's JSON body."""
    info = _raw_b64(_info(code).SerializeToString())
    details = [{"type": "google.rpc.ErrorInfo", "value": info}]
    return json.dumps({"code": code.name.lower(), "message": message, "details": details}).encode()


def details_header(code: grpc.StatusCode, message: str) -> bytes:
    """gRPC-Web's `grpc-status-details-bin`: the serialized google.rpc.Status."""
    item = any_pb2.Any()
    item.Pack(_info(code))
    status = status_pb2.Status(code=_code_number(code), message=message, details=[item])
    return _raw_b64(status.SerializeToString()).encode()


def _info(code: grpc.StatusCode) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=code.name, domain=DOMAIN)


def _raw_b64(value: bytes) -> str:
    return base64.b64encode(value).decode().rstrip("=")
