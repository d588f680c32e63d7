"""The request headers connectrpc reads before any interceptor runs: each must have its form
(our words when it does not), and every value must be UTF-8 (api/connect_wire.py uses them)."""

from __future__ import annotations

import base64
import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor

from consentd.api.asgi import Scope, header
from consentd.api.refusals import is_grpc_web
from consentd.domain.errors import InvalidInput


@dataclass(frozen=True)
class HeaderRule:
    """The form a header connectrpc checks before any interceptor runs must have, and our words
    for it (connectrpc's quote the header)."""

    name: bytes
    form: re.Pattern[str]
    reason: str


# Connect's headers, then gRPC-Web's, in the order connectrpc checks them. An empty
# connect-timeout-ms is no timeout; gRPC-Web's timeout is up to 8 digits and a unit.
CONNECT_HEADERS = (
    HeaderRule(b"connect-protocol-version", re.compile("1"), "must be 1"),
    HeaderRule(
        b"connect-timeout-ms",
        re.compile("[0-9]{0,10}"),
        "must be 1 to 10 digits: the timeout in milliseconds",
    ),
)
GRPC_WEB_HEADERS = (
    HeaderRule(
        b"grpc-timeout",
        re.compile("[0-9]{1,8}[HMSmun]"),
        "must be 1 to 8 digits and a unit (H, M, S, m, u or n), e.g. 1500m",
    ),
)


def without_malformed_headers(scope: Scope) -> tuple[Scope, InvalidInput | None]:
    """The request without the headers of its protocol that are malformed (and the refusal of
    the first one) and without any header whose value is not UTF-8."""
    rules = (
        GRPC_WEB_HEADERS
        if is_grpc_web((header(scope, b"content-type") or "").lower())
        else CONNECT_HEADERS
    )
    # A value that is not UTF-8 (a Latin-1 user agent, a cookie another site set) is dropped:
    # connectrpc decodes every header as UTF-8 and answered 500 with the codec's error text.
    headers = [
        (key, value.lower() if key in _CASELESS else value)
        for key, value in scope.get("headers", ())
        if _utf8(value)
    ]
    refused = _unary_stream_encoding(scope)
    for rule in rules:
        values = [value.decode("latin-1") for key, value in headers if key == rule.name]
        if all(rule.form.fullmatch(value) for value in values):
            continue
        headers = [(key, value) for key, value in headers if key != rule.name]
        if refused is None:
            refused = InvalidInput(rule.name.decode(), rule.reason)
    return {**scope, "headers": headers}, refused


# Content-codings are case-insensitive (RFC 9110 8.4.1): `GZIP` was answered 501.
_CASELESS = frozenset(
    {
        b"content-encoding",
        b"connect-content-encoding",
        b"grpc-encoding",
        b"accept-encoding",
        b"connect-accept-encoding",
        b"grpc-accept-encoding",
    }
)


def _unary_stream_encoding(scope: Scope) -> InvalidInput | None:
    """A unary Connect call naming its compression in the streaming calls' header only: its
    gzip body was read as JSON, "request: is not valid JSON" (probe TC)."""
    kind = (header(scope, b"content-type") or "").lower().split(";")[0].strip()
    if kind not in ("application/json", "application/proto"):
        return None
    if header(scope, b"connect-content-encoding") is None or header(scope, b"content-encoding"):
        return None
    reason = "is for streaming calls: a unary call names its body's compression in content-encoding"
    return InvalidInput("connect-content-encoding", reason)


def _utf8(value: bytes) -> bool:
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


# A GET call's message with base64=1: base64url (or base64), with or without its padding.
BASE64 = re.compile("[A-Za-z0-9_+/-]*={0,2}")


def malformed_get_message(scope: Scope) -> InvalidInput | None:
    """The refusal of a Connect GET of another protocol version, giving a parameter twice, with
    a `base64` other than 1, whose `message` is not UTF-8, or not base64 while `base64` is 1: the
    library skipped what is not (`ChJ2!!!!` was read as `ChJ2`, `@@@@` as an empty message,
    refused for a field it never had; probe O)."""
    if scope.get("method") != "GET":
        return None
    if names_a_person(*scope.get("path", "").rsplit("/", 2)[-2:]):
        return InvalidInput("GET", PERSON_IN_URL)
    query = urllib.parse.parse_qs(
        scope.get("query_string", b"").decode("latin-1"),
        keep_blank_values=True,
        encoding="latin-1",  # each escaped byte as it is (the UTF-8 check is below)
    )
    # Each of the GET form's parameters once: of two `message`, one was served and the other
    # ignored (probe BQ), as two `idempotency-key` headers are refused.
    for name in ("message", "encoding", "base64", "compression", "connect"):
        if len(query.get(name, ())) > 1:
            return InvalidInput(name, "is given more than once: give it once")
    # The GET form of connect-protocol-version: `v1` when given (probe AN: `v9` was served).
    if any(value != "v1" for value in query.get("connect", [])):
        return InvalidInput("connect", "must be v1")
    json = query.get("encoding", [""])[0] == "json"
    return _malformed_message(query.get("base64", [""])[0], query.get("message", []), json=json)


