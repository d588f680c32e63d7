"""Ids as a caller writes them back: the form consentd gave (36 characters, hyphenated), or its
32 hexadecimal digits, in either case."""

from __future__ import annotations

import re
from uuid import UUID

_WRITTEN = re.compile(
    r"[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}"
)


def uuid_in(text: str) -> UUID:
    """The UUID `text` writes, in one of those forms. Raises ValueError for any other, which
    uuid.UUID takes: braces, `urn:uuid:`, hyphens anywhere, and other scripts' digits (a
    request id written with a full-width six found the request; probe WA)."""
    if _WRITTEN.fullmatch(text) is None:
        raise ValueError(f"not a UUID: {text!r}")
    return UUID(text)
