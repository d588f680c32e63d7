"""What a failed call says beyond its status: the `google.rpc.Status` details consentd puts in
the `grpc-status-details-bin` trailer (docs/consents.md: every error carries an ErrorInfo whose
`reason` a caller branches on, `RetryInfo` with RATE_LIMITED, `BadRequest` naming the field).

    from consentd_client import details
    try:
        client.consent.RecordConsent(request)
    except grpc.RpcError as error:
        said = details(error)
        if said.reason == "STOP_IN_FORCE": ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

DETAILS = "grpc-status-details-bin"


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """A failed call's status and details: `reason` (ErrorInfo's, "" when none was sent),
    `metadata` (ErrorInfo's: `field` for INVALID_ARGUMENT), `retry_after` (RetryInfo's delay),
    `violations` (BadRequest's field and description pairs)."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    retry_after: timedelta | None = None
    violations: tuple[tuple[str, str], ...] = ()


def details(error: grpc.RpcError) -> ErrorDetails:
    """The details of a failed call (of `Client` or `AsyncClient`: grpc.RpcError and
    grpc.aio.AioRpcError alike)."""
    call: Any = error
    return _read(call.code(), call.details() or "", call.trailing_metadata() or ())


def asked_wait(trailers: Iterable[Any]) -> float | None:
    """Seconds the server asked the caller to wait (a RetryInfo in `trailers`), or None."""
    asked = _read(grpc.StatusCode.RESOURCE_EXHAUSTED, "", trailers).retry_after
    return None if asked is None else asked.total_seconds()


def _read(code: grpc.StatusCode, message: str, trailers: Iterable[Any]) -> ErrorDetails:
    """The details in `trailers` (none when absent or not a google.rpc.Status)."""
    raw = next((bytes(value) for key, value in trailers if key == DETAILS), None)
    try:
        status = status_pb2.Status.FromString(raw) if raw is not None else None
    except DecodeError:
        status = None
    if status is None:
        return ErrorDetails(code, message)
    reason, metadata, retry = "", dict[str, str](), None
    violations: list[tuple[str, str]] = []
    for packed in status.details:
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            asked = error_details_pb2.RetryInfo()
            packed.Unpack(asked)
            retry = asked.retry_delay.ToTimedelta()
        elif packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            packed.Unpack(bad)
            violations.extend((v.field, v.description) for v in bad.field_violations)
    return ErrorDetails(code, message, reason, metadata, retry, tuple(violations))
