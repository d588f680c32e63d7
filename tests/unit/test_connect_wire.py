"""The browser port's last word on connectrpc's own errors (api/connect_wire.py): one that
quotes an exception it caught, or one of its own answers, is replaced by ours, never echoing
the request; every other error is left as it is."""

from __future__ import annotations

from typing import Any

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import Headers, RequestContext
from consent.v1 import consent_pb2

from consentd.api.connect_wire import WireErrors

RECORD_CONSENT = MethodInfo(
    name="RecordConsent",
    service_name="consent.v1.ConsentService",
    input=consent_pb2.RecordConsentRequest,
    output=consent_pb2.RecordConsentResponse,
    idempotency_level=IdempotencyLevel.UNKNOWN,
    stream_type=StreamType.UNARY,
)


def context(http_method: str = "POST", **headers: str) -> RequestContext[Any, Any]:
    return RequestContext(
        method=RECORD_CONSENT, http_method=http_method, request_headers=Headers(headers)
    )


CONNECT = context(**{"content-type": "application/json"})
GRPC_WEB = context(**{"content-type": "application/grpc-web+proto"})


def _raised_from(error: ConnectError, cause: Exception) -> ConnectError:
    error.__cause__ = cause
    return error


async def replaced(error: ConnectError, ctx: RequestContext[Any, Any]) -> ConnectError:
    with pytest.raises(ConnectError) as ours:
        await WireErrors().on_end(None, ctx, error)
    return ours.value


async def test_an_error_quoting_a_caught_exception_is_replaced_by_ours() -> None:
    """connectrpc's "unmarshal message: <exception text>" (what a codec raised, quoted) becomes
    INVALID_ARGUMENT in our words, with a BadRequest naming the request."""
    cause = RecursionError("maximum recursion depth exceeded while decoding a JSON array")
    quoted = _raised_from(ConnectError(Code.INVALID_ARGUMENT, f"unmarshal message: {cause}"), cause)
    ours = await replaced(quoted, CONNECT)
    assert ours.code is Code.INVALID_ARGUMENT
    assert ours.message == (
        "request: cannot be read: it is not a valid message in the encoding and compression "
        "the call names"
    )
    assert ours.details[0].type_name == "google.rpc.BadRequest"


@pytest.mark.parametrize(
    ("error", "ctx", "code", "message"),
    [
        (
            ConnectError(Code.UNIMPLEMENTED, "unary request has zero messages"),
            GRPC_WEB,
            Code.INVALID_ARGUMENT,
            "request: the body holds no message",
        ),
        (
            ConnectError(Code.INTERNAL, "protocol error: sent compressed message without ..."),
            context(**{"content-type": "application/connect+proto"}),
            Code.INVALID_ARGUMENT,
            "request: a message is flagged compressed, but no connect-content-encoding header "
            "names its compression",
        ),
        (
            ConnectError(Code.INVALID_ARGUMENT, "protocol error: incomplete envelope: EOF"),
            GRPC_WEB,
            Code.INVALID_ARGUMENT,
            "request: the body ends inside a message",
        ),
        (
            ConnectError(Code.RESOURCE_EXHAUSTED, "message is larger than configured max 1024"),
            CONNECT,
            Code.RESOURCE_EXHAUSTED,
            "request: the message is larger than 1024 bytes",
        ),
        (
            ConnectError(Code.UNIMPLEMENTED, "unknown compression: '<img src=x>': supported ..."),
            context("GET"),
            Code.UNIMPLEMENTED,
            "compression: not supported: use gzip or identity",
        ),
        (
            _raised_from(ConnectError(Code.DEADLINE_EXCEEDED, "Request timed out"), TimeoutError()),
            GRPC_WEB,
            Code.DEADLINE_EXCEEDED,
            "the call took longer than its grpc-timeout allows",
        ),
        (
            ConnectError(Code.UNIMPLEMENTED, "Not implemented"),
            CONNECT,
            Code.UNIMPLEMENTED,
            "consent.v1.ConsentService/RecordConsent is not served on the browser port: call it "
            "on the gRPC port",
        ),
    ],
    ids=[
        "no-message",
        "flagged-compressed",
        "cut",
        "too-large",
        "compression",
        "deadline",
        "write",
    ],
)
async def test_connectrpcs_own_answers_are_put_in_our_words(
    error: ConnectError, ctx: RequestContext[Any, Any], code: Code, message: str
) -> None:
    """Each of connectrpc's own answers gets our code and words, naming where the call went
    wrong for its protocol (header, or a GET's parameter), never what it sent."""
    ours = await replaced(error, ctx)
    assert (ours.code, ours.message) == (code, message)


@pytest.mark.parametrize(
    "error",
    [
        None,
        ConnectError(Code.INVALID_ARGUMENT, "visitor_id: must be 16 to 64 characters"),
        ConnectError(Code.UNIMPLEMENTED, "this is the browser port; send native gRPC elsewhere"),
        ConnectError(Code.DEADLINE_EXCEEDED, "the database did not answer in time"),
        ConnectError(Code.CANCELED, "Client disconnected"),
        # The same words under another code are not connectrpc's answer.
        ConnectError(Code.INVALID_ARGUMENT, "unary request has zero messages"),
    ],
    ids=["success", "ours", "ours-unimplemented", "ours-deadline", "disconnect", "other-code"],
)
async def test_other_outcomes_are_left_as_they_are(error: Exception | None) -> None:
    """Success, our own errors and a disconnect pass through."""
    await WireErrors().on_end(None, CONNECT, error)
