"""Rules of cookie choices: categories, expiry, the status a page acts on, Consent Mode signals.

* `necessary` is always granted and cannot be refused; the tenant's policy names the others.
* A choice's expiry is set by the server: `add_months(recorded_at, n)` (see domain.months) where
  n is the acceptance period (12 months at most) when the choice grants any optional category,
  the refusal period (6 months unless configured, 12 at most) when it refuses any, and the
  shorter of the two when it does both. A caller may ask for an earlier expiry, never a later one.
* A page shows the banner unless the visitor's latest choice is VALID: not past its expiry
  (`now < expires_at`) and made on the tenant's current policy revision.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from consentd.domain.canonical import canonical
from consentd.domain.catalog import check_ip_address, check_text, code_point
from consentd.domain.cookie_policy import DEFAULT_CONSENT_MODE, NECESSARY, SIGNALS, CookiePolicy
from consentd.domain.errors import InvalidInput
from consentd.domain.months import MAX_MONTHS, add_months
from consentd.domain.tcf import TcfCore

MAX_PAGE_URL = 2048
# What an email-looking segment of a page URL's path becomes (a valid path segment itself).
EMAIL_MARKER = "(email)"
_EMAIL_LIKE = re.compile(r"[^\s@]@[^\s@]")
# Characters that read as '@' (full-width, small): an address written with one is still one.
_AT_SIGNS = str.maketrans(dict.fromkeys("\uff20\ufe6b", "@"))
_SCRUB_IF_IN_PATH = frozenset("@%\uff20\ufe6b")
# Backslash, whitespace (Unicode's included), C0 and C1 controls; format characters apart.
_NOT_IN_A_URL = re.compile(r"[\\\s\x00-\x1f\x7f-\x9f]")
# Percent-decodings tried on a segment; one still encoded after that many is scrubbed unread.
MAX_DECODINGS = 8
MAX_USER_AGENT = 1024
MIN_VISITOR_ID, MAX_VISITOR_ID = 16, 64
GRANTED, DENIED = "granted", "denied"
_VISITOR_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class ChoiceMethod(enum.StrEnum):
    ACCEPT_ALL = "accept_all"
    REFUSE_ALL = "refuse_all"
    CUSTOM = "custom"
    GPC = "gpc"


class ChoiceStatus(enum.StrEnum):
    NONE = "none"
    VALID = "valid"
    EXPIRED = "expired"
    REVISION_OUTDATED = "revision_outdated"


@dataclass(frozen=True, slots=True)
class CookieChoice:
    """One stored choice. `ip_digest` and `ua_digest` are keyed hashes, never the values."""

    choice_id: UUID
    visitor_id: str
    subject_id: UUID | None
    method: ChoiceMethod
    granted: tuple[str, ...]
    refused: tuple[str, ...]
    policy_revision: int
    gpc: bool
    recorded_at: datetime
    expires_at: datetime
    page_url: str = ""
    tcf_string: str = ""
    tcf: TcfCore | None = None
    ip_digest: bytes | None = field(default=None, repr=False)
    ua_digest: bytes | None = field(default=None, repr=False)
    sequence: int = 0


def check_visitor_id(value: str, name: str = "visitor_id") -> str:
    """16 to 64 of `A-Z a-z 0-9 _ -`: a random id, so it carries no personal data."""
    if not MIN_VISITOR_ID <= len(value) <= MAX_VISITOR_ID or not set(value) <= _VISITOR_CHARS:
        raise InvalidInput(
            name, f"must be {MIN_VISITOR_ID} to {MAX_VISITOR_ID} characters of A-Z a-z 0-9 _ -"
        )
    return value


def settle_categories(
    policy: CookiePolicy,
    method: ChoiceMethod,
    granted: tuple[str, ...],
    refused: tuple[str, ...],
    gpc: bool,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(granted, refused), each sorted, covering every category of the policy; `necessary` is
    always in granted. Raises InvalidInput naming the first category that is unknown, refused
    `necessary`, granted and refused at once, or given with a method that sets them itself."""
    known = policy.category_ids
    names = ", ".join(sorted(known)) or "none besides necessary"
    for index, category in enumerate(granted):
        if category != NECESSARY and category not in known:
            raise InvalidInput(
                f"granted_categories[{index}]",
                f"unknown category {_quoted(category)} (known: {names})",
            )
    for index, category in enumerate(refused):
        if category == NECESSARY:
            raise InvalidInput(f"refused_categories[{index}]", "necessary cannot be refused")
        if category not in known:
            raise InvalidInput(
                f"refused_categories[{index}]",
                f"unknown category {_quoted(category)} (known: {names})",
            )
    if method is ChoiceMethod.GPC and not gpc:
        raise InvalidInput("gpc", "must be true when the method is GPC")
    if method is ChoiceMethod.CUSTOM:
        chosen = frozenset(granted) - {NECESSARY}
        for index, category in enumerate(refused):
            if category in chosen:
                raise InvalidInput(f"refused_categories[{index}]", f"{category!r} is also granted")
    else:
        for name, given in (("granted_categories", granted), ("refused_categories", refused)):
            if given:
                raise InvalidInput(name, f"must be empty with {method.name}: the policy sets it")
        chosen = known if method is ChoiceMethod.ACCEPT_ALL else frozenset()
    return tuple(sorted(chosen | {NECESSARY})), tuple(sorted(known - chosen))


