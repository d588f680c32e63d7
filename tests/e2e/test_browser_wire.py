"""The browser port's answers to requests connectrpc cannot read, in our words (never the
library's or Python's: a JSON parser, zlib, a header parser), with the right Connect or gRPC
status; and gRPC-Web's text form (application/grpc-web-text), served in base64."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import struct
import urllib.parse
from typing import Any
from uuid import uuid4

import pytest
from consent.v1 import catalog_pb2
from consent.v1 import cookies_pb2 as pb
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from structlog.testing import capture_logs

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import put_purpose
from tests.e2e.test_browser_port import Reply, _send, auth, prefix, record_body

RECORD = "/consent.v1.CookieService/RecordCookieChoice"
GET = "/consent.v1.CookieService/GetCookieChoice"
GRPC_WEB = "application/grpc-web+proto"
GRPC_WEB_TEXT = "application/grpc-web-text+proto"
# What the library's own answers said or quoted: none of it may reach a caller.
LIBRARY_WORDS = (
    "has no field named",
    "recursion",
    "decompress",
    "Error -3",
    "unmarshal",
    "protocol error",
    "unary request",
    "configured max",
    "parameter is required",
    "Request timed out",
    "Not implemented",
    "unknown compression",
)


@pytest.fixture
async def page_key(admin: AdminUseCases, tenant: Tenant) -> str:
    key, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="shop page")
    return key.token


async def post(port: int, path: str, data: bytes, headers: dict[str, str]) -> Reply:
    """One raw HTTP/1.1 POST from a thread, so the in-process server keeps serving."""
    return await asyncio.to_thread(_send, f"http://127.0.0.1:{port}{path}", data, headers, "POST")


async def connect_error(port: int, path: str, data: bytes, headers: dict[str, str]) -> str:
    """A Connect call that must be refused as invalid_argument (400): its message."""
    status, _, body = await post(port, path, data, {"Content-Type": "application/json", **headers})
    error = json.loads(body)
    assert (status, error["code"]) == (400, "invalid_argument"), body
    message: str = error["message"]
    assert not any(words in message for words in LIBRARY_WORDS), message
    return message


def frame(message: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(message)) + message


def grpc_web_reply(headers: dict[str, str], body: bytes) -> tuple[list[bytes], dict[str, str]]:
    """The messages of a gRPC-Web response and its trailers (in its last frame, or in the
    headers of a trailers-only answer), grpc-message percent-decoded."""
    messages, trailers = [], dict(headers)
    while body:
        flags, length = struct.unpack(">BI", body[:5])
        data, body = body[5 : 5 + length], body[5 + length :]
        if flags & 0x80:
            for line in filter(None, data.decode().split("\r\n")):
                key, value = line.split(":", 1)
                trailers[key.strip()] = value.strip()
        else:
            messages.append(data)
    if "grpc-message" in trailers:
        trailers["grpc-message"] = urllib.parse.unquote(trailers["grpc-message"])
    return messages, trailers


async def test_an_unknown_json_field_is_named_in_our_words_at_any_depth(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A JSON key the contract does not define, at the top or inside a message, is 400
    invalid_argument naming the key and the message type, never protobuf's text ("has no field
    named ... Available Fields"); inside a message the field is named by its path."""
    path = f"{prefix(tenant)}{RECORD}"
    top = json.dumps(record_body(uuid4().hex, zzz=1)).encode()
    assert await connect_error(http_port, path, top, auth(page_key)) == (
        'request: is not valid JSON for consent.v1.RecordCookieChoiceRequest: unknown field "zzz"'
    )
    nested = json.dumps(record_body(uuid4().hex, subject={"email": "a@b.fr", "zzz": 1})).encode()
    assert await connect_error(http_port, path, nested, auth(page_key)) == (
        'subject: is not valid JSON for consent.v1.SubjectRef: unknown field "zzz"'
    )


