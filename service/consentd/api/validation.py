"""Checks that apply to every request before a servicer sees it."""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from consentd.domain.errors import InvalidInput


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
        _name_unknown_fields(message, path)
        # Somewhere the walk does not name (inside a map value): refused all the same.
        raise InvalidInput(path or "request", "has fields this API does not accept")


def _name_unknown_fields(message: Message, path: str) -> None:
    """Raises InvalidInput naming the first (sub)message found that carries unknown fields."""
    unknown = UnknownFieldSet(message)
    if len(unknown):
        numbers = sorted({unknown[i].field_number for i in range(len(unknown))})
        raise InvalidInput(
            path or "request", f"has fields this API does not accept (numbers {numbers})"
        )
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        if descriptor.is_repeated and not descriptor.message_type.GetOptions().map_entry:
            for index, item in enumerate(value):
                _name_unknown_fields(item, f"{name}[{index}]")
        elif not descriptor.is_repeated:
            _name_unknown_fields(value, name)