def _malformed_message(base64: str, messages: list[str], *, json: bool) -> InvalidInput | None:
    if base64 not in ("", "0", "1"):
        return InvalidInput("base64", "must be 1 (the message is base64url) or absent")
    if base64 != "1":
        # Percent-escapes of bytes that are not UTF-8 were replaced and read as other text
        # (probe CC); a POST's body is refused so. A binary message is any bytes (probe CE).
        plain = not json or all(_utf8(m.encode("latin-1")) for m in messages)
        return None if plain else InvalidInput("message", "is not valid UTF-8")
    if all(BASE64.fullmatch(value) for value in messages):
        return None
    return InvalidInput("message", "is not valid base64url (the base64 parameter is 1)")


def binary_get_in_base64(scope: Scope) -> Scope:
    """A Connect GET of a binary message percent-escaped without base64 (legal), as the same
    request in base64url: connectrpc read the escapes as UTF-8 text, replacing what was not,
    and the message arrived cut ("subject: is truncated"; probe CE)."""
    if scope.get("method") != "GET":
        return scope
    pairs = urllib.parse.parse_qsl(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True, encoding="latin-1"
    )
    given = dict(pairs)
    if given.get("encoding", "json") == "json" or given.get("base64") == "1":
        return scope
    raw = given.get("message", "").encode("latin-1")
    given.update(base64="1", message=base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return {**scope, "query_string": urllib.parse.urlencode(given).encode()}


# What a call past its own timeout is told, naming the header that set it (connectrpc's words
# replaced; api/connect_wire.py, api/http.py).
CALLER_TIMEOUT = "the call took longer than its {} allows"
_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def timeout_seconds(scope: Scope) -> tuple[float | None, str]:
    """The call's own timeout in seconds and the header's name: its protocol's only (Connect's
    connect-timeout-ms, gRPC-Web's grpc-timeout; the other one's bounded the key's look-up,
    probe IL); None when it gives none, or one of the wrong form (refused later, by its rule)."""
    # A media type is case-insensitive (`Application/gRPC-Web+proto` is gRPC-Web; probe IM).
    if is_grpc_web((header(scope, b"content-type") or "").lower()):
        given = header(scope, b"grpc-timeout") or ""
        if re.fullmatch("[0-9]{1,8}[HMSmun]", given):
            return int(given[:-1]) * _UNITS[given[-1]], "grpc-timeout"
    # ASCII digits, at most 10 (str.isdigit took "²" and 400 digits: a traceback; probe IJ).
    elif re.fullmatch("[0-9]{1,10}", given := header(scope, b"connect-timeout-ms") or ""):
        return int(given) / 1000, "connect-timeout-ms"
    return None, ""


PERSON_IN_URL = (
    "is not taken for this method: its request names a person (an e-mail, a phone, an id) and "
    "a GET puts it in the URL, which proxies and browsers keep in their logs and history; send "
    "it by POST"
)
# The messages that name a person: every contact point a request carries is in one (probe TA:
# a Connect GET of CheckConsent or ExportSubject put an address in a proxy's access log).
_PERSON = frozenset({"consent.v1.SubjectRef", "consent.v1.SubjectIdentity"})


@lru_cache(maxsize=1024)  # bounded: every call of the browser port asks, naming any method
def names_a_person(service: str, method: str) -> bool:
    """Whether the method's request can name a person (holds a SubjectRef or a
    SubjectIdentity, at any depth)."""
    try:
        found = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(method)
    except (KeyError, AttributeError):
        return False
    return found is not None and _holds_a_person(found.input_type, set())


def _holds_a_person(message: Descriptor, seen: set[str]) -> bool:
    if message.full_name in _PERSON:
        return True
    seen.add(message.full_name)
    kinds = (f.message_type for f in message.fields if f.message_type is not None)
    return any(k.full_name not in seen and _holds_a_person(k, seen) for k in kinds)