def expiry(
    policy: CookiePolicy,
    granted: tuple[str, ...],
    refused: tuple[str, ...],
    recorded_at: datetime,
    requested: datetime | None,
    *,
    name: str = "expires_at",
) -> datetime:
    """When a choice stops counting: the policy's limit, or the caller's earlier ask for a
    choice that refuses nothing. A refusal is kept its whole period whatever the page asks: a
    page that asked for five seconds had the banner back at once, asking again a visitor who
    said no (CNIL: a refusal is not asked again for about six months; probe AL).

    Raises InvalidInput when the ask is not after `recorded_at` (for an acceptance).
    """
    periods = []
    if set(granted) - {NECESSARY} or not refused:
        periods.append(policy.acceptance_validity_months)
    if refused:
        periods.append(policy.refusal_validity_months)
    ceiling = add_months(recorded_at, min(MAX_MONTHS, *periods))
    # Not even checked for a refusal: a page's past expiry made the visitor's "no" lost
    # (INVALID_ARGUMENT, nothing stored) for a field that does not count (probe AP).
    if requested is None or refused:
        return ceiling
    if requested <= recorded_at:
        raise InvalidInput(name, "must be in the future")
    return min(requested, ceiling)


def choice_status(choice: CookieChoice | None, revision: int, now: datetime) -> ChoiceStatus:
    """What the page must do. Expiry is checked first: a choice past it is never VALID."""
    if choice is None:
        return ChoiceStatus.NONE
    if now >= choice.expires_at:
        return ChoiceStatus.EXPIRED
    if choice.policy_revision < revision:
        return ChoiceStatus.REVISION_OUTDATED
    return ChoiceStatus.VALID


def consent_mode(policy: CookiePolicy, granted: tuple[str, ...] | None) -> dict[str, str]:
    """Each mapped signal `granted` when every category it needs is granted, else `denied`.

    `granted=None` (no valid choice) grants only what `necessary` alone covers; a category the
    policy does not have is never granted.
    """
    have = (frozenset(granted or ()) & policy.category_ids) | {NECESSARY}
    mapping = dict(policy.consent_mode or DEFAULT_CONSENT_MODE)
    # Every signal, a signal the policy does not map `denied`: a page's update must not leave
    # one at whatever default the page set (gtag keeps what an update leaves out).
    return {
        signal: GRANTED if signal in mapping and set(mapping[signal]) <= have else DENIED
        for signal in sorted(SIGNALS)
    }


