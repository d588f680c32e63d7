"""A tenant's cookie policy: categories, revision, validity periods, the Google Consent Mode
mapping and the browser origins allowed to call. Defaults apply until a tenant puts its own."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import idna

from consentd.domain.catalog import check_key, check_text
from consentd.domain.errors import InvalidInput
from consentd.domain.months import MAX_MONTHS

NECESSARY = "necessary"
MAX_CATEGORIES = 20
MAX_ORIGINS = 50
# Revisions only go up, so the highest one accepted must leave room for every later re-consent:
# a revision put at the column's limit (2^31 - 1) could never be raised again.
MAX_REVISION = 1_000_000
# And it is raised by at most this much at a time, so that the ceiling is reached on purpose,
# never by one typo: a put of 1,000,000 left the tenant unable ever to outdate its visitors'
# choices again (probe CC).
MAX_REVISION_STEP = 1_000
DEFAULT_REFUSAL_MONTHS = 6
# Google Consent Mode v2 signals, in the order gtag documents them.
SIGNALS = (
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)


@dataclass(frozen=True, slots=True)
class CookieCategory:
    category_id: str
    display_name: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """A tenant's cookie configuration; `consent_mode` maps a signal to the categories it needs."""

    categories: tuple[CookieCategory, ...]
    revision: int = 1
    refusal_validity_months: int = DEFAULT_REFUSAL_MONTHS
    acceptance_validity_months: int = MAX_MONTHS
    consent_mode: tuple[tuple[str, tuple[str, ...]], ...] = ()
    allowed_origins: tuple[str, ...] = ()
    updated_at: datetime | None = None

    @property
    def category_ids(self) -> frozenset[str]:
        return frozenset(c.category_id for c in self.categories)


DEFAULT_CONSENT_MODE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ad_storage", ("marketing",)),
    ("ad_user_data", ("marketing",)),
    ("ad_personalization", ("marketing",)),
    ("analytics_storage", ("analytics",)),
    ("functionality_storage", (NECESSARY,)),
    ("personalization_storage", ("personalisation",)),
    ("security_storage", (NECESSARY,)),
)
DEFAULT_POLICY = CookiePolicy(
    categories=(
        CookieCategory("analytics", "Mesure d'audience", "Statistiques de fréquentation."),
        CookieCategory("marketing", "Publicité", "Publicité ciblée et mesure publicitaire."),
        CookieCategory("personalisation", "Personnalisation", "Contenus adaptés au visiteur."),
    ),
    consent_mode=DEFAULT_CONSENT_MODE,
)


