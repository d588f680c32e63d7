"""Free text that outlives an erasure (an actor, a rights request's outcome or reason, in the
events, the requests and the append-only audit log) keeps no contact point: e-mail addresses
and phone numbers become markers."""

from __future__ import annotations

import ipaddress
import re
import string

import phonenumbers

from consentd.domain.catalog import check_text
from consentd.domain.cookies import EMAIL_MARKER, without_emails

PHONE_MARKER = "(phone)"
MAX_ACTOR = 128
# One character for one (offsets stay those of the text): the spaces of French typography,
# slashes (06/12/34/56/78), and other separators people write between digit groups (underscore,
# middle dot, comma, tab, line break; probe Y), read as spaces by the phone matcher.
_SPACES = str.maketrans(dict.fromkeys("\u00a0\u202f\u2007\u2009/_\u00b7,\t\n\r", " "))
# A year in a match is a date (05.12.2026 10:45 read as 05 12 20 26 10), not a phone number.
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# Fewer digits than this cannot hold a phone number: most actors and reasons skip the matcher.
_FEWEST_DIGITS = 8


def actor_text(value: str, field: str = "actor") -> str:
    """Who did it (an agent id, `self`, a system or operator name): one line of at most
    MAX_ACTOR characters, any e-mail address or phone number in it replaced by a marker (it
    outlives an erasure). Raises InvalidInput."""
    return without_contacts(check_text(field, value, MAX_ACTOR, one_line=True))


def without_contacts(value: str, region: str = "FR") -> str:
    """`value` with e-mail addresses (without_emails, also written to fool robots: "jean [at]
    example [dot] fr", "jean(a)example.fr", "jean @ example.fr", "jean at example dot fr"), IP
    addresses and phone numbers (libphonenumber's matcher, valid numbers only, national ones
    read in `region`) replaced by markers: dates, versions, file numbers, SIRETs and ids whose
    digits are grouped unlike a phone number's (`w0-100-856242`) stay."""
    text = without_ips(without_emails(_unhidden(value)))
    if sum(c.isdigit() for c in text) < _FEWEST_DIGITS:
        return text
    spaced = text.translate(_SPACES)
    found = phonenumbers.PhoneNumberMatcher(spaced, region, leniency=phonenumbers.Leniency.VALID)
    spans = [(m.start, m.end) for m in found if not _YEAR.search(m.raw_string)]
    spans = sorted(spans + _side_by_side(spaced, region, spans))
    for start, end in reversed(spans):
        if not _an_id(text, start, end):
            text = text[:start] + PHONE_MARKER + text[end:]
    return text


def _an_id(text: str, start: int, end: int) -> bool:
    """Whether the digits at [start, end) are part of an id, not a number someone wrote down:
    glued to the id's other characters (a letter, or a hyphen after a letter or digit) and
    grouped unlike a phone number (after its first group, one longer than two digits). Probe
    AM: actors `w0-100-856242` were stored as "w(phone)"; probe AP: `Tel0612345678` and
    `tel-06-12-34-56-78` are numbers all the same."""
    if _in_a_token(text, start, end):
        return True
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    glued = (before[-1:].isalpha() or (before[-1:] in "-." and before[:1].isalnum())) or (
        after[:1].isalpha() or (after[:1] in "-." and after[1:].isalnum())
    )
    groups = _DIGITS.findall(text, start, end)
    return glued and any(len(group) > 2 for group in groups[1:])


_DIGITS = re.compile(r"\d+")
_TOKEN = re.compile(r"[0-9A-Za-z]+")
# A run of letters and digits this long is a key, a hash or an id, not a number written down.
_TOKEN_LENGTH = 16


