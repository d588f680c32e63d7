"""Rules of the tenant's catalogue: purpose and notice keys, notice fingerprints."""

from __future__ import annotations

import hashlib
import re

from consentd.domain.errors import InvalidInput

_KEY = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
MAX_NOTICE_CONTENT = 200_000
# C0 controls but tab, newline and carriage return; PostgreSQL refuses NUL in text outright.
_CONTROL = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r") | {"\x7f"}
MAX_TEXT = 2_000


def check_key(field: str, value: str) -> str:
    """A purpose or notice key: 1 to 64 of `a-z 0-9 _ -`, starting with a letter."""
    # fullmatch, not match + "$": "$" also matches before a trailing newline.
    if not _KEY.fullmatch(value):
        raise InvalidInput(
            field, "must be 1 to 64 characters of a-z, 0-9, '_' or '-', starting with a letter"
        )
    return value


def check_text(field: str, value: str, limit: int = MAX_TEXT, *, required: bool = False) -> str:
    """Free text of at most `limit` characters; raises InvalidInput when empty but required."""
    if required and not value.strip():
        raise InvalidInput(field, "is required")
    if len(value) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters")
    if any(c in _CONTROL for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def check_language(field: str, value: str) -> str:
    """A BCP 47 language tag such as `fr` or `fr-FR`."""
    if not _LANGUAGE.fullmatch(value):
        raise InvalidInput(field, "must be a BCP 47 language tag such as 'fr-FR'")
    return value


def content_sha256(content: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text: the fingerprint of what the subject was shown."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()
