"""The names a caller writes an enum value with (`PARTY_SCOPE_FIRST_PARTY`, in Connect JSON
too), for the messages that list the values a field takes: they named the domain's spelling
(`first_party`), which the JSON API refuses (probe DT)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from consent.v1 import cookies_pb2, rights_pb2, types_pb2
from google.protobuf.descriptor import EnumDescriptor


def _enums() -> Iterator[EnumDescriptor]:
    for module in (types_pb2, rights_pb2, cookies_pb2):
        yield from module.DESCRIPTOR.enum_types_by_name.values()
        for message in module.DESCRIPTOR.message_types_by_name.values():
            yield from message.enum_types


@functools.cache
def _names(numbers: tuple[tuple[int, str], ...]) -> tuple[str, ...]:
    """The wire names of these (number, domain value) pairs: those of the one enum that has
    them all; the domain values when none does."""
    for enum in _enums():
        named = [enum.values_by_number.get(n) for n, _ in numbers]
        if all(
            v is not None and v.name.endswith("_" + d.upper())
            for v, (_, d) in zip(named, numbers, strict=True)
        ):
            return tuple(sorted(v.name for v in named if v is not None))
    return tuple(sorted(d for _, d in numbers))


def wire_names(table: Mapping[Any, Enum]) -> str:
    """The values of a proto-enum-to-domain table as a caller names them, comma-separated."""
    return ", ".join(_names(tuple((int(n), str(m.value)) for n, m in table.items())))
