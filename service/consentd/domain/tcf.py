"""IAB TCF v2 TC strings: validation and decoding of the core segment.

Written from IAB Europe's "Consent string and vendor list formats v2" specification. A TC string
is one or more base64url segments (no padding) joined by `.`; the first is the core segment,
whose bit fields, most significant bit first, are:

    Version 6 | Created 36 | LastUpdated 36 | CmpId 12 | CmpVersion 12 | ConsentScreen 6 |
    ConsentLanguage 12 | VendorListVersion 12 | TcfPolicyVersion 6 | IsServiceSpecific 1 |
    UseNonStandardTexts 1 | SpecialFeatureOptIns 12 | PurposesConsent 24 |
    PurposesLITransparency 24 | PurposeOneTreatment 1 | PublisherCC 12 |
    vendor consents (section) | vendor legitimate interests (section) | publisher restrictions

A vendor section is MaxVendorId 16 | IsRangeEncoding 1, then either a bit field of MaxVendorId
bits or NumEntries 12 and entries of IsARange 1 | StartOrOnlyVendorId 16 | [EndVendorId 16].
Publisher restrictions are NumPubRestrictions 12, each PurposeId 6 | RestrictionType 2 | a range
list as above. Times are deciseconds since the Unix epoch; letters are 6-bit numbers, A = 0.

Every malformed string raises InvalidInput naming the request field and the TCF field at fault.
Decoding is bounded: the string is at most MAX_TC_STRING characters.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from consentd.domain.errors import InvalidInput

MAX_TC_STRING = 4096
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TcfCore:
    """The decoded core segment of a TC string."""

    version: int
    created: datetime
    last_updated: datetime
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    tcf_policy_version: int
    is_service_specific: bool
    use_non_standard_texts: bool
    special_feature_opt_ins: tuple[int, ...]
    purposes_consent: tuple[int, ...]
    purposes_legitimate_interest: tuple[int, ...]
    purpose_one_treatment: bool
    publisher_country_code: str
    vendor_consents: frozenset[int]
    vendor_legitimate_interests: frozenset[int]


class _Bits:
    """A cursor over the bits of one segment; reading past the end is a malformed string."""

    def __init__(self, data: bytes, field: str, segment: str = "core segment") -> None:
        self._segment = segment
        self._value = int.from_bytes(data, "big")
        self._size = len(data) * 8
        self._at = 0
        self._field = field

    def take(self, width: int, name: str) -> int:
        if self._at + width > self._size:
            raise InvalidInput(
                self._field,
                f"TCF {self._segment} ends inside {name} (bit {self._at} of {self._size})",
            )
        shift = self._size - self._at - width
        self._at += width
        return (self._value >> shift) & ((1 << width) - 1)

    def flag(self, name: str) -> bool:
        return self.take(1, name) == 1

    def ids(self, width: int, name: str) -> tuple[int, ...]:
        """A bit field where bit i (from 1, most significant first) means id i is set."""
        value = self.take(width, name)
        return tuple(i for i in range(1, width + 1) if value >> (width - i) & 1)

    def letters(self, name: str) -> str:
        first, second = self.take(6, name), self.take(6, name)
        if first > 25 or second > 25:
            raise InvalidInput(self._field, f"TCF {name} is not two letters A-Z")
        return chr(ord("A") + first) + chr(ord("A") + second)

    def moment(self, name: str) -> datetime:
        return _EPOCH + timedelta(milliseconds=self.take(36, name) * 100)

    def ranges(self, name: str, limit: int) -> frozenset[int]:
        """NumEntries 12, then entries of IsARange 1 | Start 16 | [End 16], each within limit."""
        found: set[int] = set()
        for _ in range(self.take(12, f"{name}.NumEntries")):
            is_range = self.flag(f"{name}.IsARange")
            start = self.take(16, f"{name}.StartOrOnlyVendorId")
            end = self.take(16, f"{name}.EndVendorId") if is_range else start
            if not 1 <= start <= end <= limit:
                raise InvalidInput(
                    self._field, f"TCF {name} has a vendor range {start}-{end} outside 1-{limit}"
                )
            found.update(range(start, end + 1))
        return frozenset(found)

    def vendors(self, name: str) -> frozenset[int]:
        most = self.take(16, f"{name}.MaxVendorId")
        if self.flag(f"{name}.IsRangeEncoding"):
            return self.ranges(name, most)
        return frozenset(self.ids(most, f"{name}.BitField")) if most else frozenset()


def _segment_bytes(segment: str, index: int, field: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise InvalidInput(field, f"TCF segment {index} is not base64url (A-Z a-z 0-9 - _)")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput(field, f"TCF segment {index} is not valid base64url") from None


def decode_tc_string(value: str, field: str = "tcf_string") -> TcfCore:
    """The core segment of a TCF v2 TC string. Raises InvalidInput naming `field` and the TCF
    field that is malformed (a string that is not base64url, of another version, truncated, or
    with an out-of-range value)."""
    if len(value) > MAX_TC_STRING:
        raise InvalidInput(field, f"must be at most {MAX_TC_STRING} characters")
    segments = value.split(".")
    decoded = [_segment_bytes(s, i, field) for i, s in enumerate(segments)]
    bits = _Bits(decoded[0], field)
    version = bits.take(6, "Version")
    if version != 2:
        raise InvalidInput(field, f"TCF Version is {version}, only version 2 is accepted")
    created, last_updated = bits.moment("Created"), bits.moment("LastUpdated")
    cmp_id, cmp_version = bits.take(12, "CmpId"), bits.take(12, "CmpVersion")
    if cmp_id == 0:
        raise InvalidInput(field, "TCF CmpId is 0, which no registered CMP has")
    screen = bits.take(6, "ConsentScreen")
    language = bits.letters("ConsentLanguage")
    vendor_list, policy = bits.take(12, "VendorListVersion"), bits.take(6, "TcfPolicyVersion")
    if vendor_list == 0:
        raise InvalidInput(field, "TCF VendorListVersion is 0")
    # Fields are read in the order the specification lays them out.
    service_specific = bits.flag("IsServiceSpecific")
    non_standard = bits.flag("UseNonStandardTexts")
    special_features = bits.ids(12, "SpecialFeatureOptIns")
    purposes, interests = bits.ids(24, "PurposesConsent"), bits.ids(24, "PurposesLITransparency")
    purpose_one, country = bits.flag("PurposeOneTreatment"), bits.letters("PublisherCC")
    vendor_consents = bits.vendors("VendorConsents")
    vendor_interests = _after_restrictions(bits)
    return TcfCore(
        version=version,
        created=created,
        last_updated=last_updated,
        cmp_id=cmp_id,
        cmp_version=cmp_version,
        consent_screen=screen,
        consent_language=language,
        vendor_list_version=vendor_list,
        tcf_policy_version=policy,
        is_service_specific=service_specific,
        use_non_standard_texts=non_standard,
        special_feature_opt_ins=special_features,
        purposes_consent=purposes,
        purposes_legitimate_interest=interests,
        purpose_one_treatment=purpose_one,
        publisher_country_code=country,
        vendor_consents=vendor_consents,
        vendor_legitimate_interests=vendor_interests,
    )


def _after_restrictions(bits: _Bits) -> frozenset[int]:
    """The vendor legitimate-interest section, then a check that the publisher restrictions
    that follow are whole (their vendors are not kept)."""
    interests = bits.vendors("VendorLegitimateInterests")
    for _ in range(bits.take(12, "NumPubRestrictions")):
        bits.take(6, "PubRestrictionEntry.PurposeId")
        bits.take(2, "PubRestrictionEntry.RestrictionType")
        bits.ranges("PubRestrictionEntry", 0xFFFF)
    return interests


# The segments that may follow the core (TCF v2.2: disclosed vendors, allowed vendors,
# publisher TC), each once.
_SEGMENT_TYPES = {1: "disclosed vendors", 2: "allowed vendors", 3: "publisher TC"}


def publisher_consents(value: str, field: str = "tcf_string") -> frozenset[int]:
    """The purposes the string's publisher TC segment consents to (standard ones, then custom
    ones numbered from 25), after checking every segment that follows the core has a type a
    TC string allows, once: a second core after a refusing one was stored as the refusal's
    proof, and IAB's decoder, as vendors read it, found consent to purposes 1-10, a vendor and
    both special features (probe UF). Only for a string being recorded: one stored earlier is
    read as it was (decode_tc_string). Raises InvalidInput naming `field`."""
    found: frozenset[int] = frozenset()
    seen: set[int] = set()
    for index, segment in enumerate(value.split(".")[1:], start=1):
        bits = _Bits(_segment_bytes(segment, index, field), field, f"segment {index}")
        kind = bits.take(3, "SegmentType")
        if kind not in _SEGMENT_TYPES or kind in seen:
            allowed = ", ".join(f"{k} ({n})" for k, n in _SEGMENT_TYPES.items())
            raise InvalidInput(
                field,
                f"TCF segment {index} has SegmentType {kind}: after the core come only "
                f"segments of type {allowed}, each once",
            )
        seen.add(kind)
        if kind == 3:
            standard = bits.ids(24, "PubPurposesConsent")
            bits.take(24, "PubPurposesLITransparency")
            custom = bits.take(6, "NumCustomPurposes")
            mine = bits.ids(custom, "CustomPurposesConsent") if custom else ()
            bits.take(custom, "CustomPurposesLITransparency")  # whole, as the rest
            found = frozenset(standard) | {24 + i for i in mine}
    return found


# TCF v2.2's advertising purposes: limited data to select ads (2), a profile for personalised
# ads (3), such a profile used to select them (4).
ADVERTISING = frozenset({2, 3, 4})


def said_otherwise(
    core: TcfCore, publisher: frozenset[int], *, refusal: bool, advertising: bool, now: datetime
) -> str | None:
    """Why the string says other than the choice it would be stored with, or None: a refusal of
    every category consenting to anything (probe RD); a choice leaving an advertising signal
    of Consent Mode denied (`advertising` False: cookie_policy.stores_for_advertising)
    consenting to an advertising purpose, its publisher's too (probe YC: CUSTOM refusing
    `publicite` beside purposes 1-10, stored VALID, the proof contradicting itself); a string
    made or last updated after today. One last updated long ago is taken (a CMP may keep a
    choice it made; the 12 months of the choice's own expiry are what the banner reads)."""
    if refusal and (consents_to_anything(core) or publisher):
        return (
            "a refusal of every category cannot carry a TC string that consents to a purpose"
            " (the publisher's too), a vendor or a special feature: the CMP must encode it"
        )
    ads = sorted((set(core.purposes_consent) | publisher) & ADVERTISING)
    if ads and not advertising:
        return (
            f"the TC string consents to advertising purpose(s) {', '.join(map(str, ads))} while"
            " the choice grants no category that stores for advertising (an advertising signal"
            " of Consent Mode denied): the CMP must encode the choice made"
        )
    # UTC days (TCF 2.2 keeps the day only): one after today's is a CMP's clock wrong.
    ahead = max(core.created, core.last_updated)
    if ahead.astimezone(UTC).date() > now.astimezone(UTC).date():
        return (
            f"the TC string was made or last updated on {ahead.date().isoformat()}, after"
            " today: its CMP's clock is wrong"
        )
    return None


def consents_to_anything(core: TcfCore) -> bool:
    """Whether the string consents to a purpose, a vendor or a special feature: what a
    refusal of every category must not carry (vendors read the string, not consentd's method:
    a REFUSE_ALL stored beside a string consenting to purposes 1-10 and 576 vendors; probe
    RD)."""
    return bool(core.purposes_consent or core.vendor_consents or core.special_feature_opt_ins)
