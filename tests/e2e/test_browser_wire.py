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
from uuid import uuid4

import pytest
from consent.v1 import cookies_pb2 as pb

from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Scope, Tenant
from tests.e2e.test_browser_port import Reply, _send, auth, prefix, record_body

RECORD = "/consent.v1.CookieService/RecordCookieChoice"
GET = "/consent.v1.CookieService/GetCookieChoice"
GRPC_WEB = "application/grpc-web+proto"
GRPC_WEB_TEXT = "application/grpc-web-text+proto"
# What the library's own answers quoted: none of it may reach a caller.
LIBRARY_WORDS = ("has no field named", "recursion", "decompress", "Error -3", "unmarshal")


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