def _in_a_token(text: str, start: int, end: int) -> bool:
    """Whether the digits at [start, end) lie inside one run of letters and digits of at least
    _TOKEN_LENGTH characters with letters on both sides of them, or that is hexadecimal: a CRM's
    reference `c368765d9b0612345678a1378ac59066` was stored as `c368765d9b(phone)a1378...`
    (probe VC), and nobody found their event by it again. `Tel0612345678` stays a number."""
    for token in _TOKEN.finditer(text):
        if token.start() <= start and end <= token.end():
            word = token.group()
            if len(word) < _TOKEN_LENGTH:
                return False
            hexadecimal = all(c in string.hexdigits for c in word) and not word.isdigit()
            flanked = text[start - 1 : start].isalpha() and text[end : end + 1].isalpha()
            return hexadecimal or (flanked and token.start() < start and end < token.end())
    return False


# Addresses written so that robots miss them, whole: a local part, an "at", a domain whose
# labels are joined by dots, ending in a top-level domain. Marked ones ("[at]", "{arobase}",
# " @ ", and "[dot]", "(point)", " dot " or ".") end in any label of letters; spelled ones
# (the words "at" and "dot", or "arobase" and "point", between spaces, and "(a)") only in a common
# top-level domain: "clause 4(a) of the contract", "reply at some point in time" and "retry @
# 10:30" are no address (probe AP: they were stored as "(email)").
_LABEL = r"[\w-]+"
_LOCAL = r"(?<![\w.+-])[\w+-]+"
_MARKED_AT = r"(?:\s*[\[({<]\s*(?:at|arobase|@)\s*[\])}>]\s*|[ \t]*@[ \t]*)"
_MARKED_DOT = r"(?:\s*\.\s*|\s*[\[({<]\s*(?:dot|point)\s*[\])}>]\s*|\s+(?:dot|point)\s+)"
_TLD = (
    r"(?:[a-z]{2}|com|org|net|info|biz|pro|gouv|edu|gov|name|mobi|io|app|dev|tech|paris|bzh"
    r"|shop|email|online|site|store|cloud|xyz|eus|alsace|corsica)"
)


def _address(at: str, dot: str, tld: str = _TLD) -> str:
    return rf"{_LOCAL}(?:{dot}[\w+-]+)*{at}{_LABEL}(?:{dot}{_LABEL})*{dot}{tld}(?![\w-])"


_HIDDEN = re.compile(
    "|".join(
        (
            _address(_MARKED_AT, _MARKED_DOT, r"[a-z]{2,24}"),
            _address(r"(?:\s+at\s+|\s*[\[({<]\s*a\s*[\])}>]\s*)", r"(?:\.|\s+dot\s+)"),
            _address(r"\s+arobase\s+", r"(?:\.|\s+(?:dot|point)\s+)"),
        )
    ),
    re.IGNORECASE,
)
# A quoted local part ("jean dupont"@example.fr) is one word for the e-mail scrubber.
_QUOTED_LOCAL = re.compile(r'"[^"\n]{1,64}"(?=@)')


# "@" written as an HTML character reference (jean&#64;example.fr; probe BI).
_AT_ENTITY = re.compile(r"&(?:#0*64|#x0*40|commat);?", re.IGNORECASE)


def _unhidden(value: str) -> str:
    """`value` with hidden addresses replaced by their marker, for without_emails."""
    if "&" in value:
        value = _AT_ENTITY.sub("@", value)
    at = "@" in value
    if at:
        value = _QUOTED_LOCAL.sub("quoted", value)
    lowered = value.lower()
    if at or any(w in lowered for w in ("at", "arobase", "(a)", "[a]", "{a}", "<a>")):
        value = _HIDDEN.sub(EMAIL_MARKER, value)
    return value


IP_MARKER = "(ip)"
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{0,4})(?![\w:]|\.\d)",
    re.IGNORECASE,
)
# A version (`v10.2.3.4`, `version 2.0.0.1`, `build 4.2.1.0-rc1`) is no IP address (probe AP).
_VERSION = re.compile(
    r"\b(?:v|ver|version|release|build|sdk|rev|ios|android|app)\s*$", re.IGNORECASE
)
# An IPv6 address with fewer hex digits is none a person is known by (`::1`, `a::b`, `1::2`).
_FEWEST_HEX = 6