async def test_a_lone_surrogate_escape_names_its_field(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """JSON allows "\\ud800", UTF-8 cannot hold it: it was "request: does not match the
    contract", where the gRPC port names the field (probe AH)."""
    path = f"{prefix(tenant)}{RECORD}"
    top = json.dumps(record_body("\ud800" * 20)).encode()
    assert await connect_error(http_port, path, top, auth(page_key)) == (
        "visitor_id: is not valid UTF-8 (a lone surrogate escape)"
    )
    nested = json.dumps(record_body(uuid4().hex, subject={"email": "a\udc00@b.fr"})).encode()
    assert await connect_error(http_port, path, nested, auth(page_key)) == (
        "subject.email: is not valid UTF-8 (a lone surrogate escape)"
    )


async def test_a_json_key_given_twice_is_invalid_argument_and_stores_nothing(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """`{"visitorId": "a", "visitorId": "b"}` was taken as "b" (Python's json keeps the last
    one): what was stored was not what every reader of the body sees. Now 400 naming the key,
    at the top or inside a message, and the visitor has no choice."""
    path = f"{prefix(tenant)}{RECORD}"
    first, second = uuid4().hex, uuid4().hex
    body = json.dumps(record_body(first))[:-1] + f', "visitorId": "{second}"}}'
    assert await connect_error(http_port, path, body.encode(), auth(page_key)) == (
        'request: is not valid JSON: the key "visitorId" appears more than once'
    )
    nested = json.dumps(record_body(uuid4().hex, subject={"email": "a@b.fr"}))
    nested = nested.replace('"email": "a@b.fr"', '"email": "a@b.fr", "email": "c@d.fr"')
    assert "appears more than once" in await connect_error(
        http_port, path, nested.encode(), auth(page_key)
    )
    for visitor in (first, second):
        await _has_no_choice(http_port, tenant, page_key, visitor)
    # The same field under its JSON name and its proto name is given twice as well: the last
    # one was stored (probe AN).
    third, fourth = uuid4().hex, uuid4().hex
    both = json.dumps(record_body(third))[:-1] + f', "visitor_id": "{fourth}"}}'
    assert await connect_error(http_port, path, both.encode(), auth(page_key)) == (
        "visitor_id: is given twice in one object (as visitorId and as visitor_id): send it once"
    )
    for visitor in (third, fourth):
        await _has_no_choice(http_port, tenant, page_key, visitor)


async def test_a_json_body_is_utf_8(http_port: int, tenant: Tenant, page_key: str) -> None:
    """UTF-16 and UTF-32 bodies (json.loads guessed them from the bytes) and a UTF-8 byte order
    mark are refused: a proxy reading the body as UTF-8 saw something else (probe AN)."""
    path = f"{prefix(tenant)}{RECORD}"
    visitor = uuid4().hex
    text = json.dumps(record_body(visitor))
    assert await connect_error(http_port, path, text.encode("utf-16"), auth(page_key)) == (
        "request: is not valid JSON: send it in UTF-8"
    )
    # UTF-32 of ASCII text is UTF-8 too: NUL characters between the JSON's.
    assert await connect_error(http_port, path, text.encode("utf-32-be"), auth(page_key)) == (
        "request: is not valid JSON"
    )
    bom = b"\xef\xbb\xbf" + text.encode()
    assert await connect_error(http_port, path, bom, auth(page_key)) == (
        "request: is not valid JSON"
    )
    await _has_no_choice(http_port, tenant, page_key, visitor)


async def _has_no_choice(port: int, tenant: Tenant, page_key: str, visitor: str) -> None:
    get = json.dumps({"visitorId": visitor}).encode()
    status, _, answer = await post(
        port, f"{prefix(tenant)}{GET}", get, {"Content-Type": "application/json", **auth(page_key)}
    )
    assert status == 200, answer
    assert json.loads(answer)["status"] == "COOKIE_CHOICE_STATUS_NONE", answer


@pytest.mark.parametrize(
    "method",
    [
        4294967299,
        -4294967293,
        3.7,
        3.0,
        " 3",
        "3",
        True,
        "CUSTOM",
        "COOKIE_CHOICE_METHOD_CUSTOM\x00x",
    ],
)
async def test_an_enum_that_is_not_a_name_or_an_int32_is_invalid_argument_and_stores_nothing(
    http_port: int, tenant: Tenant, page_key: str, method: object
) -> None:
    """json_format read 4294967299 (2**32 + 3), 3.7 and " 3" as 3: a CUSTOM choice was stored
    for a body no reader would call that (probe V). An enum is one of its names or an integer
    of 32 bits, as on the native port; the field is named."""
    path = f"{prefix(tenant)}{RECORD}"
    visitor = uuid4().hex
    body = json.dumps(record_body(visitor, method=method)).encode()
    message = await connect_error(http_port, path, body, auth(page_key))
    assert message.startswith("method: has a value of the wrong type or out of range"), message
    await _has_no_choice(http_port, tenant, page_key, visitor)


def _without_details(body: bytes) -> dict[str, Any]:
    """A Connect error's code and message, once its details are checked: the ErrorInfo every
    error carries, its reason the status's name (probes UC, VA: a refusal from the request's
    head had none)."""
    error: dict[str, Any] = json.loads(body)
    [info] = error.pop("details")
    assert info["type"] == "google.rpc.ErrorInfo"
    padded = info["value"] + "=" * (-len(info["value"]) % 4)
    decoded = ErrorInfo.FromString(base64.b64decode(padded))
    assert (decoded.reason, decoded.domain) == (error["code"].upper(), "consentd")
    return error


async def test_a_service_not_served_here_is_unimplemented_in_the_calls_protocol(
    http_port: int, tenant: Tenant, page_key: str, admin_key: str
) -> None:
    """AuditService (served on the gRPC port only) on the browser port: Connect's
    `unimplemented` (501 as Connect's table has it, JSON: probe FC saw 404 here and 501 for
    RightsService.EraseSubject) or gRPC-Web's status 12, naming the gRPC port. It was a bare
    404 "not found" whatever the protocol; a service that exists nowhere is 404."""
    path = "/consent.v1.AuditService/VerifyAuditChain"
    status, _, body = await post(
        http_port, path, b"{}", {"Content-Type": "application/json", **auth(page_key)}
    )
    error = json.loads(body)
    assert (status, error["code"]) == (501, "unimplemented"), body
    assert "call it on the gRPC port" in error["message"]
    # A method CampaignService does not have is nowhere: 404, as on a service served here.
    status, _, body = await post(
        http_port,
        "/consent.v1.CampaignService/NoSuchMethod",
        b"{}",
        {"Content-Type": "application/json", **auth(page_key)},
    )
    assert (status, _without_details(body)) == (
        404,
        {"code": "unimplemented", "message": "consent.v1.CampaignService has no such method"},
    )
    # Services the port serves in part: their other methods are sent to the gRPC port.
    for elsewhere in (
        "/consent.v1.RightsService/EraseSubject",
        "/consent.v1.CampaignService/ExportSuppressionList",
    ):
        status, _, body = await post(
            http_port, elsewhere, b"{}", {"Content-Type": "application/json", **auth(admin_key)}
        )
        assert (status, json.loads(body)["code"]) == (501, "unimplemented"), body
        assert "call it on the gRPC port" in json.loads(body)["message"], body
    # A service that exists nowhere was sent to the gRPC port too.
    status, _, body = await post(
        http_port,
        "/consent.v1.Nope/Call",
        b"{}",
        {"Content-Type": "application/json", **auth(page_key)},
    )
    error = json.loads(body)
    assert (status, error["code"], error["message"]) == (
        404,
        "unimplemented",
        "there is no service consent.v1.Nope",
    )
    status, headers, _ = await post(
        http_port, path, frame(b""), {"Content-Type": GRPC_WEB, **auth(page_key)}
    )
    assert (status, headers.get("grpc-status")) == (200, "12"), headers


async def test_deeply_nested_json_is_invalid_argument_without_python_internals(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A body nested thousands of levels deep (as an array, or under a field) is 400
    invalid_argument saying so, never Python's "maximum recursion depth"."""
    path = f"{prefix(tenant)}{RECORD}"
    too_deep = (
        "request: is not valid JSON for consent.v1.RecordCookieChoiceRequest: nested too deeply"
    )
    deep_field = b'{"visitorId": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3001
    for body in (b"[" * 5000 + b"]" * 5000, deep_field):
        assert await connect_error(http_port, path, body, auth(page_key)) == too_deep


async def test_a_body_that_does_not_decompress_is_invalid_argument_in_our_words(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A gzip body that is not gzip, or is cut short, is invalid_argument "is not valid gzip
    data" over Connect and gRPC-Web, never zlib's words; a good one is served."""
    path = f"{prefix(tenant)}{RECORD}"
    body = json.dumps(record_body(uuid4().hex)).encode()
    gzipped = auth(page_key, **{"Content-Encoding": "gzip"})
    not_gzip = "request: is not valid gzip data (the encoding its header names)"
    for bad in (b"not gzip at all", gzip.compress(body)[:-6]):
        assert await connect_error(http_port, path, bad, gzipped) == not_gzip
    status, _, _ = await post(
        http_port, path, gzip.compress(body), {"Content-Type": "application/json", **gzipped}
    )
    assert status == 200
    headers = auth(page_key, **{"Content-Type": GRPC_WEB, "grpc-encoding": "gzip"})
    status, answer, reply = await post(http_port, path, frame(b"garbage", flags=1), headers)
    _, trailers = grpc_web_reply(answer, reply)
    assert status == 200
    assert (trailers["grpc-status"], trailers["grpc-message"]) == ("3", not_gzip)


async def test_a_compression_is_named_in_any_case_and_in_the_unary_calls_header(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """Probe TC: `Content-Encoding: GZIP` was 501 (content-codings are case-insensitive), and a
    unary call naming gzip in the streaming calls' header had its body read as JSON, "is not
    valid JSON: send it in UTF-8"."""
    path = f"{prefix(tenant)}{RECORD}"
    body = gzip.compress(json.dumps(record_body(uuid4().hex)).encode())
    shouted = {"Content-Type": "application/json", **auth(page_key, **{"Content-Encoding": "GZIP"})}
    status, _, answer = await post(http_port, path, body, shouted)
    assert status == 200, answer
    streaming = auth(page_key, **{"Connect-Content-Encoding": "gzip"})
    said = await connect_error(http_port, path, body, streaming)
    assert said.startswith("connect-content-encoding: is for streaming calls"), said


async def test_a_method_path_percent_encoded_is_not_routed_to_the_method(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """Probe TC: `/consent.v1.CookieService%2FRecordCookieChoice` reached RecordCookieChoice,
    past a proxy's rule on the path: a call is routed by the path as sent."""
    encoded = f"{prefix(tenant)}{RECORD.replace('Service/', 'Service%2F')}"
    body = json.dumps(record_body(uuid4().hex)).encode()
    status, _, answer = await post(
        http_port, encoded, body, {"Content-Type": "application/json", **auth(page_key)}
    )
    assert status == 404, answer  # no such method


async def test_malformed_timeout_headers_are_refused_in_our_words(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A connect-timeout-ms or grpc-timeout header connectrpc cannot parse is invalid_argument
    saying what the header must be, never the parser's text (which quoted the header with an
    unbalanced quote); a well-formed one is honoured as before."""
    path = f"{prefix(tenant)}{GET}"
    body = json.dumps({"visitorId": uuid4().hex}).encode()
    connect_rule = "connect-timeout-ms: must be 1 to 10 digits: the timeout in milliseconds"
    for value in ('1"', "12345678901", "-5", "1_0"):
        headers = auth(page_key, **{"Connect-Timeout-Ms": value})
        assert await connect_error(http_port, path, body, headers) == connect_rule
    ok = await post(
        http_port,
        path,
        body,
        auth(page_key, **{"Content-Type": "application/json", "Connect-Timeout-Ms": "5000"}),
    )
    assert ok[0] == 200
    message = pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString()
    grpc_rule = "grpc-timeout: must be 1 to 8 digits and a unit (H, M, S, m, u or n), e.g. 1500m"
    for value in ('x"', "123456789S", "10", "5s"):
        headers = auth(page_key, **{"Content-Type": GRPC_WEB, "grpc-timeout": value})
        status, answer, reply = await post(http_port, path, frame(message), headers)
        _, trailers = grpc_web_reply(answer, reply)
        assert (status, trailers["grpc-status"], trailers["grpc-message"]) == (200, "3", grpc_rule)
    headers = auth(page_key, **{"Content-Type": GRPC_WEB, "grpc-timeout": "5S"})
    _, answer, reply = await post(http_port, path, frame(message), headers)
    assert grpc_web_reply(answer, reply)[1]["grpc-status"] == "0"


async def test_grpc_web_text_is_served_in_base64(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """application/grpc-web-text (grpc-web's default mode): a base64 request, even sent as
    separately padded pieces, records and reads a choice; the response is base64 of the same
    frames, content type application/grpc-web-text+proto; a request error comes back as its
    gRPC status; a body that is not base64 is invalid_argument saying so."""
    path = f"{prefix(tenant)}{RECORD}"
    headers = auth(page_key, **{"Content-Type": GRPC_WEB_TEXT, "X-Grpc-Web": "1"})
    visitor_id = uuid4().hex
    request = pb.RecordCookieChoiceRequest(
        visitor_id=visitor_id, method=pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL, policy_revision=1
    ).SerializeToString()
    status, answer, reply = await post(http_port, path, base64.b64encode(frame(request)), headers)
    assert (status, answer["content-type"]) == (200, GRPC_WEB_TEXT)
    (recorded,), trailers = grpc_web_reply(answer, base64.b64decode(reply, validate=True))
    assert trailers["grpc-status"] == "0"
    choice_id = pb.RecordCookieChoiceResponse.FromString(recorded).choice.choice_id

    read = frame(pb.GetCookieChoiceRequest(visitor_id=visitor_id).SerializeToString())
    pieces = base64.b64encode(read[:4]) + base64.b64encode(read[4:])  # each padded
    status, answer, reply = await post(http_port, f"{prefix(tenant)}{GET}", pieces, headers)
    (found,), _ = grpc_web_reply(answer, base64.b64decode(reply, validate=True))
    assert pb.GetCookieChoiceResponse.FromString(found).choice.choice_id == choice_id

    bad = pb.RecordCookieChoiceRequest(visitor_id="short", policy_revision=1).SerializeToString()
    status, answer, reply = await post(http_port, path, base64.b64encode(frame(bad)), headers)
    _, trailers = grpc_web_reply(answer, base64.b64decode(reply, validate=True))
    assert (status, trailers["grpc-status"]) == (200, "3")
    assert trailers["grpc-message"].startswith("visitor_id:")

    status, answer, reply = await post(http_port, path, b"not base64!", headers)
    _, trailers = grpc_web_reply(answer, base64.b64decode(reply, validate=True))
    assert (status, answer["content-type"], trailers["grpc-status"]) == (200, GRPC_WEB_TEXT, "3")
    assert trailers["grpc-message"] == (
        "request: is not valid base64 (the content type is application/grpc-web-text)"
    )


async def connect_answer(
    port: int, path: str, data: bytes, headers: dict[str, str]
) -> tuple[int, str, str]:
    """A Connect call's HTTP status, error code and message (never the library's words)."""
    status, _, body = await post(port, path, data, {"Content-Type": "application/json", **headers})
    error = json.loads(body)
    assert not any(words in error["message"] for words in LIBRARY_WORDS), error
    return status, error["code"], error["message"]


async def grpc_web_status(
    port: int, path: str, data: bytes, headers: dict[str, str]
) -> tuple[str, str]:
    """A gRPC-Web call's grpc-status and grpc-message (never the library's words)."""
    status, answer, reply = await post(port, path, data, {"Content-Type": GRPC_WEB, **headers})
    _, trailers = grpc_web_reply(answer, reply)
    assert status == 200
    message = trailers.get("grpc-message", "")
    assert not any(words in message for words in LIBRARY_WORDS), message
    return trailers["grpc-status"], message


async def test_a_grpc_web_body_without_exactly_one_message_is_invalid_argument(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """An empty gRPC-Web body, or one holding two messages, is INVALID_ARGUMENT (3) saying so,
    never connectrpc's UNIMPLEMENTED "unary request has zero messages"."""
    path = f"{prefix(tenant)}{GET}"
    message = frame(pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString())
    assert await grpc_web_status(http_port, path, b"", auth(page_key)) == (
        "3",
        "request: the body holds no message",
    )
    assert await grpc_web_status(http_port, path, message * 2, auth(page_key)) == (
        "3",
        "request: the body holds more than one message: the call takes one",
    )


async def test_a_broken_grpc_web_frame_is_invalid_argument_in_our_words(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A body ending inside a frame (its prefix or its message), a frame with unknown flags,
    and a frame flagged compressed with no grpc-encoding are INVALID_ARGUMENT in our words,
    never "protocol error: promised 20 bytes ..." (nor INTERNAL for the compressed one)."""
    path = f"{prefix(tenant)}{GET}"
    message = pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString()
    cut = "request: the body ends inside a message"
    for body in (struct.pack(">BI", 0, 20) + b"x" * 17, b"\x00\x00\x00"):
        assert await grpc_web_status(http_port, path, body, auth(page_key)) == ("3", cut)
    assert await grpc_web_status(http_port, path, frame(message, flags=2), auth(page_key)) == (
        "3",
        "request: a message's flags must be 0, or 1 when it is compressed",
    )
    compressed = frame(gzip.compress(message), flags=1)
    assert await grpc_web_status(http_port, path, compressed, auth(page_key)) == (
        "3",
        "request: a message is flagged compressed, but no grpc-encoding header names its "
        "compression",
    )


async def test_a_message_over_the_limit_is_resource_exhausted_in_our_words(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A message over 64 KiB (as sent, as a gRPC-Web frame announces it, or once inflated) is
    resource_exhausted naming the limit in bytes, never "larger than configured max"."""
    path = f"{prefix(tenant)}{RECORD}"
    too_large = "request: the message is larger than 65536 bytes"
    big = json.dumps(record_body(uuid4().hex, userAgent="x" * 70_000)).encode()
    gzipped = auth(page_key, **{"Content-Encoding": "gzip"})
    for body, headers in ((big, auth(page_key)), (gzip.compress(big), gzipped)):
        status, code, message = await connect_answer(http_port, path, body, headers)
        assert (status, code, message) == (429, "resource_exhausted", too_large)
    announced = struct.pack(">BI", 0, 70_000) + b"x" * 10
    assert await grpc_web_status(http_port, path, announced, auth(page_key)) == ("8", too_large)


async def test_a_get_without_a_readable_message_is_invalid_argument_in_our_words(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A Connect GET without its `message` parameter, whose base64 message is not base64 (any
    character outside it too), whose plain one is not UTF-8, or with a `base64` other than 1,
    is invalid_argument naming the parameter."""
    url = f"http://127.0.0.1:{http_port}{prefix(tenant)}{GET}"
    answers = {
        "?encoding=json": "message: is required for a GET call: the request, in the encoding "
        "it names",
        "?encoding=json&base64=1&message=A": "message: is not valid base64url (the base64 "
        "parameter is 1)",
        # Characters outside base64 were skipped (probe O): `e30!!!!` read as `e30` ({}).
        "?encoding=json&base64=1&message=e30!!!!": "message: is not valid base64url (the "
        "base64 parameter is 1)",
        "?encoding=json&base64=1&message=%40%40%40%40": "message: is not valid base64url (the "
        "base64 parameter is 1)",
        # One of two was served, the other ignored (probe BQ).
        "?encoding=json&message=%7B%7D&message=%7B%7D": "message: is given more than once: "
        "give it once",
        "?encoding=json&encoding=proto&message=%7B%7D": "encoding: is given more than once: "
        "give it once",
        # Probe CC: bytes that are not UTF-8 were replaced (a POST's body is refused so), and
        # base64=2 read as "not base64".
        "?encoding=json&message=%7B%22visitorId%22%3A%22%C3%28%22%7D": "message: is not valid "
        "UTF-8",
        "?encoding=json&base64=2&message=e30": "base64: must be 1 (the message is base64url) or "
        "absent",
    }
    for query, expected in answers.items():
        status, _, body = await asyncio.to_thread(_send, url + query, None, auth(page_key), "GET")
        error = json.loads(body)
        assert (status, error["code"], error["message"]) == (400, "invalid_argument", expected)


async def test_a_deadline_is_deadline_exceeded_in_our_words(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A call past the timeout it set is deadline_exceeded naming that header, never
    connectrpc's "Request timed out"."""
    path = f"{prefix(tenant)}{GET}"
    body = json.dumps({"visitorId": uuid4().hex}).encode()
    headers = auth(page_key, **{"Connect-Timeout-Ms": "0"})
    assert await connect_answer(http_port, path, body, headers) == (
        504,
        "deadline_exceeded",
        "the call took longer than its connect-timeout-ms allows",
    )
    message = frame(pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString())
    headers = auth(page_key, **{"grpc-timeout": "1n"})
    assert await grpc_web_status(http_port, path, message, headers) == (
        "4",
        "the call took longer than its grpc-timeout allows",
    )


async def test_an_unknown_compression_is_named_and_never_echoed(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A compression the port does not support, named in content-encoding, grpc-encoding or a
    GET's compression parameter, is unimplemented saying which ones to use; what was sent is
    never echoed (it is the caller's text: "<img src=x>")."""
    path = f"{prefix(tenant)}{GET}"
    sent = "<img src=x>"
    body = json.dumps({"visitorId": uuid4().hex}).encode()
    headers = auth(page_key, **{"Content-Encoding": sent})
    assert await connect_answer(http_port, path, body, headers) == (
        501,
        "unimplemented",
        "content-encoding: not supported: use gzip or identity",
    )
    message = frame(pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString())
    assert await grpc_web_status(
        http_port, path, message, auth(page_key, **{"grpc-encoding": sent})
    ) == ("12", "grpc-encoding: not supported: use gzip or identity")
    query = urllib.parse.urlencode({"encoding": "json", "message": "{}", "compression": sent})
    url = f"http://127.0.0.1:{http_port}{path}?{query}"
    status, _, reply = await asyncio.to_thread(_send, url, None, auth(page_key), "GET")
    error = json.loads(reply)
    assert (status, error["code"], error["message"]) == (
        501,
        "unimplemented",
        "compression: not supported: use gzip or identity",
    )


async def test_a_bad_protocol_version_is_refused_without_echoing_it(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A connect-protocol-version other than 1 is invalid_argument saying what it must be,
    never quoting it back ("got '2<x>'"), even with a malformed timeout header beside it."""
    path = f"{prefix(tenant)}{GET}"
    body = json.dumps({"visitorId": uuid4().hex}).encode()
    for headers in (
        {"Connect-Protocol-Version": "2<x>"},
        {"Connect-Protocol-Version": "", "Connect-Timeout-Ms": "<x>"},
    ):
        assert await connect_answer(http_port, path, body, auth(page_key, **headers)) == (
            400,
            "invalid_argument",
            "connect-protocol-version: must be 1",
        )
    ok = auth(page_key, **{"Connect-Protocol-Version": "1"})
    assert (await post(http_port, path, body, {"Content-Type": "application/json", **ok}))[0] == 200


async def test_a_method_not_served_here_is_unimplemented_in_our_words(
    http_port: int, tenant: Tenant, admin_key: str
) -> None:
    """The catalogue's writes are unimplemented on the browser port, saying where to call
    them, never the generated "Not implemented"."""
    path = f"{prefix(tenant)}/consent.v1.CatalogService/PutPurpose"
    assert await connect_answer(http_port, path, b"{}", auth(admin_key)) == (
        501,
        "unimplemented",
        "consent.v1.CatalogService/PutPurpose is not served on the browser port: call it on "
        "the gRPC port",
    )


async def test_an_unknown_method_or_http_verb_is_unimplemented_in_our_words(
    http_port: int, tenant: Tenant, admin_key: str
) -> None:
    """A method the service does not have (404) or an HTTP verb it does not take (405) is
    unimplemented saying why, in the call's own form: a Connect JSON error (connectrpc sent an
    empty body), gRPC-Web's status headers; the path as sent is never echoed."""
    service = f"{prefix(tenant)}/consent.v1.ConsentService"
    status, headers, body = await post(
        http_port,
        f"{service}/NoSuchMethod",
        b"{}",
        {"Content-Type": "application/json", **auth(admin_key)},
    )
    assert (status, headers["content-type"]) == (404, "application/json")
    assert _without_details(body) == {
        "code": "unimplemented",
        "message": "consent.v1.ConsentService has no such method",
    }

    def put(path: str) -> Reply:
        sent = {"Content-Type": "application/json", **auth(admin_key)}
        return _send(f"http://127.0.0.1:{http_port}{path}", b"{}", sent, "PUT")

    status, headers, body = await asyncio.to_thread(put, f"{service}/CheckConsent")
    # Its request names a person: POST only (probe XD: `GET, POST`, then GET refused).
    assert (status, headers["allow"]) == (405, "POST")
    assert json.loads(body)["code"] == "unimplemented"
    assert "takes POST only" in json.loads(body)["message"]
    listing = f"{prefix(tenant)}/consent.v1.CatalogService/ListPurposes"
    status, headers, body = await asyncio.to_thread(put, listing)
    assert (status, headers["allow"]) == (405, "GET, POST")
    assert "take POST" in json.loads(body)["message"]
    status, headers, body = await post(
        http_port,
        f"{service}/NoSuchMethod",
        frame(b""),
        {"Content-Type": GRPC_WEB, **auth(admin_key)},
    )
    _, trailers = grpc_web_reply(headers, body)
    assert (status, trailers["grpc-status"]) == (200, "12")
    assert trailers["grpc-message"] == "consent.v1.ConsentService has no such method"
    raw = trailers["grpc-status-details-bin"]
    said = Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    [packed] = said.details
    info = ErrorInfo()
    packed.Unpack(info)
    assert (said.code, info.reason) == (12, "UNIMPLEMENTED")


async def test_content_types_are_matched_in_any_case(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A content type is a media type, case-insensitive and with parameters:
    `Application/grpc-web-text` is gRPC-Web's text form (answered in it), `Application/JSON;
    charset=utf-8` is Connect's JSON."""
    path = f"{prefix(tenant)}{GET}"
    read = frame(pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString())
    headers = auth(page_key, **{"Content-Type": "Application/grpc-web-text"})
    status, answer, reply = await post(http_port, path, base64.b64encode(read), headers)
    assert (status, answer["content-type"]) == (200, GRPC_WEB_TEXT)
    _, trailers = grpc_web_reply(answer, base64.b64decode(reply, validate=True))
    assert trailers["grpc-status"] == "0"
    body = json.dumps({"visitorId": uuid4().hex}).encode()
    headers = auth(page_key, **{"Content-Type": "Application/JSON; charset=utf-8"})
    status, answer, _ = await post(http_port, path, body, headers)
    assert (status, answer["content-type"]) == (200, "application/json")


async def test_an_unknown_content_type_is_a_415_saying_what_to_send(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A POST in a content type the port does not serve, or a GET naming an encoding it does
    not know, is 415 with a short text naming what to send and Accept-Post listing every
    content type accepted (gRPC-Web's forms too); what was sent is never echoed."""
    path = f"{prefix(tenant)}{GET}"
    accepted = (
        "application/proto, application/json, application/grpc-web, application/grpc-web+proto, "
        "application/grpc-web+json, application/grpc-web-text, application/grpc-web-text+proto, "
        "application/grpc-web-text+json"
    )
    for kind in ("text/x<img src=x>", "application/xml", "application/connect+json"):
        headers = auth(page_key, **{"Content-Type": kind})
        status, answer, reply = await post(http_port, path, b"{}", headers)
        assert (status, answer["accept-post"]) == (415, accepted)
        assert answer["content-type"] == "text/plain; charset=utf-8"
        assert reply.decode() == (
            "content-type: not supported: use application/proto, application/json, "
            "application/grpc-web, application/grpc-web+proto, application/grpc-web+json, "
            "application/grpc-web-text, application/grpc-web-text+proto or "
            "application/grpc-web-text+json"
        )
    url = f"http://127.0.0.1:{http_port}{path}?encoding=%3Cimg%3E&message=%7B%7D"
    status, answer, reply = await asyncio.to_thread(_send, url, None, auth(page_key), "GET")
    assert (status, answer["accept-post"]) == (415, accepted)
    assert reply == b"encoding: not supported: use proto or json"


async def test_a_body_in_another_charset_than_utf8_is_a_415(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """`application/json; charset=utf-16` (or latin-1) was read as UTF-8: JSON is UTF-8 only
    (RFC 8259), so another charset is 415 saying so; `charset=UTF-8`, quoted or not, is served."""
    path = f"{prefix(tenant)}{GET}"
    body = json.dumps({"visitorId": uuid4().hex}).encode()
    for charset in ("utf-16", "ISO-8859-1", '"latin1"'):
        headers = auth(page_key, **{"Content-Type": f"application/json; charset={charset}"})
        status, _, reply = await post(http_port, path, body, headers)
        assert status == 415, charset
        assert b"send UTF-8" in reply
    for charset in ("UTF-8", '"utf-8"'):
        headers = auth(page_key, **{"Content-Type": f"application/json;charset={charset}"})
        status, _, _ = await post(http_port, path, body, headers)
        assert status == 200, charset


async def test_a_header_that_is_not_utf8_is_left_out_not_a_500(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A header value in Latin-1 (a browser's fetch() allows it: a user agent, a note, a cookie
    another page set) made connectrpc answer 500 "unknown" quoting the codec's error, over
    Connect and gRPC-Web alike. The header is left out and the call is served."""
    latin1 = {"X-Note": "caf\xe9", "User-Agent": "Navigateur \xe9t\xe9"}
    path = f"{prefix(tenant)}{RECORD}"
    body = json.dumps(record_body(uuid4().hex)).encode()
    status, _, answer = await post(
        http_port, path, body, {"Content-Type": "application/json", **auth(page_key, **latin1)}
    )
    assert status == 200, answer
    assert json.loads(answer)["choice"]["visitorId"]
    request = pb.GetCookieChoiceRequest(visitor_id=uuid4().hex).SerializeToString()
    headers = auth(page_key, **{"Content-Type": GRPC_WEB, **latin1})
    status, reply, data = await post(http_port, f"{prefix(tenant)}{GET}", frame(request), headers)
    _, trailers = grpc_web_reply(reply, data)
    assert (status, trailers["grpc-status"]) == (200, "0"), trailers


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"policyRevision": -1}, "policy_revision"),
        ({"policyRevision": 1.5}, "policy_revision"),
        ({"subject": {"subjectId": 5}}, "subject.subject_id"),
        ({"subject": {"subject_id": 5}}, "subject.subject_id"),
    ],
)
async def test_a_value_of_the_wrong_type_is_named_by_its_proto_field_name(
    http_port: int, tenant: Tenant, page_key: str, extra: dict[str, object], field: str
) -> None:
    """Probe CA: a JSON value of the wrong type or out of range was named by the key given
    (`expiresAt: has a value ...`) where every other error names the proto field
    (`expires_at: must be in the future`): a client reading ErrorInfo's field saw two names
    for one field. Nested fields are named by their path."""
    visitor = uuid4().hex
    body = json.dumps(record_body(visitor, **extra)).encode()
    message = await connect_error(http_port, f"{prefix(tenant)}{RECORD}", body, auth(page_key))
    assert message == f"{field}: has a value of the wrong type or out of range", message
    await _has_no_choice(http_port, tenant, page_key, visitor)


@pytest.mark.parametrize(
    "written",
    ["10000-01-01T00:00:00Z", "2030-12-31T23:59:60Z", "2030-01-01T10:00:00", "2030-01-01", 5],
    ids=repr,
)
async def test_a_time_not_written_as_rfc_3339_is_told_how_to_write_it(
    http_port: int, tenant: Tenant, page_key: str, written: object
) -> None:
    """A year 10000, a leap second, a time without its offset, a date alone and a number were
    all "has a value of the wrong type or out of range" (probe WC): the message now shows the
    form json_format reads."""
    visitor = uuid4().hex
    body = json.dumps(record_body(visitor, expiresAt=written)).encode()
    message = await connect_error(http_port, f"{prefix(tenant)}{RECORD}", body, auth(page_key))
    assert message.startswith("expires_at: must be an RFC 3339 time such as 20"), message
    await _has_no_choice(http_port, tenant, page_key, visitor)


@pytest.mark.parametrize("offset", ["+99:99", "+25:00", "-24:00", "+05:60"])
async def test_a_time_with_an_impossible_utc_offset_is_refused(
    http_port: int, tenant: Tenant, page_key: str, offset: str
) -> None:
    """Probe KA: json_format took any two-digit offset and stored the time shifted by days (a
    typo backdated a cookie choice's expiry, or a consent's decision time); RFC 3339 offsets
    run from -23:59 to +23:59."""
    visitor = uuid4().hex
    body = json.dumps(record_body(visitor, expiresAt=f"2030-01-01T00:00:00{offset}")).encode()
    message = await connect_error(http_port, f"{prefix(tenant)}{RECORD}", body, auth(page_key))
    assert message == "expires_at: has a UTC offset out of range (RFC 3339: -23:59 to +23:59, or Z)"
    await _has_no_choice(http_port, tenant, page_key, visitor)
    body = json.dumps(record_body(visitor, expiresAt="2030-01-01T00:00:00+23:59")).encode()
    status, _, answer = await post(
        http_port,
        f"{prefix(tenant)}{RECORD}",
        body,
        {"Content-Type": "application/json", **auth(page_key)},
    )
    assert status == 200, answer


async def test_a_bug_before_any_answer_is_an_internal_error_quoting_its_id(
    http_port: int, tenant: Tenant, page_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met before the call's answer began (probe CC met one in a first draft of the GET
    check) was uvicorn's plain-text "Internal Server Error": it is Connect's `internal` error
    with an id to quote, logged with that id, and the port goes on serving."""

    def broken(scope: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("consentd.api.connect_wire.malformed_get_message", broken)
    url = f"http://127.0.0.1:{http_port}{prefix(tenant)}{GET}?encoding=json&message=%7B%7D"
    with capture_logs() as logs:
        status, _, body = await asyncio.to_thread(_send, url, None, auth(page_key), "GET")
    error = json.loads(body)
    assert (status, error["code"]) == (500, "internal"), body
    (failed,) = [line for line in logs if line["event"] == "http_failed"]
    quoted = f"internal error; quote error id {failed['request_id']} when reporting it"
    assert error["message"] == quoted
    monkeypatch.undo()
    assert (await asyncio.to_thread(_send, url, None, auth(page_key), "GET"))[0] == 400


async def test_a_get_of_a_binary_message_is_any_bytes(
    http_port: int, tenant: Tenant, admin_key: str, stubs: Stubs
) -> None:
    """Probe CE: a Connect GET with `encoding=proto` and no base64 (legal: the message
    percent-escaped) was refused "is not valid UTF-8" once its bytes were not (a varint past
    127), and connectrpc read the escapes as UTF-8 text (the message arrived cut). Only a JSON
    message must be UTF-8; a binary one is served. (A GET of a method naming a person is
    refused whatever its encoding: test_browser_port.py.)"""
    request = catalog_pb2.ListPurposesRequest(page_size=200).SerializeToString()
    with pytest.raises(UnicodeDecodeError):
        request.decode()
    await put_purpose(stubs, "newsletter")
    query = f"?encoding=proto&message={urllib.parse.quote(request)}"
    url = f"http://127.0.0.1:{http_port}{prefix(tenant)}/consent.v1.CatalogService/ListPurposes"
    status, _, body = await asyncio.to_thread(_send, url + query, None, auth(admin_key), "GET")
    assert status == 200, body
    answer = catalog_pb2.ListPurposesResponse.FromString(body)
    assert "newsletter" in [p.purpose_id for p in answer.purposes]