def check_page_url(value: str, name: str = "page_url") -> str:
    """An http(s) URL of at most 2048 characters, kept without its query, fragment and
    credentials, and with every path segment that looks like an email address replaced by
    EMAIL_MARKER: they may all carry personal data, which a proof must not keep.

    Raises InvalidInput when it is no http(s) URL, or holds a backslash, whitespace, control or
    format character: a browser's location.href never does, and parsers disagree on them (a
    backslash made the rest of `https://a.fr\\x@b.fr` read as credentials of host b.fr)."""
    check_text(name, value, MAX_PAGE_URL)
    if not value:
        return ""
    odd = _odd_character(value)
    if odd is not None:
        raise InvalidInput(
            name,
            f"must be a URL as a browser gives it (location.href), without backslash,"
            f" whitespace, control or format characters (found {code_point(odd)})",
        )
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidInput(name, "is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(name, "must be an http or https URL")
    path = parts.path
    if not _SCRUB_IF_IN_PATH.isdisjoint(path):
        path = "/".join(EMAIL_MARKER if _looks_like_email(s) else s for s in path.split("/"))
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}"


_PARTS = re.compile(r"([/?&=#;,:\s])")


def without_emails(value: str) -> str:
    """`value` with every part (between / ? & = # ; , : or blanks) that looks like an e-mail
    address replaced by EMAIL_MARKER: an evidence reference outlives an erasure in its event."""
    if _SCRUB_IF_IN_PATH.isdisjoint(value):
        return value
    return "".join(EMAIL_MARKER if _looks_like_email(p) else p for p in _PARTS.split(value))


def _odd_character(value: str) -> str | None:
    """The first backslash, whitespace, control (C0, C1) or format character, if any."""
    found = _NOT_IN_A_URL.search(value)
    if found is not None:
        return found.group()
    if value.isascii():
        return None
    return next((c for c in value if unicodedata.category(c) == "Cf"), None)


def _looks_like_email(segment: str) -> bool:
    """Something, `@` (or a look-alike), something; also percent-encoded, however many times
    (decoded until it no longer changes). A segment still encoded after MAX_DECODINGS rounds
    counts as one: what it hides is not kept."""
    for _ in range(MAX_DECODINGS):
        if _EMAIL_LIKE.search(segment.translate(_AT_SIGNS)):
            return True
        decoded = unquote(segment)
        if decoded == segment:
            return False
        segment = decoded
    return True


def truncate_ip(value: str, name: str = "ip_address") -> str:
    """The network of an IP address: its /24 for IPv4, its /48 for IPv6. Raises InvalidInput."""
    address = check_ip_address(name, value)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _quoted(value: str) -> str:
    """A caller's value in a message: JSON-quoted (escapes, not a Python repr), 64 at most;
    only when it has a key's form: anything else may be personal data (an e-mail address put in
    a category goes back to the page and into its error reports; probe AO)."""
    if _KEY_FORM.fullmatch(value):
        return json.dumps(value)
    return "(not of a key's form)"


_KEY_FORM = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def policy_record(policy: CookiePolicy) -> dict[str, Any]:
    """A policy's whole content as its audit entry keeps it, with the SHA-256 of its canonical
    form: what the banner said at each revision stays provable after the next put overwrote it
    (the entry kept only the category ids; peer comparison)."""
    content = {
        "revision": policy.revision,
        "refusal_validity_months": policy.refusal_validity_months,
        "acceptance_validity_months": policy.acceptance_validity_months,
        "categories": [
            {"category_id": c.category_id, "display_name": c.display_name,
             "description": c.description}
            for c in policy.categories
        ],
        "consent_mode": {signal: list(needs) for signal, needs in policy.consent_mode},
        "allowed_origins": list(policy.allowed_origins),
    }  # fmt: skip
    return {**content, "content_sha256": hashlib.sha256(canonical(content)).hexdigest()}
