"""Domain errors and call failures as Connect errors: the same code name, message and
google.rpc details as the gRPC port gives (one table, api/errors.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from protobuf.wkt import Any as AnyDetail

from consentd.api.calls import Failure
from consentd.api.errors import STATUS_OF, details_of, status_of
from consentd.domain.errors import ConsentError

CONNECT_CODE = {status: Code[status.name] for status in set(STATUS_OF.values())}
# A Connect code's gRPC name (the same names, but Connect spells CANCELED).
_STATUS_NAME = {"CANCELED": "CANCELLED"}


def connect_error(error: ConsentError) -> ConnectError:
    """The Connect error for a domain error: same code name, message and details as gRPC."""
    status = status_of(error)
    code = CONNECT_CODE.get(status, Code.INTERNAL)
    packed = [
        ErrorDetail(AnyDetail(type_url=item.type_url, value=item.value))
        for item in _details(error, status)
    ]
    return ConnectError(code, error.message, packed)


def _details(error: ConsentError, status: grpc.StatusCode) -> Iterable[Any]:
    return _packed(details_of(error, status))


def _packed(details: bytes) -> list[Any]:
    from google.rpc import status_pb2  # noqa: PLC0415 - only errors pay for it

    return list(status_pb2.Status.FromString(details).details)


def failure_error(failure: Failure) -> ConnectError:
    """The Connect error of a call's failure (api/calls.py): same code name, message and
    details as the gRPC port gives."""
    code = Code.CANCELED if failure.code == grpc.StatusCode.CANCELLED else Code[failure.code.name]
    packed = [
        ErrorDetail(AnyDetail(type_url=item.type_url, value=item.value))
        for item in (_packed(failure.details) if failure.details else ())
    ]
    return ConnectError(code, failure.message, packed)


def grpc_status(code: Code) -> grpc.StatusCode:
    """The gRPC status of the same name as a Connect code."""
    return grpc.StatusCode[_STATUS_NAME.get(code.name, code.name)]