def without_ips(value: str) -> str:
    """`value` with IPv4 and IPv6 addresses replaced by IP_MARKER: evidence a person's network
    gives, which consentd otherwise keeps only sealed (probe AO: typed into free text, it
    outlived the erasure in clear)."""
    if value.count(":") >= 2:  # first: an IPv6 address may end with an IPv4 one
        value = _IPV6.sub(lambda m: _ip_or_kept(m, value, ipv6=True), value)
    if "." in value:
        value = _IPV4.sub(lambda m: _ip_or_kept(m, value, ipv6=False), value)
    return value


def _ip_or_kept(found: re.Match[str], value: str, *, ipv6: bool) -> str:
    text = found.group()
    if ipv6:
        hex_digits = sum(c in string.hexdigits for c in text)
        return IP_MARKER if _is_ip(text) and hex_digits >= _FEWEST_HEX else text
    # Leading zeros too (192.168.001.010); a version, or one followed by "-rc1", stays.
    after = value[found.end() : found.end() + 2]
    if any(int(octet) > 255 for octet in text.split(".")):
        return text
    if _VERSION.search(value, 0, found.start()) or (after[:1] == "-" and after[1:].isalpha()):
        return text
    return IP_MARKER


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


# A run of digit groups the matcher left whole: two numbers written side by side ("06 12 34 56
# 78 07 98 76 54 32", "+33 6 12 34 56 78 0033612345678") are one invalid number to it, and both
# were kept (probe X).
_RUN = re.compile(r"\+?\d[\d .()-]*\d")
_GROUP = re.compile(r"\+?\d+")
# Groups one number spans at most, and digits (E.164: 15, with a 00 prefix or a trunk 0).
_MOST_GROUPS = 8
_MOST_DIGITS = 17


# Numbers parsed at most per text: a 2,000-character reason of "00 00 00..." took 200 ms of
# the event loop (probe Y); past this, the matcher's own finds stand.
_MOST_PARSES = 48


def _side_by_side(text: str, region: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of valid numbers among the groups of digit runs the matcher did not take, each
    the longest from a group written as a number starts ("0", "+": never a SIRET's or a file
    number's groups), left to right."""
    spans: list[tuple[int, int]] = []
    budget = [_MOST_PARSES]
    for run in _RUN.finditer(text):
        free: list[re.Match[str]] = []
        for group in [*_GROUP.finditer(text, run.start(), run.end()), None]:
            if group is not None and not any(
                s < group.end() and group.start() < e for s, e in taken
            ):
                free.append(group)
                continue
            i = 0  # a group the matcher took, or the run's end: numbers end before it
            while i < len(free):
                end = _longest_number(text, free, i, region, budget)
                if end is not None:
                    spans.append((free[i].start(), free[end].end()))
                i = (end if end is not None else i) + 1
            free = []
    return spans


def _longest_number(
    text: str, groups: list[re.Match[str]], first: int, region: str, budget: list[int]
) -> int | None:
    """The last group of the longest valid number starting at group `first`, or None; each
    number parsed takes one from `budget`."""
    if groups[first].group()[0] not in "0+":
        return None
    best = None
    for last in range(first, min(len(groups), first + _MOST_GROUPS)):
        candidate = text[groups[first].start() : groups[last].end()]
        digits = sum(c.isdigit() for c in candidate)
        if digits > _MOST_DIGITS or budget[0] <= 0:
            break
        if digits >= _FEWEST_DIGITS and not _YEAR.search(candidate):
            budget[0] -= 1
            if _valid(candidate, region):
                best = last
    return best


def _valid(candidate: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(candidate, region))
    except phonenumbers.NumberParseException:
        return False
