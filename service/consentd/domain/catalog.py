"""Rules of the tenant's catalogue: purpose and notice keys, notice fingerprints; and the field
checks every request shares: free text, one-line names, IP addresses."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata

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
# Letters and symbols that render as nothing: Braille blank, the Hangul fillers. With spaces,
# format characters (Cf) and lone combining marks, a value made of them only looks empty.
BLANK_LOOKING = frozenset("\u2800\u3164\u115f\u1160\uffa0")
VISIBLE = (
    "at least one visible character (spaces, invisible characters and blank fillers such as"
    " U+2800 or U+3164 do not count)"
)


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
    allowed unless `one_line`). Raises InvalidInput when empty but required, too long, or
    holding a character it may not.

    `one_line` is for names of who did something, shown to operators as they are: besides line
    breaks they may not hold format characters (zero-width, bidi controls, BOM), which make a
    name read as another, and when given they must show at least one visible character."""
    if required and not value.strip():
        raise InvalidInput(field, "is required")
    if len(value) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters")
    if one_line:
        _check_one_line(field, value, required=required)
    if any(c in _CONTROL for c in value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def _check_one_line(field: str, value: str, *, required: bool) -> None:
    if value and not has_visible(value):
        raise InvalidInput(field, f"{'is required:' if required else 'must have'} {VISIBLE}")
    if any(c in _NOT_IN_A_LINE for c in value):
        raise InvalidInput(field, "must be one line: no tab, newline or control character")
    hidden = next(
        (
            c
            for i, c in enumerate(value)
            if unicodedata.category(c) == "Cf" and not _joins(value, i)
        ),
        None,
    )
    if hidden is not None:
        raise InvalidInput(
            field,
            f"must not contain invisible format characters such as zero-width or bidi controls"
            f" (found {code_point(hidden)})",
        )


ZWNJ, ZWJ = "\u200c", "\u200d"
VIRAMA = 9  # the canonical combining class of a virama (Indic scripts)
# Scripts whose letters join (Arabic, Syriac...): ZWNJ keeps two of them apart, as Persian
# spelling needs.
_JOINING_SCRIPTS = ("ARABIC", "SYRIAC", "NKO", "MONGOLIAN", "MANDAIC", "ADLAM", "HANIFI")


def _joins(value: str, i: int) -> bool:
    """Whether the joiner at `value[i]` is one a name needs, as IDNA's CONTEXTJ rules allow it
    (RFC 5892, approximated without joining types): ZWNJ or ZWJ after a virama; ZWNJ between
    two letters of a joining script; ZWJ between two emoji (a family, a profession). Any other
    is refused with the other format characters: it makes a name read as another."""
    before = _neighbour(value, i, -1)
    after = _neighbour(value, i, 1)
    if before is None or after is None:
        return False
    if value[i] in (ZWNJ, ZWJ) and unicodedata.combining(value[i - 1]) == VIRAMA:
        return True
    if value[i] == ZWNJ:
        return _joining_letter(before) and _joining_letter(after)
    if value[i] == ZWJ:
        return unicodedata.category(before) == "So" and unicodedata.category(after) == "So"
    return False


def _neighbour(value: str, i: int, step: int) -> str | None:
    """The nearest character before (-1) or after (1) `value[i]` that is not a combining mark,
    a variation selector or an emoji modifier."""
    i += step
    while 0 <= i < len(value):
        c = value[i]
        if not (unicodedata.category(c) in ("Mn", "Me", "Sk") or "\ufe00" <= c <= "\ufe0f"):
            return c
        i += step
    return None


def _joining_letter(c: str) -> bool:
    return unicodedata.category(c) == "Lo" and unicodedata.name(c, "").startswith(_JOINING_SCRIPTS)


def has_visible(value: str) -> bool:
    """Whether `value` shows something: a letter, digit, punctuation or symbol that is not a
    blank-looking filler. Spaces, control and format characters, and combining marks (which
    need a base to show) do not count."""
    return any(unicodedata.category(c)[0] in "LNPS" and c not in BLANK_LOOKING for c in value)


def code_point(char: str) -> str:
    """`U+200B`: how a message names a character it refuses (the character itself may not show)."""
    return f"U+{ord(char):04X}"


def check_ip_address(field: str, value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4 or IPv6 address (surrounding spaces ignored), without an IPv6 zone id: `%eth0`
    names an interface of the machine that saw the request, not where it came from, and would
    carry any text into the evidence. Raises InvalidInput."""
    text = value.strip()
    if "%" in text:
        raise InvalidInput(
            field, "must not have a zone id ('%...'): give the address only (e.g. fe80::1)"
        )
    try:
        return ipaddress.ip_address(text)
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
