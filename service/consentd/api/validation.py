"""Checks that apply to every request before a servicer sees it."""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from consentd.domain.errors import InvalidInput


def reject_unknown_fields(message: Message, path: str = "") -> None:
    """A field this contract does not define (a tenant id, a server timestamp, a field from a
    newer or forged schema) is refused rather than silently dropped. Raises InvalidInput."""
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
                reject_unknown_fields(item, f"{name}[{index}]")
        elif not descriptor.is_repeated:
            reject_unknown_fields(value, name)
