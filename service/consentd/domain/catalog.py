"""Rules of the tenant's catalogue: purpose and notice keys, notice fingerprints; and the field
checks every request shares: free text, one-line names, IP addresses."""

from __future__ import annotations

import hashlib
import ipaddress
import re

from consentd.domain.errors import InvalidInput

_KEY = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
MAX_NOTICE_CONTENT = 200_000
# C0 controls but tab, newline and carriage return; PostgreSQL refuses NUL in text outright.
_CONTROL = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r") | {"\x7f"}
# One line (a name): no control character at all, C1 included, and no line or paragraph break.
_NOT_IN_A_LINE = (
    _CONTROL | frozenset("\t\n\r\u2028\u2029") | frozenset(chr(c) for c in range(0x80, 0xA0))
)
MAX_TEXT = 2_000


def check_key(field: str, value: str) -> str:
    """A purpose or notice key: 1 to 64 of `a-z 0-9 _ -`, starting with a letter."""
    # fullmatch, not match + "$": "$" also matches before a trailing newline.
    if not _KEY.fullmatch(value):
        raise InvalidInput(
            field, "must be 1 to 64 characters of a-z, 0-9, '_' or '-', starting with a letter"
        )
    return value


def check_text(
    field: str,
    value: str,
    limit: int = MAX_TEXT,
    *,
    required: bool = False,
    one_line: bool = False,
) -> str:
    """Free text of at most `limit` characters, without control characters (tab and line breaks
    allowed unless `one_line`: names of who did something are one line). Raises InvalidInput
    when empty but required, too long, or holding a character it may not."""
    if required and not value.strip():
        raise InvalidInput(field, "is required")
    if len(value) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters")
    if one_line and any(c in _NOT_IN_A_LINE for c in value):
        raise InvalidInput(field, "must be one line: no tab, newline or control character")
    if any(c in _CONTROL for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def check_ip_address(field: str, value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4 or IPv6 address (surrounding spaces ignored). Raises InvalidInput."""
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        raise InvalidInput(field, "is not an IPv4 or IPv6 address (e.g. 203.0.113.7)") from None


def check_language(field: str, value: str) -> str:
    """A BCP 47 language tag such as `fr` or `fr-FR`."""
    if not _LANGUAGE.fullmatch(value):
        raise InvalidInput(field, "must be a BCP 47 language tag such as 'fr-FR'")
    return value


def content_sha256(content: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text: the fingerprint of what the subject was shown."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()
