"""Subject identifiers: normalisation of contact points and their keyed hashes.

Contact points are never stored in clear: the store keeps an HMAC-SHA256 under a key derived per
tenant, so lookups work and a database dump does not reveal an address.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from uuid import UUID

import idna
import phonenumbers

from consentd.domain.catalog import VISIBLE, code_point, has_visible
from consentd.domain.errors import InvalidInput
from consentd.domain.look_alikes import looks_like_another, mixes_alphabets

MAX_EXTERNAL_ID = 256
MAX_CAL_ID = 64
MAX_EMAIL = 254
MAX_EMAIL_LOCAL = 64
MAX_DOMAIN = 253
# What a caller may send before normalising: spaces around, decomposed accents (NFC composes
# them). Longer is refused before any work on it (a 3 MB number took 240 ms of the event loop).
_LONGEST_RAW_EMAIL = 4 * MAX_EMAIL
MAX_RAW_PHONE = 64
# Lowercase letter-digit-hyphen labels of 1 to 63 characters, not starting or ending with a
# hyphen: a domain that IDNA (UTS 46) encodes to itself, once labels with "--" in 3rd-4th
# position (punycode "xn--" and reserved forms) are left to the full check.
_PLAIN_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_DOMAIN = re.compile(rf"{_PLAIN_LABEL}(?:\.{_PLAIN_LABEL})*")


class IdentifierKind(enum.StrEnum):
    EXTERNAL_ID = "external_id"
    EMAIL = "email"
    PHONE = "phone"
    # A Client Access License id: one user seat's licence (the brief's glossary), personal data.
    CAL_ID = "cal_id"


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalised identifier. `value` is personal data: never log it."""

    kind: IdentifierKind
    value: str

    def __repr__(self) -> str:
        return f"Identifier({self.kind.value}, <redacted>)"


def normalise_email(raw: str, field: str = "email") -> Identifier:
    """Lowercase, Unicode NFC, IDNA (punycode) domain. Raises InvalidInput naming `field`."""
    if len(raw) > _LONGEST_RAW_EMAIL:  # before any work on it (probe AN: 3 MB strings)
        raise InvalidInput(field, f"email longer than {MAX_EMAIL} characters")
    text = raw.strip()
    if not text.isascii():  # NFC leaves ASCII as it is
        text = unicodedata.normalize("NFC", text)
    text = text.lower()
    local, at, domain = text.rpartition("@")
    # Once printable, the only whitespace left is the ASCII space: every other one is in a
    # Unicode category isprintable() refuses (Cc, Zs, Zl, Zp).
    if not at or not local or not domain or "@" in local or not text.isprintable() or " " in text:
        raise InvalidInput(field, "not an email address (expected local@domain)")
    if not _SPECIALS.isdisjoint(local):
        raise InvalidInput(field, _SPECIALS_REFUSED)
    if not local.isascii() and looks_like_another(local):
        mixed = "mixes alphabets whose letters look alike, or holds full-width or styled letters"
        raise InvalidInput(field, f"the part before @ {mixed}: give it as the mailbox is written")
    if not domain.isascii() and any(mixes_alphabets(label) for label in domain.split(".")):
        raise InvalidInput(field, "a label of the domain mixes alphabets whose letters look alike")
    ascii_domain = _plain_domain(domain) or _idna_domain(domain, field)
    # A trailing dot (fully qualified form) would give the same mailbox a second identity.
    if ascii_domain.endswith("."):
        raise InvalidInput(field, "the email domain must not end with a dot")
    address = f"{local}@{ascii_domain}"
    if len(local) > MAX_EMAIL_LOCAL:
        raise InvalidInput(field, f"the part before @ is longer than {MAX_EMAIL_LOCAL} characters")
    if len(address) > MAX_EMAIL:
        raise InvalidInput(field, f"email longer than {MAX_EMAIL} characters")
    return Identifier(IdentifierKind.EMAIL, address)


# What a mailbox's own name never holds unquoted (RFC 5321 Dot-string): a message's `To` read
# `x,victim@example.org` as two recipients and `bob(c)@example.org` as bob's (a comment), so a
# confirmation, a code or a preference link of one identity reached another mailbox (probe MA).
_SPECIALS = frozenset('(),:;<>[]\\"')
_SPECIALS_REFUSED = (
    'the part before @ must not hold ( ) , : ; < > [ ] \\ or " (give the address without '
    "quotes or comments, as the mailbox is named)"
)


