"""Checks that apply to every request before a servicer sees it."""

from __future__ import annotations

import functools
from typing import Any, TypeVar, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from consentd.api.limits import FIELD_LIMITS
from consentd.api.unknown_fields import reject_unknown_fields, varint
from consentd.domain.errors import InvalidInput

M = TypeVar("M", bound=Message)
NO_MESSAGE = (
    "the call ended without a whole message: a unary call sends exactly one, then ends its stream"
)


# The widest value an integer field may carry: what its column (integer or bigint) holds.
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_32_BIT = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED32,
    }
)
_64_BIT = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)


def decode(message_class: type[M], data: bytes) -> M:
    """A request from its wire bytes, refused (InvalidInput naming the field) when it does not
    decode, carries a field the contract does not define, or an integer no column holds."""
    try:
        message = message_class.FromString(data)
    except (DecodeError, ValueError, RuntimeError):
        field, reason = _undecodable(cast(Descriptor, message_class.DESCRIPTOR), bytes(data), "")
        raise InvalidInput(field, reason) from None
    reject_unknown_fields(message)
    check_ranges(message)
    return message


def check_ranges(message: Message, path: str = "") -> None:
    """Every integer within its column's range (32-bit fields: integer, 64-bit: bigint), so a
    value the database cannot store is refused here, and every enum a value the contract
    defines (proto3 enums are open: an undefined number decodes and would pass for another).
    Raises InvalidInput naming the field."""
    if not _has_numbers(message.DESCRIPTOR):
        return
    for descriptor, value in message.ListFields():
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        if descriptor.type in _32_BIT or descriptor.type in _64_BIT:
            limit = _INT32_MAX if descriptor.type in _32_BIT else _INT64_MAX
            values = value if descriptor.is_repeated else (value,)
            if any(not -limit - 1 <= item <= limit for item in values):
                own = FIELD_LIMITS.get(f"{message.DESCRIPTOR.name}.{descriptor.name}")
                own = own or FIELD_LIMITS.get(descriptor.name)
                raise InvalidInput(name, own or f"must be at most {limit}")
        elif descriptor.enum_type is not None:
            _check_enum(descriptor.enum_type, descriptor, value, name)
        elif (
            descriptor.message_type
            and not descriptor.message_type.GetOptions().map_entry
            and _has_numbers(descriptor.message_type)
        ):
            items = value if descriptor.is_repeated else (value,)
            for index, item in enumerate(items):
                check_ranges(item, f"{name}[{index}]" if descriptor.is_repeated else name)


def _check_enum(enum: EnumDescriptor, field: FieldDescriptor, value: Any, name: str) -> None:
    values = value if field.is_repeated else (value,)
    for index, item in enumerate(values):
        if item not in enum.values_by_number:
            names = ", ".join(v.name for v in enum.values if v.number)  # not *_UNSPECIFIED
            raise InvalidInput(
                f"{name}[{index}]" if field.is_repeated else name,
                f"{item} is not a {enum.name} value: use one of {names}",
            )


@functools.cache
def _has_numbers(descriptor: Descriptor) -> bool:
    """Whether a message of this type can hold an integer or enum field, itself or below (the
    walk skips the rest: a 1,000-recipient list of strings costs nothing here)."""
    return any(
        field.type in _32_BIT
        or field.type in _64_BIT
        or field.enum_type is not None
        or (
            field.message_type is not None
            and field.message_type is not descriptor
            and _has_numbers(field.message_type)
        )
        for field in descriptor.fields
    )


def _undecodable(descriptor: Descriptor, data: bytes, path: str) -> tuple[str, str]:
    """Which field of a message that does not decode is wrong, and how: read the wire format
    as far as it goes (protobuf says only that the whole message failed)."""
    here = path or "request"
    position = 0
    try:
        while position < len(data):
            key, position = varint(data, position)
            number, wire = key >> 3, key & 7
            field = descriptor.fields_by_number.get(number)
            name = (f"{path}.{field.name}" if path else field.name) if field else here
            # Field number 0 is never one: read on, a later byte blamed a field (probe FA).
            if number == 0 or wire not in (0, 1, 2, 5):
                why = "field number 0" if number == 0 else "unknown wire type"
                return name, f"is not valid protobuf ({why})"
            if wire == 0:
                _, position = varint(data, position)
            elif wire in (1, 5):
                position += 8 if wire == 1 else 4
            elif wire == 2:
                length, position = varint(data, position)
                chunk, position = data[position : position + length], position + length
                if position > len(data):
                    return name, "is truncated"
                bad = _bad_bytes(field, chunk, name)
                if bad is not None:
                    return bad
            if position > len(data):
                return name, "is truncated"
    except IndexError:
        return here, "is truncated"
    return here, "is not a valid message"


def _bad_bytes(field: FieldDescriptor | None, chunk: bytes, name: str) -> tuple[str, str] | None:
    if field is None:
        return None
    if field.type == FieldDescriptor.TYPE_STRING:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            return name, "is not valid UTF-8"
    elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
        try:
            GetMessageClass(field.message_type).FromString(chunk)
        except (DecodeError, ValueError, RuntimeError):
            return _undecodable(field.message_type, chunk, name)
    elif field.is_repeated and field.type != FieldDescriptor.TYPE_BYTES:
        # A packed run of numbers: each must be a whole varint or fixed-width value.
        try:
            packed = 0
            while packed < len(chunk):
                _, packed = varint(chunk, packed)
        except IndexError:
            return name, "is truncated"
    return None
