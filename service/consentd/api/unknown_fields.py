"""Refusing fields the contract does not define, and naming them, at a bounded cost.

A message of two million unknown fields (a 4 MB body, any key with a scope) took seconds of the
event loop and hundreds of megabytes as an UnknownFieldSet (probe AD): the fields are now read
from the message's wire bytes, a few tags at a time, within a budget for the whole request."""

from __future__ import annotations

import functools

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from consentd.domain.errors import InvalidInput

# Tags and submessages looked at in all before the refusal stops naming numbers.
SCAN_BUDGET = 20_000
# Distinct numbers named at most.
MOST_NAMED = 8

_VARINT, _FIXED64, _LENGTH, _START_GROUP, _END_GROUP, _FIXED32 = range(6)
_WIRE_OF_TYPE = {
    FieldDescriptor.TYPE_DOUBLE: _FIXED64,
    FieldDescriptor.TYPE_FIXED64: _FIXED64,
    FieldDescriptor.TYPE_SFIXED64: _FIXED64,
    FieldDescriptor.TYPE_FLOAT: _FIXED32,
    FieldDescriptor.TYPE_FIXED32: _FIXED32,
    FieldDescriptor.TYPE_SFIXED32: _FIXED32,
    FieldDescriptor.TYPE_STRING: _LENGTH,
    FieldDescriptor.TYPE_BYTES: _LENGTH,
    FieldDescriptor.TYPE_MESSAGE: _LENGTH,
    FieldDescriptor.TYPE_GROUP: _START_GROUP,
}


def reject_unknown_fields(message: Message, path: str = "") -> None:
    """A field this contract does not define (a tenant id, a server timestamp, a field from a
    newer or forged schema) is refused rather than silently dropped. Raises InvalidInput."""
    # The common case, no unknown field anywhere, is told in C: a copy that drops unknown fields
    # (recursively) is as long as the message. Walking the tree in Python to find and name the
    # field is only done when there is one (a 1,000-recipient message: 0.4 us per recipient
    # instead of 6).
    copy = type(message).FromString(message.SerializeToString())
    copy.DiscardUnknownFields()
    if copy.ByteSize() != message.ByteSize():
        _name_unknown_fields(message, path, [SCAN_BUDGET])
        # Past the budget, or somewhere the walk does not name (a map value): refused all the same.
        raise InvalidInput(path or "request", "has fields this API does not accept")


def _name_unknown_fields(message: Message, path: str, budget: list[int]) -> None:
    """Raises InvalidInput naming the first (sub)message found that carries unknown fields,
    while `budget` lasts."""
    numbers = _unknown_numbers(message, budget)
    if 0 in numbers:  # no field has number 0: said as the parse of any other message says it
        raise InvalidInput(path or "request", "is not valid protobuf (field number 0)")
    if numbers:
        raise InvalidInput(
            path or "request", f"has fields this API does not accept (numbers {numbers})"
        )
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        if descriptor.is_repeated and descriptor.message_type.GetOptions().map_entry:
            continue
        items = enumerate(value) if descriptor.is_repeated else ((None, value),)
        for index, item in items:
            if budget[0] <= 0:
                return
            budget[0] -= 1
            _name_unknown_fields(item, name if index is None else f"{name}[{index}]", budget)


def _unknown_numbers(message: Message, budget: list[int]) -> list[int]:
    """The numbers of `message`'s own fields its contract does not define (or sent with another
    wire type, which the parser keeps as unknown), MOST_NAMED at most, read from its wire
    bytes one tag at a time while `budget` lasts."""
    fields = message.DESCRIPTOR.fields_by_number
    data = message.SerializePartialToString()
    found: dict[int, None] = {}
    at = 0
    try:
        while at < len(data) and budget[0] > 0 and len(found) < MOST_NAMED:
            budget[0] -= 1
            tag, at = varint(data, at)
            number, wire = tag >> 3, tag & 7
            at = _skip(data, at, wire, budget)
            field = fields.get(number)
            if field is None or wire not in _wire_types(field):
                found[number] = None
    except IndexError:  # not ours: the parser read these bytes whole; name what was found
        pass
    return sorted(found)


@functools.cache
def _wire_types(field: FieldDescriptor) -> frozenset[int]:
    """The wire types a field may come with: its own, and packed for a repeated number."""
    own = _WIRE_OF_TYPE.get(field.type, _VARINT)
    packable = field.is_repeated and own in (_VARINT, _FIXED32, _FIXED64)
    return frozenset({own, _LENGTH} if packable else {own})


def varint(data: bytes, position: int) -> tuple[int, int]:
    """A varint at `position` and the position after it; IndexError when it runs off the end
    (also validation.py's, naming the field of a body that does not decode)."""
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift >= 70:
            raise IndexError("varint too long")


def _skip(data: bytes, at: int, wire: int, budget: list[int]) -> int:
    """Where the value of a field of this wire type that starts at `at` ends."""
    if wire == _VARINT:
        return varint(data, at)[1]
    if wire == _FIXED64:
        return at + 8
    if wire == _FIXED32:
        return at + 4
    if wire == _LENGTH:
        size, at = varint(data, at)
        return at + size
    if wire == _START_GROUP:  # to its end group, nested groups included
        depth = 1
        while depth and budget[0] > 0:
            budget[0] -= 1
            tag, at = varint(data, at)
            inner = tag & 7
            depth += 1 if inner == _START_GROUP else -1 if inner == _END_GROUP else 0
            if inner not in (_START_GROUP, _END_GROUP):
                at = _skip(data, at, inner, budget)
        return at if not depth else len(data)
    return at  # an end group: nothing follows its tag