def _plain_domain(domain: str) -> str | None:
    """The domain itself when IDNA would return it unchanged (most addresses): the full IDNA
    check costs more than everything else a check does with an address."""
    if (
        len(domain) <= MAX_DOMAIN
        and _PLAIN_DOMAIN.fullmatch(domain)
        and ("--" not in domain or all(label[2:4] != "--" for label in domain.split(".")))
    ):
        return domain
    return None


def _idna_domain(domain: str, field: str) -> str:
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise InvalidInput(field, "the email domain is not a valid domain name") from None


# The French numbering plan (ARCEP) gives the overseas departments and collectivities ten-digit
# national numbers behind the trunk prefix 0, as in metropolitan France, but they are reached
# under country codes of their own: the three digits after the 0 say which. libphonenumber reads
# a national number in one region only, so with the region FR it refused 0692 12 34 56 (La
# Réunion) and read 0269 / 0596 numbers as metropolitan +33 ones.
_FRENCH_OVERSEAS = {
    # La Réunion (fixed 0262, 0263; mobile 0692, 0693) and Mayotte (fixed 0269, mobile 0639)
    **dict.fromkeys(("262", "263", "269", "639", "692", "693"), "262"),
    # Guadeloupe, Saint-Martin, Saint-Barthélemy
    **dict.fromkeys(("590", "690", "691"), "590"),
    # Guyane
    **dict.fromkeys(("594", "694"), "594"),
    # Martinique
    **dict.fromkeys(("596", "696", "697"), "596"),
}
# Saint-Pierre-et-Miquelon: 0508 then its six-digit number (+508 41 12 34).
_SAINT_PIERRE = "508"
_NOT_DIGITS = re.compile(r"[\s.\-()/]")
# Dashes and tildes a number is written with (hyphen, en and em dashes, minus, swung dash,
# tilde operator, wave dash, the prolonged sound mark), read as "-".
_DASHES = str.maketrans(
    dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2053\u223c\u301c\u30fc~", "-")
)


def _plain_phone(raw: str) -> str:
    """NFKC (full-width digits, typographic spaces), dashes as "-", and format characters
    (soft hyphen, zero-width space, bidi marks: pasted from a web page or a document) gone: an
    overseas number written with them was read as a metropolitan one, another identity."""
    plain = unicodedata.normalize("NFKC", raw).translate(_DASHES)
    return "".join(c for c in plain if unicodedata.category(c) != "Cf")


def _french_international(raw: str) -> str | None:
    """+<code><number> for a French national number of an overseas territory, else None."""
    digits = _NOT_DIGITS.sub("", raw)
    if len(digits) != 10 or digits[0] != "0" or not digits.isdigit():
        return None
    prefix = digits[1:4]
    if prefix == _SAINT_PIERRE:
        return f"+{_SAINT_PIERRE}{digits[4:]}"
    code = _FRENCH_OVERSEAS.get(prefix)
    return None if code is None else f"+{code}{digits[1:]}"


