"""The contract's fields as a JSON body names them (their JSON or proto names), for the browser
port's JSON codec (api/connect_codecs.py): which field a key is, which message type a value holds,
and which field json_format's own error text names."""

from __future__ import annotations

import functools
import re

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from consentd.domain.errors import InvalidInput


@functools.cache
def json_fields(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    fields = {f.json_name: f for f in descriptor.fields}
    fields.update(descriptor.fields_by_name)
    return fields


def message_of(field: FieldDescriptor) -> Descriptor | None:
    """The message type a field's JSON value (or map value) holds, unless its JSON form is
    special (the google.protobuf types: json_format checks those itself)."""
    inner = field.message_type
    if inner is not None and inner.GetOptions().map_entry:
        inner = inner.fields_by_name["value"].message_type
    if inner is None or inner.full_name.startswith("google.protobuf."):
        return None
    return inner


def json_error(text: str, descriptor: Descriptor) -> InvalidInput:
    """The field json_format names in `text` ("Failed to parse a field: Failed to parse b
    field: <parser's words>" -> a.b), by its proto name as every other error names it (it
    quotes the key given: `expiresAt`, probe CA), with a reason of ours."""
    names: list[str] = []
    holder: Descriptor | None = descriptor
    found: FieldDescriptor | None = None
    for key in FAILED_FIELD.findall(text):
        found = json_fields(holder).get(key) if holder is not None else None
        names.append(found.name if found is not None else key)
        holder = message_of(found) if found is not None else None
    field = ".".join(names) or "request"
    if "should not have multiple" in text:
        return InvalidInput(field, "sets one field, or two fields of one oneof, more than once")
    if "null is not allowed" in text:
        return InvalidInput(field, "must not hold null in a list")
    if field == "request":
        return InvalidInput(field, "does not match the contract")
    inner = found.message_type if found is not None else None
    if inner is not None and inner.full_name in _WRITTEN_AS:
        return InvalidInput(field, _WRITTEN_AS[inner.full_name])
    return InvalidInput(field, "has a value of the wrong type or out of range")


# What a well-known type's JSON value is told to look like (a leap second, a time without its
# offset and a year 10000 were all "the wrong type or out of range", probe WC).
_WRITTEN_AS = {
    "google.protobuf.Timestamp": "must be an RFC 3339 time such as 2026-01-31T09:30:00Z: "
    "seconds 00-59, at most 9 fractional digits, Z or an offset, years 0001-9999",
}


FAILED_FIELD = re.compile(r"Failed to parse (\w+) field")
