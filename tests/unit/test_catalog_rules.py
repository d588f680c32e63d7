"""Rules of the catalogue: purpose and notice keys, language tags, notice fingerprints."""

from __future__ import annotations

import pytest

from consentd.domain.catalog import (
    check_ip_address,
    check_key,
    check_language,
    check_text,
    content_sha256,
)
from consentd.domain.errors import InvalidInput


@pytest.mark.parametrize("key", ["a", "newsletter", "product_offers", "partner-offers-2", "a" * 64])
def test_valid_key_is_kept(key: str) -> None:
    """1 to 64 of a-z, 0-9, '_' and '-', starting with a letter, is a key, returned as is."""
    assert check_key("purpose.purpose_id", key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "a" * 65,
        "Newsletter",
        "1newsletter",
        "_newsletter",
        "news letter",
        "newsletter.v2",
        "préférences",
        "*",
        "newsletter\n",
    ],
    ids=[
        "empty",
        "65-chars",
        "uppercase",
        "leading-digit",
        "leading-underscore",
        "space",
        "dot",
        "non-ascii",
        "all-marker",
        "trailing-newline",
    ],
)
def test_invalid_key_is_refused_naming_the_field(key: str) -> None:
    """Any other key raises InvalidInput naming the field (even with just a trailing newline)."""
    with pytest.raises(InvalidInput) as caught:
        check_key("purpose.purpose_id", key)
    assert caught.value.field == "purpose.purpose_id"


@pytest.mark.parametrize("tag", ["fr", "fra", "fr-FR", "en-US", "zh-Hant-TW", "es-419"])
def test_valid_language_tag_is_kept(tag: str) -> None:
    """BCP 47-shaped tags (2-3 letter language, optional subtags) are kept as given."""
    assert check_language("notice.language", tag) == tag


@pytest.mark.parametrize(
    "tag", ["", "f", "french", "fr_FR", "fr-", "fr-FRANCEXYZ", "fr FR", "fr\n"], ids=repr
)
def test_invalid_language_tag_is_refused_naming_the_field(tag: str) -> None:
    """Anything else raises InvalidInput naming the field."""
    with pytest.raises(InvalidInput) as caught:
        check_language("notice.language", tag)
    assert caught.value.field == "notice.language"


def test_text_limit_and_required() -> None:
    """Text up to the limit is kept; longer, or blank when required, raises InvalidInput."""
    assert check_text("notice.title", "x" * 10, 10) == "x" * 10
    with pytest.raises(InvalidInput, match="at most 10"):
        check_text("notice.title", "x" * 11, 10)
    with pytest.raises(InvalidInput, match="required"):
        check_text("notice.title", "  ", required=True)
    assert check_text("notice.title", "") == ""


@pytest.mark.parametrize(
    ("content", "digest"),
    [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("é", "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"),
        (
            "Vous pouvez retirer votre consentement à tout moment.",
            "55ad7b71258a5b8f51af4f67b2ce8b0dba78c6c34ef4559be889267fee56b3ed",
        ),
    ],
    ids=["empty", "abc", "utf-8", "french-sentence"],
)
def test_content_sha256_is_lowercase_hex_of_utf8(content: str, digest: str) -> None:
    """The notice fingerprint is the lowercase hex SHA-256 of the UTF-8 bytes of the text."""
    assert content_sha256(content) == digest


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "del\x7f"])
def test_control_characters_are_refused_in_text(text: str) -> None:
    """Free text refuses control characters (PostgreSQL refuses NUL outright)."""
    with pytest.raises(InvalidInput, match="control characters"):
        check_text("actor", text)


def test_tabs_and_newlines_are_kept_in_text() -> None:
    """Notice content keeps its layout: tab, newline and carriage return pass."""
    assert check_text("content", "a\tb\r\nc") == "a\tb\r\nc"