def normalise_phone(raw: str, default_region: str, field: str = "phone") -> Identifier:
    """E.164 form; national numbers are read in `default_region` (with FR, the overseas
    departments and collectivities under their own country codes). Every spelling of a number
    is one identity: full-width digits, typographic spaces and dashes are read as ASCII first
    (an overseas number written with an en dash was read as a metropolitan one). A number with
    an extension is refused: a switchboard's extensions are several people, and E.164 would
    drop the extension and make them one. Raises InvalidInput."""
    if len(raw) > MAX_RAW_PHONE:
        raise InvalidInput(field, f"not a phone number (longer than {MAX_RAW_PHONE} characters)")
    if any(unicodedata.category(c) == "Cc" for c in raw):
        # NUL or a line break is no typography; phonenumbers dropped them (probe HB), emails
        # refuse them.
        raise InvalidInput(field, "contains a control character (NUL, a line break): not a number")
    raw = _plain_phone(raw)
    if default_region == "FR":
        raw = _french_international(raw) or raw
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, "not a valid phone number (use E.164, e.g. +33612345678)")
    if number.extension:
        raise InvalidInput(
            field,
            "has an extension: a switchboard's extensions are several people, one number "
            "cannot tell them apart; give the person's direct line (or an external_id)",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Identifier(IdentifierKind.PHONE, e164)


def normalise_external_id(raw: str, field: str = "external_id") -> Identifier:
    """1 to 256 printable characters, at least one of them visible, kept as given.

    Raises InvalidInput when empty or too long; when it holds a control, format (zero-width,
    bidi, BOM), separator other than the ASCII space, or unassigned character (the caller's
    system never shows them, so two ids that look the same would name two subjects); and when
    it shows nothing (spaces, fillers such as U+2800 or U+3164, a lone combining mark).
    """
    if not raw or len(raw) > MAX_EXTERNAL_ID:
        raise InvalidInput(field, f"must be 1 to {MAX_EXTERNAL_ID} characters")
    hidden = next((c for c in raw if not c.isprintable()), None)
    if hidden is not None:
        raise InvalidInput(
            field,
            f"must be printable characters (found {code_point(hidden)}): control, format such"
            " as zero-width or bidi, separator other than the space, and unassigned characters"
            " are refused",
        )
    # An id that shows nothing names nobody: every caller that sent one would share a subject.
    if not has_visible(raw):
        raise InvalidInput(field, f"must not be blank: it needs {VISIBLE}")
    return Identifier(IdentifierKind.EXTERNAL_ID, raw)


# Letters and digits, with `. _ : / -` inside: licence ids are read aloud, typed and printed on
# invoices, so the same seat is one spelling whatever the case or the spaces around it.
_CAL_ID = re.compile(r"[A-Z0-9](?:[A-Z0-9._:/-]*[A-Z0-9])?")


def normalise_cal_id(raw: str, field: str = "cal_id") -> Identifier:
    """A Client Access License id in upper case, spaces around it dropped. Raises InvalidInput
    naming `field` for anything but 1 to 64 ASCII letters, digits and `. _ : / -` inside."""
    text = raw.strip(" \t")
    if not text or len(text) > MAX_CAL_ID:
        raise InvalidInput(field, f"must be 1 to {MAX_CAL_ID} characters")
    # ASCII before upper case: "ß" and "ﬁ" would otherwise become "SS" and "FI".
    if not text.isascii() or not _CAL_ID.fullmatch(text := text.upper()):
        raise InvalidInput(
            field,
            "must be ASCII letters and digits, with . _ : / - only between them"
            " (a Client Access License id, e.g. CAL-2026-000123)",
        )
    return Identifier(IdentifierKind.CAL_ID, text)


def normalise(kind: str, raw: str, default_region: str, field: str) -> Identifier:
    """`raw` read as an identifier of `kind` (an IdentifierKind's value, as the API's fields and
    the import's columns spell them). Raises InvalidInput naming `field`."""
    if kind == IdentifierKind.EMAIL:
        return normalise_email(raw, field)
    if kind == IdentifierKind.PHONE:
        return normalise_phone(raw, default_region, field)
    if kind == IdentifierKind.CAL_ID:
        return normalise_cal_id(raw, field)
    return normalise_external_id(raw, field)


# HMAC (RFC 2104) with SHA-256 spelled out, so the keyed inner and outer states can be prepared
# once per tenant and copied per message: a third of hmac.digest()'s cost, which re-derives them
# on every call, and a check hashes an identifier every time.
_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class IdentifierHasher:
    """Keyed hashes of identifiers, one derived key per tenant, so tenants cannot correlate."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the identifier secret must be at least 32 bytes")
        self._secret = secret
        # Derived once per tenant: a check hashes an identifier on every call.
        self._keys: dict[UUID, bytes] = {}
        self._pads: dict[UUID, tuple[hashlib._Hash, hashlib._Hash]] = {}

    def tenant_key(self, tenant_id: UUID) -> bytes:
        key = self._keys.get(tenant_id)
        if key is None:
            key = hmac.digest(self._secret, b"tenant:" + tenant_id.bytes, hashlib.sha256)
            self._keys[tenant_id] = key
        return key

    def digest(self, tenant_id: UUID, identifier: Identifier) -> bytes:
        return self.keyed(tenant_id, identifier.kind.value, identifier.value)

    def keyed(self, tenant_id: UUID, label: str, value: str) -> bytes:
        """HMAC-SHA256 of `label:value` under the tenant's key (evidence such as IP addresses)."""
        pads = self._pads.get(tenant_id)
        if pads is None:
            block = self.tenant_key(tenant_id).ljust(_BLOCK, b"\0")  # 32 bytes: no pre-hash
            pads = hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD))
            self._pads[tenant_id] = pads
        inner, outer = pads[0].copy(), pads[1].copy()
        inner.update(f"{label}:{value}".encode())
        outer.update(inner.digest())
        return outer.digest()
