"""The browser port's codecs and compressions: Connect's JSON and binary codecs, decoding as
strictly as the gRPC port does (api/validation.py), and gzip, each refusing a body it cannot read
with INVALID_ARGUMENT in our words (connectrpc would quote the exception it caught)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar, cast

from connectrpc.codec import Codec
from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
from connectrpc.compression import Compression
from connectrpc.compression.gzip import GzipCompression
from connectrpc.errors import ConnectError
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from consentd.api.connect_errors import connect_error
from consentd.api.json_names import json_error, json_fields, message_of
from consentd.api.validation import decode
from consentd.domain.errors import InvalidInput

M = TypeVar("M", bound=Message)
# The longest piece of a caller's field name quoted back to it.
MAX_QUOTED_NAME = 64


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
            return _from_json(data, message_class)
        except InvalidInput as error:
            raise connect_error(error) from None


def _from_json(data: bytes | bytearray, message_class: type[M]) -> M:
    """The message a JSON body holds. Raises InvalidInput naming the field (the first unknown
    one, or the one of the wrong type), or the request when it is not one JSON object."""
    descriptor = cast(Descriptor, message_class.DESCRIPTOR)
    try:
        # UTF-8 only (RFC 8259 §8.1): json.loads(bytes) also read UTF-16 and UTF-32, which a
        # proxy reading the body as UTF-8 sees as something else (probe AN).
        text = bytes(data).decode("utf-8")
        document = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as error:
        raise InvalidInput("request", str(error)) from None
    except UnicodeDecodeError:
        raise InvalidInput("request", "is not valid JSON: send it in UTF-8") from None
    except ValueError:  # not JSON (a UTF-8 byte order mark included)
        raise InvalidInput("request", "is not valid JSON") from None
    except RecursionError:
        raise _too_deep(descriptor) from None
    if not isinstance(document, dict):
        raise InvalidInput("request", "must be a JSON object")
    message = message_class()
    try:
        try:
            _refuse_loose_enums(document, descriptor)
        except InvalidInput:
            _refuse_unknown_fields(document, descriptor, "")  # an unknown field is named first
            raise
        json_format.ParseDict(document, message, ignore_unknown_fields=False)
    except RecursionError:
        raise _too_deep(descriptor) from None
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as error:
        # Only a body json_format refused is walked: to name an unknown field in our words
        # (json_format quotes it in its own), first as before any other fault.
        try:
            _refuse_unknown_fields(document, descriptor, "")
            _refuse_lone_surrogates(document, descriptor)
        except RecursionError:
            raise _too_deep(descriptor) from None
        raise json_error(str(error), descriptor) from None
    return message


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (RFC 8259 leaves duplicates to the parser:
    json took the last, so what was stored was not what every reader of the body sees)."""
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            quoted = json.dumps(key[:MAX_QUOTED_NAME])
            raise _DuplicateKey(f"is not valid JSON: the key {quoted} appears more than once")
        seen.add(key)
    return document


def _too_deep(descriptor: Descriptor) -> InvalidInput:
    return InvalidInput(
        "request", f"is not valid JSON for {descriptor.full_name}: nested too deeply"
    )


def _walk(
    document: dict[str, Any], descriptor: Descriptor, path: str
) -> Iterator[tuple[Descriptor, str, str, FieldDescriptor | None, Any]]:
    """Every key of `document` and of the messages inside it, depth first in the document's
    order: the message type holding it, that message's path, the key, its field (None when the
    contract has none; json_format reads a key as the JSON or the proto name) and its value."""
    for key, value in document.items():
        field = json_fields(descriptor).get(key)
        yield descriptor, path, key, field, value
        if field is None or value is None:
            continue
        inner = message_of(field)
        if inner is None:
            continue
        name = f"{path}.{field.name}" if path else field.name
        for where, item in _items(field, name, value):
            if isinstance(item, dict):
                yield from _walk(item, inner, where)


def _refuse_unknown_fields(document: dict[str, Any], descriptor: Descriptor, path: str) -> None:
    """Raises InvalidInput for the first key of `document`, or of a message inside it, that
    names no field of the contract."""
    for holder, where, key, field, _ in _walk(document, descriptor, path):
        if field is None:
            quoted = json.dumps(str(key)[:MAX_QUOTED_NAME])
            reason = f"is not valid JSON for {holder.full_name}: unknown field {quoted}"
            raise InvalidInput(where or "request", reason)


