"""Requests for every RPC, generated from the proto descriptors with Hypothesis: well-formed
messages of random content, and hostile bodies that no correct server may accept (a string that
is not UTF-8, a truncated field, an invalid wire type, an integer no column holds, a field the
contract does not define)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

F = FieldDescriptor
_INTS = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
# Exception text a caller must never see (Python's and protobuf's own words).
LEAKS = (
    "Traceback",
    "Exception",
    "Error parsing",
    "codec can't",
    "unmarshal",
    "object at 0x",
    "object is not",
    "NoneType",
    "Failed to",
    'File "',
    ", line ",
)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type in _INTS:
        low, high = _INTS[field.type]
        return st.one_of(st.integers(low, high), st.sampled_from([0, 1, high]))
    if field.type == F.TYPE_STRING:
        return st.text(max_size=12)
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=12)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(allow_nan=False, width=32)
    if field.type == F.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values] + [99])
    raise AssertionError(f"no strategy for {field.full_name}")


@st.composite
def messages(draw: st.DrawFn, descriptor: Descriptor, depth: int = 0) -> Message:
    """A message of `descriptor` with a random subset of its fields set (3 levels at most)."""
    message = GetMessageClass(descriptor)()
    for field in descriptor.fields:
        if depth > 2 or not draw(st.booleans()):
            continue
        if field.message_type is not None:
            if field.message_type.GetOptions().map_entry:
                key = _scalar(field.message_type.fields_by_name["key"])
                value_field = field.message_type.fields_by_name["value"]
                if value_field.message_type is not None:
                    continue
                entries = draw(st.dictionaries(key, _scalar(value_field), max_size=2))
                getattr(message, field.name).update(entries)
            elif field.is_repeated:
                items = draw(st.lists(messages(field.message_type, depth + 1), max_size=2))
                getattr(message, field.name).extend(items)
            elif not field.message_type.full_name.startswith("google.protobuf."):
                getattr(message, field.name).CopyFrom(draw(messages(field.message_type, depth + 1)))
        elif field.is_repeated:
            getattr(message, field.name).extend(draw(st.lists(_scalar(field), max_size=3)))
        elif field.containing_oneof is None or draw(st.booleans()):
            setattr(message, field.name, draw(_scalar(field)))
    return message


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _fields(descriptor: Descriptor, types: frozenset[int]) -> list[FieldDescriptor]:
    return [f for f in descriptor.fields if f.type in types]


_STRINGS = frozenset({F.TYPE_STRING})
# Unsigned only: a signed field sent 2^31 reads as a negative number, which its own rules judge.
_NUMBERS = frozenset({F.TYPE_UINT32, F.TYPE_UINT64})


# Each mutation is read from 12 bytes Hypothesis draws (one draw of a batch's bytes is far
# cheaper than a draw per mutation; the message a batch shares is the expensive draw).
MUTATION_BYTES = 12


@st.composite
def hostile(draw: st.DrawFn, descriptor: Descriptor, count: int = 50) -> list[bytes]:
    """`count` bodies, each a valid message of `descriptor` followed by bytes that make the
    whole request invalid."""
    base = draw(messages(descriptor)).SerializeToString()
    size = count * MUTATION_BYTES
    entropy = draw(st.binary(min_size=size, max_size=size))
    strings, numbers = _fields(descriptor, _STRINGS), _fields(descriptor, _NUMBERS)
    bodies = []
    for start in range(0, size, MUTATION_BYTES):
        chunk = entropy[start : start + MUTATION_BYTES]
        bodies.append(base + _mutation(strings, numbers, chunk))
    return bodies


def _mutation(
    strings: list[FieldDescriptor], numbers: list[FieldDescriptor], chunk: bytes
) -> bytes:
    kind, choice = chunk[0] % 5, chunk[1]
    value, noise = int.from_bytes(chunk[2:10]), chunk[10:]
    if kind == 0 and strings:  # a string that is not UTF-8
        text = noise + b"\xff" + noise[::-1]
        return _key(strings[choice % len(strings)].number, 2) + _varint(len(text)) + text
    if kind == 1 and numbers:  # an integer no column holds
        field = numbers[choice % len(numbers)]
        wide = field.type == F.TYPE_UINT64
        low, span = (2**63, 2**63) if wide else (2**31, 2**31)
        return _key(field.number, 0) + _varint(low + value % span)
    if kind == 2:  # a length-delimited field cut short
        return _key(1 + choice % 20, 2) + _varint(5 + value % 200) + noise[:4]
    if kind == 3:  # a wire type that does not exist
        return _key(1 + choice % 20, 6 + value % 2)
    return _key(1000 + choice, 0) + _varint(value)  # a field the contract does not define


# Bodies that are not JSON at all.
NOT_JSON = (b"{", b"nul", b"\xff", b"{'a': 1}", b"[1,", b"", b'{"a":}', b"\x00{}")
# Values of the wrong type for a field of each kind (or out of any column's range).
WRONG = {
    "number": (2**64, -(2**64), "x", 1.5, {}, True),
    "string": (1, True, [], {"a": 1}),
    "message": (5, "x", [1], True),
    "repeated": (5, "x", {"a": 1}),
    "other": ([[]], "\x00", 10**30, {}),
}


@st.composite
def hostile_json(draw: st.DrawFn, descriptor: Descriptor, count: int = 50) -> list[bytes]:
    """`count` JSON bodies that are not requests of `descriptor`: not JSON, not an object, a
    field of the wrong type or out of range, or a field the contract does not define."""
    size = count * 4
    entropy = draw(st.binary(min_size=size, max_size=size))
    fields = list(descriptor.fields)
    bodies = []
    for start in range(0, size, 4):
        kind, pick, value, extra = entropy[start : start + 4]
        bodies.append(_json_body(fields, kind % 4, pick, value, extra))
    return bodies


def _json_body(
    fields: list[FieldDescriptor], kind: int, pick: int, value: int, extra: int
) -> bytes:
    if kind == 0:
        return NOT_JSON[pick % len(NOT_JSON)]
    if kind == 1:
        return json.dumps([None, pick, "x" * (value % 5), [extra], 1.5][pick % 5]).encode()
    if kind == 2 and fields:
        field = fields[pick % len(fields)]
        wrong = WRONG[_json_kind(field)]
        return json.dumps({field.json_name: wrong[value % len(wrong)]}).encode()
    return json.dumps({f"zz{value}": [None, extra, "x", {"a": pick}][extra % 4]}).encode()


def _json_kind(field: FieldDescriptor) -> str:
    if field.is_repeated:
        return "repeated"
    if field.message_type is not None:
        return "message"
    if field.type in _INTS:
        return "number"
    return "string" if field.type == F.TYPE_STRING else "other"
