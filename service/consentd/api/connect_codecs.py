"""The browser port's codecs: Connect's JSON and binary codecs, decoding as strictly as the
gRPC port does (api/validation.py)."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from connectrpc.codec import Codec
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from google.protobuf import json_format
from google.protobuf.message import Message

from consentd.api.connect_errors import connect_error
from consentd.api.validation import decode
from consentd.domain.errors import InvalidInput

M = TypeVar("M", bound=Message)


class StrictJSONCodec:
    """Connect's JSON codec, refusing what the contract does not define (as the Gate does for
    binary messages) instead of dropping it, and anything that is not a JSON object:
    INVALID_ARGUMENT naming the field, never the parser's own words."""

    _json: Codec[Message, Any] = google_protobuf_json_codec(ignore_unknown_fields=False)

    def name(self) -> str:
        return self._json.name()

    def encode(self, message: Message) -> bytes:
        return self._json.encode(message)

    def decode(self, data: bytes | bytearray, message_class: type[M]) -> M:
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise connect_error(InvalidInput("request", "is not valid JSON")) from None
        if not isinstance(document, dict):
            raise connect_error(InvalidInput("request", "must be a JSON object"))
        message = message_class()
        try:
            json_format.ParseDict(document, message, ignore_unknown_fields=False)
        except (json_format.ParseError, ValueError, TypeError, AttributeError) as error:
            raise connect_error(_json_error(str(error))) from None
        return message


def _json_error(text: str) -> InvalidInput:
    """The field json_format names in `text` ("Failed to parse a field: Failed to parse b
    field: <parser's words>" -> a.b), with a reason of ours."""
    path = FAILED_FIELD.findall(text)
    if path:
        return InvalidInput(".".join(path), "has a value of the wrong type or out of range")
    if text.startswith("Message type"):
        return InvalidInput("request", text.split("\n", 1)[0][:200])
    return InvalidInput("request", "does not match the contract")


FAILED_FIELD = re.compile(r"Failed to parse (\w+) field")


class StrictBinaryCodec:
    """Connect's binary codec, decoding as the gRPC port does (api/validation.py): a body that
    does not decode is INVALID_ARGUMENT naming the field, never the parser's own words."""

    _binary: Codec[Message, Any] = google_protobuf_binary_codec()

    def name(self) -> str:
        return self._binary.name()

    def encode(self, message: Message) -> bytes:
        return self._binary.encode(message)

    def decode(self, data: bytes | bytearray, message_class: type[M]) -> M:
        try:
            return decode(message_class, bytes(data))
        except InvalidInput as error:
            raise connect_error(error) from None


CODECS: tuple[Codec[Message, Any], ...] = (StrictBinaryCodec(), StrictJSONCodec())