def _refuse_lone_surrogates(document: dict[str, Any], descriptor: Descriptor) -> None:
    """Raises InvalidInput naming the first string field holding a lone surrogate escape
    ("\\ud800": JSON allows it, UTF-8 cannot hold it): it was "request: does not match the
    contract", the gRPC port says which field (probe AH)."""
    for _, path, _, field, value in _walk(document, descriptor, ""):
        if field is None or field.type != FieldDescriptor.TYPE_STRING:
            continue
        name = f"{path}.{field.name}" if path else field.name
        for where, item in _items(field, name, value):
            if isinstance(item, str) and not _utf8(item):
                raise InvalidInput(where, "is not valid UTF-8 (a lone surrogate escape)")


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_INT32 = range(-(2**31), 2**31)
_TWICE = "is given twice in one object (as {} and as {}): send it once"
# The names listed (not UNSPECIFIED): "EMAIL" for "CHANNEL_EMAIL" said only "out of range", where
# a value left out listed them (probe QC).
_LOOSE_ENUM = "has a value of the wrong type or out of range: one of {} (or a 32-bit integer)"


def _refuse_loose_enums(document: dict[str, Any], descriptor: Descriptor) -> None:
    """Raises InvalidInput for a field given twice in one object, under its JSON name and its
    proto name (json_format took the last: a proxy checking `visitorId` saw another value than
    the one stored; probe AN), and for an enum value that is not one of its names or a 32-bit
    integer: json_format read 4294967297, 1.5 and " 1" as 1 (CHANNEL_EMAIL; probe V). The
    native port's parser keeps an over-long enum varint's low 32 bits, as protobuf does (a
    client's encoder never sends one; probe HB). Unknown keys are left to json_format."""
    given: set[tuple[str, int]] = set()
    for _, path, _, field, value in _walk(document, descriptor, ""):
        if field is None:
            continue
        if (path, field.number) in given:
            name = f"{path}.{field.name}" if path else field.name
            raise InvalidInput(name, _TWICE.format(field.json_name, field.name))
        given.add((path, field.number))
        if value is not None and field.message_type is not None:
            _refuse_bad_offsets(field, path, value)
        if value is None or field.enum_type is None:
            continue
        if field.enum_type.full_name == "google.protobuf.NullValue":
            continue
        name = f"{path}.{field.name}" if path else field.name
        for where, item in _items(field, name, value):
            if not _enum_value(item, field):
                names = [v.name for v in field.enum_type.values if v.number != 0]
                raise InvalidInput(where, _LOOSE_ENUM.format(", ".join(names)))


# An RFC 3339 time's numeric UTC offset; json_format took any two digits (+99:99, +25:00) and
# stored the time shifted by days (a typo backdated legal evidence; probe KA).
_OFFSET = re.compile(r"[+-](\d\d):(\d\d)\Z")
_BAD_OFFSET = "has a UTC offset out of range (RFC 3339: -23:59 to +23:59, or Z)"


def _refuse_bad_offsets(field: FieldDescriptor, path: str, value: Any) -> None:
    if field.message_type is None or field.message_type.full_name != "google.protobuf.Timestamp":
        return
    name = f"{path}.{field.name}" if path else field.name
    for where, item in _items(field, name, value):
        offset = _OFFSET.search(item) if isinstance(item, str) else None
        if offset and (int(offset[1]) > 23 or int(offset[2]) > 59):
            raise InvalidInput(where, _BAD_OFFSET)


def _enum_value(item: Any, field: FieldDescriptor) -> bool:
    if isinstance(item, str):
        # upb's look-up stops at a NUL: "CHANNEL_EMAIL\u0000x" was CHANNEL_EMAIL (probe Y).
        names = field.enum_type.values_by_name if field.enum_type is not None else {}
        return "\x00" not in item and item in names
    return isinstance(item, int) and not isinstance(item, bool) and item in _INT32


def _items(field: FieldDescriptor, name: str, value: Any) -> list[tuple[str, Any]]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        if not isinstance(value, dict):
            return []
        return [(f"{name}[{str(k)[:MAX_QUOTED_NAME]}]", v) for k, v in value.items()]
    if field.is_repeated:
        return [(f"{name}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, list) else []
    return [(name, value)]


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


class StrictCompression:
    """A compression whose corrupt input is INVALID_ARGUMENT ("request: is not valid gzip
    data"), never zlib's words; a body that inflates past the limit stays connectrpc's
    RESOURCE_EXHAUSTED."""

    def __init__(self, compression: Compression) -> None:
        self._compression = compression

    def name(self) -> str:
        return self._compression.name()

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        return self._compression.compress(data)

    def decompress(
        self, data: bytes | bytearray | memoryview, read_max_bytes: int | None = None
    ) -> bytes:
        try:
            return self._compression.decompress(data, read_max_bytes)
        except ConnectError:
            raise
        except Exception:  # noqa: BLE001 - zlib.error, EOFError, OSError: all one answer
            reason = f"is not valid {self.name()} data (the encoding its header names)"
            raise connect_error(InvalidInput("request", reason)) from None


CODECS: tuple[Codec[Message, Any], ...] = (StrictBinaryCodec(), StrictJSONCodec())
COMPRESSIONS: tuple[Compression, ...] = (StrictCompression(GzipCompression()),)