@pytest.mark.parametrize(
    "name",
    ["admin\u202egnp.exe", "ad\u200bmin", "\ufeffdpo", "dpo\u2060", "Jean\u00adne", "a\u200db"],
    ids=["rlo", "zero-width-space", "bom", "word-joiner", "soft-hyphen", "zwj"],
)
def test_one_line_text_refuses_format_characters(name: str) -> None:
    """A one-line name (who did something) refuses Unicode format characters (Cf: zero-width,
    bidi controls, BOM), which make it read as another name; the message names the character."""
    with pytest.raises(InvalidInput, match="format characters") as caught:
        check_text("actor", name, one_line=True)
    assert caught.value.field == "actor"
    assert f"U+{ord(next(c for c in name if not c.isprintable())):04X}" in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: ZWNJ between letters
        "\u0915\u094d\u200d\u0937",  # Devanagari: ZWJ after a virama
        "\u0915\u094d\u200c\u0937",  # and ZWNJ
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # an emoji family
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # a technologist, skin tone modified
    ],
    ids=["persian-zwnj", "devanagari-zwj", "devanagari-zwnj", "emoji-family", "emoji-modified"],
)
def test_one_line_text_keeps_the_joiners_a_name_needs(name: str) -> None:
    """ZWNJ and ZWJ where a script or an emoji sequence needs them (IDNA's CONTEXTJ rules:
    after a virama, ZWNJ between joining letters, ZWJ between emoji) are kept: Persian and Indic
    names could not be an actor before."""
    assert check_text("actor", name, one_line=True) == name


@pytest.mark.parametrize(
    "name",
    ["Jean\u200cne", "\u200dadmin", "dpo\u200c", "\u0645\u200c", "a\u200d\U0001f468"],
    ids=["latin-zwnj", "leading-zwj", "trailing-zwnj", "arabic-zwnj-at-end", "zwj-letter-emoji"],
)
def test_one_line_text_refuses_joiners_out_of_place(name: str) -> None:
    """A joiner nothing needs (between Latin letters, at either end, between a letter and an
    emoji) is refused: it makes a name read as another."""
    with pytest.raises(InvalidInput, match="format characters"):
        check_text("actor", name, one_line=True)


@pytest.mark.parametrize(
    "blank",
    [" ", "\u200b", "\u2800", "\u3164", "\u115f\u1160", "\uffa0", "\u034f", "\u0301", " \u2800 "],
    ids=repr,
)
def test_one_line_text_needs_a_visible_character(blank: str) -> None:
    """A one-line name made only of spaces, format characters, blank-looking fillers (Braille
    blank, Hangul fillers) or combining marks shows nothing: refused as blank when given, and
    as required when it is."""
    with pytest.raises(InvalidInput, match="at least one visible character"):
        check_text("attested_by", blank, one_line=True)
    with pytest.raises(InvalidInput, match="is required"):
        check_text("attested_by", blank, one_line=True, required=True)


@pytest.mark.parametrize("name", ["", "Jeanne (DPO)", "agent-7", "Zoe\u0308", "李雷", "⚙ cron"])
def test_one_line_text_keeps_visible_names(name: str) -> None:
    """Names that show something (accents as combining marks included) and the empty optional
    value pass; free text keeps what only one-line names refuse."""
    assert check_text("actor", name, one_line=True) == name
    assert check_text("notice.title", "\u2800 \u200b") == "\u2800 \u200b"


@pytest.mark.parametrize(
    "address",
    ["fe80::1%eth0", "fe80::1%jeanne.dupont@example.fr", "::1%+33612345678", "fe80::1%a b"],
)
def test_an_ip_address_with_a_zone_id_is_refused(address: str) -> None:
    """An IPv6 zone id (`%...`) names an interface, not where a request came from, and carries
    any text: refused, the message saying to give the address only."""
    with pytest.raises(InvalidInput, match="zone id") as caught:
        check_ip_address("evidence.ip_address", address)
    assert caught.value.field == "evidence.ip_address"
    assert str(check_ip_address("evidence.ip_address", " fe80::1 ")) == "fe80::1"
