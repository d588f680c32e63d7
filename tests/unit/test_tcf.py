"""The TCF v2 decoder: published strings decode to their documented values; malformed strings
are refused naming the TCF field at fault."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from consentd.domain.errors import InvalidInput
from consentd.domain.tcf import MAX_TC_STRING, decode_tc_string, publisher_consents

# Two strings with independently published decodings (bit-field and range vendor encodings).
BITFIELD = "CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA"
RANGE = "COyfVVoOyfVVoADACHENAwCAAAAAAAAAAAAAE5QBgALgAqgD8AQACSwEygJyAnSAMABgAFkAgQCDASeAmYBOgAA"


class Writer:
    """Builds core segments field by field, to make well-formed and malformed strings."""

    def __init__(self) -> None:
        self.bits = ""

    def put(self, width: int, value: int) -> Writer:
        self.bits += format(value, f"0{width}b")
        return self

    def letters(self, text: str) -> Writer:
        for char in text:
            self.put(6, ord(char) - ord("A"))
        return self

    def encoded(self) -> str:
        padded = self.bits + "0" * (-len(self.bits) % 8)
        raw = int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def core(
    version: int = 2, cmp_id: int = 300, language: str = "FR", vendor_list: int = 150
) -> Writer:
    """Every fixed field up to PublisherCC."""
    deciseconds = 17_800_000_000  # 2026-05-29
    w = Writer().put(6, version).put(36, deciseconds).put(36, deciseconds)
    w.put(12, cmp_id).put(12, 4).put(6, 1).letters(language).put(12, vendor_list).put(6, 5)
    w.put(1, 0).put(1, 0).put(12, 0)
    w.put(24, 0b110000000000000000000000).put(24, 0b001000000000000000000000)
    return w.put(1, 0).letters("FR")


def whole(w: Writer) -> Writer:
    """Vendor consents as a range (1-3 and 7), empty LI bit field, no publisher restrictions."""
    w.put(16, 7).put(1, 1).put(12, 2).put(1, 1).put(16, 1).put(16, 3).put(1, 0).put(16, 7)
    return w.put(16, 0).put(1, 0).put(12, 0)


def test_bitfield_string_decodes_to_its_published_values() -> None:
    """The bit-field example: dates to the decisecond, CMP, language, purposes, vendors."""
    tc = decode_tc_string(BITFIELD)
    assert tc.version == 2
    assert tc.created == datetime(2008, 12, 7, 10, 4, 17, 700000, tzinfo=UTC)
    assert tc.last_updated.timestamp() == pytest.approx(1326215413.4)
    assert (tc.cmp_id, tc.cmp_version, tc.consent_screen) == (21, 7, 2)
    assert (tc.consent_language, tc.vendor_list_version, tc.tcf_policy_version) == ("EN", 23, 2)
    assert tc.is_service_specific
    assert not tc.use_non_standard_texts
    assert not tc.purpose_one_treatment
    assert tc.publisher_country_code == "KM"
    assert tc.purposes_consent == (1, 3, 9, 10)
    assert tc.purposes_legitimate_interest == (3, 4, 5, 8, 9, 10)
    assert tc.special_feature_opt_ins == (2,)
    assert len(tc.vendor_consents) == 56
    assert {2, 3, 6, 115} <= tc.vendor_consents
    assert 1 not in tc.vendor_consents
    assert sorted(tc.vendor_legitimate_interests) == [
        1,
        9,
        26,
        27,
        30,
        36,
        37,
        43,
        86,
        97,
        110,
        113,
    ]


def test_range_string_decodes_to_its_published_values() -> None:
    """The range example: vendor consents and legitimate interests given as ranges."""
    tc = decode_tc_string(RANGE)
    assert tc.created.timestamp() == 1587946020
    assert (tc.cmp_id, tc.cmp_version, tc.consent_screen, tc.vendor_list_version) == (3, 2, 7, 48)
    assert tc.publisher_country_code == "AA"
    assert tc.purposes_consent == ()
    assert sorted(tc.vendor_consents) == [23, 42, 126, 127, 128, 587, 613, 626]
    assert sorted(tc.vendor_legitimate_interests) == [24, 44, 129, 130, 131, 591, 614, 628]


def test_later_segments_are_accepted_when_base64url() -> None:
    """A publisher TC segment after the core is allowed; only the core is decoded."""
    assert decode_tc_string(BITFIELD + ".argAC0gAAAAAAAAAAAA").cmp_id == 21


def test_a_string_built_field_by_field_round_trips() -> None:
    """The test writer and the decoder agree on every field, ranges included."""
    tc = decode_tc_string(whole(core()).encoded())
    assert (tc.cmp_id, tc.consent_language, tc.vendor_list_version) == (300, "FR", 150)
    assert tc.purposes_consent == (1, 2)
    assert tc.purposes_legitimate_interest == (3,)
    assert tc.vendor_consents == frozenset({1, 2, 3, 7})
    assert tc.vendor_legitimate_interests == frozenset()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("", "segment 0"),
        ("CO+yfVVo", "segment 0 is not base64url"),
        ("COyfVVo=", "segment 0 is not base64url"),
        (BITFIELD + ".", "segment 1"),
        (BITFIELD + ".a*b", "segment 1"),
        ("A" * (MAX_TC_STRING + 1), "at most 4096"),
        (whole(core(version=1)).encoded(), "Version is 1"),
        (whole(core(cmp_id=0)).encoded(), "CmpId is 0"),
        (whole(core(vendor_list=0)).encoded(), "VendorListVersion is 0"),
        (whole(core(language="F[")).encoded(), "ConsentLanguage"),
        (core().encoded(), "VendorConsents.MaxVendorId"),
        (BITFIELD[:30], "ends inside"),
        (core().put(16, 5).put(1, 1).put(12, 1).put(1, 1).put(16, 4).put(16, 2).encoded(), "4-2"),
        (core().put(16, 5).put(1, 1).put(12, 1).put(1, 0).put(16, 9).encoded(), "outside 1-5"),
        (core().put(16, 900).put(1, 0).put(20, 0).encoded(), "VendorConsents.BitField"),
        (
            core().put(16, 0).put(1, 0).put(16, 0).put(1, 0).put(12, 1).put(6, 1).encoded(),
            "ends inside PubRestrictionEntry",
        ),
    ],
    ids=[
        "empty",
        "plus-sign",
        "padding",
        "empty-segment",
        "bad-segment",
        "too-long",
        "version-1",
        "cmp-0",
        "vendor-list-0",
        "language",
        "truncated-core",
        "truncated-mid",
        "reversed-range",
        "vendor-beyond-max",
        "short-bitfield",
        "truncated-restriction",
    ],
)
def test_malformed_strings_name_the_field(value: str, names: str) -> None:
    """Each malformed string is InvalidInput on tcf_string, the message naming what is wrong."""
    with pytest.raises(InvalidInput) as raised:
        decode_tc_string(value)
    assert raised.value.field == "tcf_string"
    assert names in raised.value.reason


def _segment(kind: int, *fields: tuple[int, int]) -> str:
    w = Writer().put(3, kind)
    for width, value in fields:
        w.put(width, value)
    return w.encoded()


def test_segments_after_the_core_are_of_a_known_type_each_once() -> None:
    """Probe UF: only the core was read; a second core after a refusing one (what IAB's
    decoder, as vendors read it, takes as consent to every purpose) or a publisher segment's
    consents passed. A disclosed-vendors segment and a publisher segment are taken, its
    consents (standard, then custom numbered from 25) returned; another type, or one twice,
    is refused naming the segment."""
    disclosed = _segment(1, (16, 3), (1, 0), (3, 0b101))
    publisher = _segment(3, (24, 0b1001 << 20), (24, 0), (6, 2), (2, 0b01), (2, 0))
    assert publisher_consents(f"{BITFIELD}.{disclosed}") == frozenset()
    assert publisher_consents(f"{BITFIELD}.{disclosed}.{publisher}") == {1, 4, 26}
    for tail, says in (
        (BITFIELD, "TCF segment 1 has SegmentType 0"),
        (f"{publisher}.{publisher}", "TCF segment 2 has SegmentType 3"),
        (_segment(5), "TCF segment 1 has SegmentType 5"),
        (_segment(3, (8, 0)), "TCF segment 1 ends inside PubPurposesConsent"),
    ):
        with pytest.raises(InvalidInput, match=says):
            publisher_consents(f"{BITFIELD}.{tail}")
    # A string stored before is read as it was: only the core is decoded.
    assert decode_tc_string(f"{BITFIELD}.{BITFIELD}").cmp_id == decode_tc_string(BITFIELD).cmp_id