def check_origin(value: str, name: str) -> str:
    """A browser origin `scheme://host[:port]`, lowercased; no path, query or credentials."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise InvalidInput(name, "is not an origin (scheme://host[:port])") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise InvalidInput(name, "must be an origin such as https://www.example.fr")
    host = _origin_host(parts.hostname.lower(), name)
    if port == 0:
        raise InvalidInput(name, "the port must be 1 to 65535")
    if port == _DEFAULT_PORTS[parts.scheme]:
        port = None  # a browser's Origin never names its scheme's default port
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


_DEFAULT_PORTS = {"http": 80, "https": 443}
_ORIGIN_HOST = re.compile(r"[a-z0-9._-]+")


def _origin_host(host: str, name: str) -> str:
    """The host as a browser's Origin header spells it: an IPv6 literal in brackets, a domain
    name in ASCII (IDNA: `bücher.example` arrives as `xn--bcher-kva.example`). No wildcard: an
    origin is matched exactly, so `*.example.fr` would match nothing."""
    if ":" in host:
        return f"[{host}]"
    if "*" in host:
        raise InvalidInput(name, "wildcards are not supported: list each origin")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise InvalidInput(name, "the host is not a valid domain name") from None
    labels = host.removesuffix(".").split(".")  # a fully qualified name's root dot
    if (
        not _ORIGIN_HOST.fullmatch(host)
        or len(host) > 253
        or not all(0 < len(label) <= 63 for label in labels)
        or any(label.startswith("xn--") and not _punycode(label) for label in labels)
    ):
        raise InvalidInput(
            name,
            "the host is not a valid domain name (labels of 1 to 63 characters, 253 in all; "
            "an xn-- label that decodes)",
        )
    return host


def _punycode(label: str) -> bool:
    """Whether an `xn--` label decodes as punycode (a browser never sends one that does not).
    Punycode, not IDNA 2008: registered names it refuses (`xn--ls8h.la`, an emoji) are served,
    and browsers send them (probe DQ)."""
    try:
        label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return True


def _months(value: int, default: int, name: str) -> int:
    if value == 0:
        return default
    if not 1 <= value <= MAX_MONTHS:
        raise InvalidInput(name, f"must be 1 to {MAX_MONTHS} months (0: {default})")
    return value


def _categories(policy: CookiePolicy, name: str) -> tuple[CookieCategory, ...]:
    """The policy's categories; none given means the default ones (analytics, marketing,
    personalisation), as the contract says: a policy without them would leave the default
    Consent Mode mapping nothing to grant."""
    if not policy.categories:
        return DEFAULT_POLICY.categories
    if len(policy.categories) > MAX_CATEGORIES:
        raise InvalidInput(name, f"must hold at most {MAX_CATEGORIES} categories")
    seen: set[str] = set()
    for index, category in enumerate(policy.categories):
        where = f"{name}[{index}]"
        check_key(f"{where}.category_id", category.category_id)
        if category.category_id == NECESSARY:
            raise InvalidInput(f"{where}.category_id", "necessary is implicit: leave it out")
        if category.category_id in seen:
            raise InvalidInput(f"{where}.category_id", "appears twice")
        seen.add(category.category_id)
        # What the banner shows a visitor: one line, no bidi or zero-width character (as a
        # purpose's name; "x\u202ey" and a blank name were stored, probe WC).
        check_text(f"{where}.display_name", category.display_name, 200, one_line=True)
        check_text(f"{where}.description", category.description)
    return policy.categories


def _mapping(
    policy: CookiePolicy, categories: tuple[CookieCategory, ...], name: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    usable = {c.category_id for c in categories} | {NECESSARY}
    if not policy.consent_mode:
        # The default mapping, of the categories this policy has: a policy of its own
        # categories was stored mapping signals to `marketing` and `analytics` it did not have
        # (probe CC). A signal left without one is not mapped: denied.
        kept = ((s, tuple(n for n in needs if n in usable)) for s, needs in DEFAULT_CONSENT_MODE)
        return tuple((signal, needs) for signal, needs in kept if needs)
    seen: set[str] = set()
    for index, (signal, needs) in enumerate(policy.consent_mode):
        if signal not in SIGNALS or signal in seen:
            raise InvalidInput(
                f"{name}[{index}].signal", f"must be one of {', '.join(SIGNALS)}, once each"
            )
        seen.add(signal)
        if not needs:
            raise InvalidInput(f"{name}[{index}].categories", "needs at least one category")
        if signal.startswith("ad_") and set(needs) <= {NECESSARY}:
            raise InvalidInput(
                f"{name}[{index}].categories",
                "an advertising signal needs a category the visitor chooses, not necessary alone",
            )
        for position, category in enumerate(needs):
            if category not in usable:
                raise InvalidInput(
                    f"{name}[{index}].categories[{position}]",
                    f"unknown category {_quoted(category)}",
                )
    return tuple((s, tuple(sorted(set(n)))) for s, n in policy.consent_mode)


def settle_policy(policy: CookiePolicy, current: CookiePolicy | None) -> CookiePolicy:
    """The policy to store: defaults filled in, everything checked. Raises InvalidInput naming
    the field under `policy.` (unknown category in a mapping, lowered revision, a revision over
    MAX_REVISION, bad origin...)."""
    revision = policy.revision or (current.revision if current else 1)
    # One stored before the ceiling existed may be kept (0 or the same number), never raised to.
    if revision > MAX_REVISION and (current is None or revision != current.revision):
        raise InvalidInput(
            "policy.revision", f"must be 1 to {MAX_REVISION} (0 keeps the current revision)"
        )
    if current is not None and revision < current.revision:
        raise InvalidInput(
            "policy.revision", f"must not be lower than the current revision {current.revision}"
        )
    base = current.revision if current else 1
    if revision > base + MAX_REVISION_STEP:
        raise InvalidInput(
            "policy.revision",
            f"must be at most {base + MAX_REVISION_STEP}: a revision is raised by at most "
            f"{MAX_REVISION_STEP} at a time (it is never lowered; the current one is {base})",
        )
    if len(policy.allowed_origins) > MAX_ORIGINS:
        raise InvalidInput("policy.allowed_origins", f"must hold at most {MAX_ORIGINS} origins")
    origins = tuple(
        dict.fromkeys(
            check_origin(o, f"policy.allowed_origins[{i}]")
            for i, o in enumerate(policy.allowed_origins)
        )
    )
    categories = _categories(policy, "policy.categories")
    settled = CookiePolicy(
        categories=categories,
        revision=revision,
        refusal_validity_months=_months(
            policy.refusal_validity_months,
            DEFAULT_REFUSAL_MONTHS,
            "policy.refusal_validity_months",
        ),
        acceptance_validity_months=_months(
            policy.acceptance_validity_months, MAX_MONTHS, "policy.acceptance_validity_months"
        ),
        consent_mode=_mapping(policy, categories, "policy.consent_mode"),
        allowed_origins=origins,
        updated_at=policy.updated_at,
    )
    if current is not None and revision == current.revision:
        _same_choices(settled.categories, settled.consent_mode, current)
    return settled


def _same_choices(
    categories: tuple[CookieCategory, ...],
    mapping: tuple[tuple[str, tuple[str, ...]], ...],
    current: CookiePolicy,
) -> None:
    """A put that keeps the revision keeps what visitors chose among: the same categories, the
    same Consent Mode signals for them. A category added at the same revision was never asked
    of anyone who chose before, and a signal remapped changed what their choice grants (probe
    RD). Raises InvalidInput (policy.revision)."""
    same = frozenset(c.category_id for c in categories) == current.category_ids
    if not same or dict(mapping) != dict(current.consent_mode):
        raise InvalidInput(
            "policy.revision",
            f"the categories or their Consent Mode signals changed: raise the revision (to "
            f"{current.revision + 1}) so that every visitor is asked again",
        )


def _quoted(value: str) -> str:
    """A caller's value in a message: JSON-quoted (escapes, not a Python repr), 64 at most."""
    return json.dumps(value[:64])


def stores_for_advertising(policy: CookiePolicy, granted: tuple[str, ...]) -> bool:
    """Whether the granted categories let every advertising signal of Consent Mode the policy
    maps be granted (ad_storage, ad_user_data, ad_personalization, as cookies.consent_mode
    reads them: only ad_storage was, and purposes 3-4 passed with ad_personalization denied;
    probe ZA); True when it maps none (it does not say which category is advertising)."""
    mapping = dict(policy.consent_mode or DEFAULT_CONSENT_MODE)
    have = (set(granted) & policy.category_ids) | {NECESSARY}
    return all(set(mapping.get(signal, ())) <= have for signal in _ADVERTISING_SIGNALS)


_ADVERTISING_SIGNALS = ("ad_storage", "ad_user_data", "ad_personalization")
