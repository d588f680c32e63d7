"""Normalisation of subject identifiers and their keyed, per-tenant hashes."""

from __future__ import annotations

import hmac
from uuid import UUID

import idna
import pytest

from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import (
    Identifier,
    IdentifierHasher,
    IdentifierKind,
    normalise,
    normalise_cal_id,
    normalise_email,
    normalise_external_id,
    normalise_phone,
)

SECRET = bytes(range(32))
TENANT_A = UUID("00000000-0000-4000-8000-00000000000a")
TENANT_B = UUID("00000000-0000-4000-8000-00000000000b")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jeanne.martin@example.fr", "jeanne.martin@example.fr"),
        ("Jeanne.Martin@Example.FR", "jeanne.martin@example.fr"),
        ("  jeanne.martin@example.fr\t\n", "jeanne.martin@example.fr"),
        ("jean@bücher.example", "jean@xn--bcher-kva.example"),
        ("JEAN@BÜCHER.EXAMPLE", "jean@xn--bcher-kva.example"),
        ("jean@xn--bcher-kva.example", "jean@xn--bcher-kva.example"),
    ],
)
def test_email_is_normalised(raw: str, expected: str) -> None:
    """Emails are trimmed, lowercased and their domain IDNA-encoded (punycode)."""
    assert normalise_email(raw) == Identifier(IdentifierKind.EMAIL, expected)


def test_email_is_unicode_nfc() -> None:
    """A decomposed "é" (e + U+0301) names the same address as the composed "é" (U+00E9)."""
    composed = normalise_email("r\u00e9mi@b\u00fccher.example")
    decomposed = normalise_email("re\u0301mi@bu\u0308cher.example")
    assert decomposed == composed
    assert composed.value == "r\u00e9mi@xn--bcher-kva.example"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "jeanne.martin",
        "jeanne@",
        "@example.fr",
        "jeanne martin@example.fr",
        "jeanne@exa mple.fr",
        "jeanne@-example.fr",
        "jeanne@example..fr",
        "jeanne@example.fr.",
        "jeanne@under_score.fr",
        "x" * 65 + "@example.fr",
        "x" * 64 + "@" + ("a" * 60 + ".") * 4 + "fr",
        "jeanne\tmartin@example.fr",
        "jeanne\u00a0martin@example.fr",
        "jeanne@example\u3000.fr",
        "jeanne\u2028@example.fr",
    ],
    ids=[
        "empty",
        "blank",
        "no-at",
        "no-domain",
        "no-local-part",
        "space-in-local-part",
        "space-in-domain",
        "hyphen-leading-label",
        "empty-label",
        "trailing-dot",
        "underscore-in-domain",
        "local-part-too-long",
        "address-too-long",
        "tab",
        "no-break-space",
        "ideographic-space",
        "line-separator",
    ],
)
def test_invalid_email_is_refused_naming_the_field(raw: str) -> None:
    """A malformed email raises InvalidInput naming the request field it came from."""
    with pytest.raises(InvalidInput) as caught:
        normalise_email(raw, "subject.email")
    assert caught.value.field == "subject.email"


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+33 6 12 34 56 78", "FR"),
        ("+33612345678", "FR"),
        ("06 12 34 56 78", "FR"),
        ("06.12.34.56.78", "FR"),
        ("+33 6 12 34 56 78", "US"),
    ],
)
def test_phone_becomes_e164(raw: str, region: str) -> None:
    """International and national (read in the default region) numbers become E.164."""
    assert normalise_phone(raw, region) == Identifier(IdentifierKind.PHONE, "+33612345678")


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", "FR"),
        ("12", "FR"),
        ("not a phone", "FR"),
        ("+33 6 12", "FR"),
        ("+999 1234 5678", "FR"),
        ("06 12 34 56 78", ""),
        ("06 12 34 56 78", "ZZ"),
        ("\x00+33612345678", "FR"),
        ("+33612345678\x00", "FR"),
        ("+336123\n45678", "FR"),
    ],
    ids=[
        "empty",
        "too-short",
        "letters",
        "truncated",
        "unknown-country-code",
        "national-without-region",
        "national-unknown-region",
        "leading-nul",
        "trailing-nul",
        "line-break",
    ],
)
def test_invalid_phone_is_refused_naming_the_field(raw: str, region: str) -> None:
    """An unparsable or invalid phone number raises InvalidInput naming the field."""
    with pytest.raises(InvalidInput) as caught:
        normalise_phone(raw, region, "subject.phone")
    assert caught.value.field == "subject.phone"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0692 12 34 56", "+262692123456"),  # La Réunion, mobile
        ("0693123456", "+262693123456"),
        ("02 62 20 12 34", "+262262201234"),  # La Réunion, fixed
        ("0639012345", "+262639012345"),  # Mayotte, mobile
        ("02.69.60.12.34", "+262269601234"),  # Mayotte, fixed (not a metropolitan +33 2)
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe, Saint-Martin, Saint-Barthélemy
        ("0691281234", "+590691281234"),
        ("0590271234", "+590590271234"),
        ("0696123456", "+596696123456"),  # Martinique
        ("0697123456", "+596697123456"),
        ("0596301234", "+596596301234"),  # fixed, not a metropolitan +33 5
        ("0694201234", "+594694201234"),  # Guyane
        ("0594301234", "+594594301234"),
        ("05 08 41 12 34", "+508411234"),  # Saint-Pierre-et-Miquelon
        ("+262692123456", "+262692123456"),
        ("06 12 34 56 78", "+33612345678"),  # metropolitan numbers are unchanged
    ],
)
def test_french_overseas_national_numbers_get_their_own_country_code(
    raw: str, expected: str
) -> None:
    """With the region FR, the national number of an overseas department or collectivity is
    read under its own country code (the French numbering plan), as an agent types it."""
    assert normalise_phone(raw, "FR") == Identifier(IdentifierKind.PHONE, expected)


def test_overseas_prefix_with_an_unallocated_number_is_still_refused() -> None:
    """The mapping picks the country code; the number must still be an allocated one."""
    with pytest.raises(InvalidInput):
        normalise_phone("0639123456", "FR")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0269\u201360\u201312\u201335", "+262269601235"),  # en dashes (Mayotte, fixed)
        ("\uff10\uff12\uff16\uff19\uff16\uff10\uff11\uff12\uff13\uff16", "+262269601236"),
        ("0596\u202f30\u202f12\u202f34", "+596596301234"),  # narrow no-break spaces
        ("06\u221212\u221234\u221256\u221278", "+33612345678"),  # minus signs
        ("0269\u00ad61\u00ad23\u00ad45", "+262269612345"),  # soft hyphens (pasted)
        ("0269\u200b61\u200b23\u200b45", "+262269612345"),  # zero-width spaces
        ("0508\u223c41\u223c12\u223c34", "+508411234"),  # tilde operators
        ("0269\u30fc61\u30fc23\u30fc45", "+262269612345"),
    ],
    ids=["en-dash", "full-width", "narrow-nbsp", "minus", "shy", "zwsp", "tilde", "choonpu"],
)
def test_every_spelling_of_an_overseas_number_is_one_identity(raw: str, expected: str) -> None:
    """A Mayotte number typed with en dashes or full-width digits was read as a metropolitan
    +33 2 number: a withdrawal by one spelling left the other ALLOW. Typographic spaces (French
    typography's narrow no-break space) were refused."""
    assert normalise_phone(raw, "FR") == Identifier(IdentifierKind.PHONE, expected)


@pytest.mark.parametrize(
    "raw", ["+33 1 42 68 53 00 ext. 101", "+33142685300;ext=202", "0142685300 x202"]
)
def test_a_number_with_an_extension_is_refused(raw: str) -> None:
    """E.164 drops the extension: two people on one switchboard became one subject, and one's
    grant overturned the other's refusal."""
    with pytest.raises(InvalidInput, match="extension") as caught:
        normalise_phone(raw, "FR", "subject.phone")
    assert caught.value.field == "subject.phone"


@pytest.mark.parametrize("raw", ["c", "CRM-42 / Dupont", "x" * 256])
def test_external_id_is_kept_as_given(raw: str) -> None:
    """An external id of 1 to 256 printable characters is kept exactly (case, spaces)."""
    assert normalise_external_id(raw) == Identifier(IdentifierKind.EXTERNAL_ID, raw)


@pytest.mark.parametrize(
    "raw",
    ["", " ", "   ", "x" * 257, "crm\n42", "crm\x0042"],
    ids=["empty", "space", "spaces", "257", "newline", "nul"],
)
def test_invalid_external_id_is_refused_naming_the_field(raw: str) -> None:
    """Empty, blank, too long (> 256) or non-printable external ids raise InvalidInput."""
    with pytest.raises(InvalidInput) as caught:
        normalise_external_id(raw, "subject.external_id")
    assert caught.value.field == "subject.external_id"


@pytest.mark.parametrize(
    "blank",
    ["\u2800", "\u3164", "\u115f", "\u1160", "\uffa0", "\u034f", "\u0301", " \u2800 "],
    ids=repr,
)
def test_an_external_id_that_shows_nothing_is_refused(blank: str) -> None:
    """Braille blank, Hangul fillers, a grapheme joiner or a lone combining mark are printable
    but show nothing: such an id names nobody, so it is refused as blank."""
    with pytest.raises(InvalidInput, match="blank") as caught:
        normalise_external_id(blank, "subject.external_id")
    assert caught.value.field == "subject.external_id"
    assert "visible character" in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("crm\u200b42", "U+200B"),
        ("\ufeffcrm-42", "U+FEFF"),
        ("crm\u202e24", "U+202E"),
        ("crm\u00ad42", "U+00AD"),
        ("crm\x0042", "U+0000"),
        ("crm\x8542", "U+0085"),
    ],
)
def test_an_external_id_with_a_format_or_control_character_says_which(raw: str, named: str) -> None:
    """Format (zero-width, bidi, BOM, soft hyphen) and control characters are refused anywhere
    in an id; the message names the code point and the kinds of character refused."""
    with pytest.raises(InvalidInput) as caught:
        normalise_external_id(raw, "subject.external_id")
    assert named in caught.value.reason
    assert "format" in caught.value.reason
    assert "control" in caught.value.reason


@pytest.mark.parametrize("raw", ["Zoe\u0308", "李雷", "\u2800crm-42", "#42"])
def test_an_external_id_with_something_visible_is_kept(raw: str) -> None:
    """A combining mark on a base, other scripts, and a filler beside visible characters are
    kept exactly: only ids that show nothing are blank."""
    assert normalise_external_id(raw) == Identifier(IdentifierKind.EXTERNAL_ID, raw)


def test_hash_is_deterministic() -> None:
    """The same secret, tenant and identifier give the same 32-byte digest, every time."""
    email = normalise_email("jeanne.martin@example.fr")
    first = IdentifierHasher(SECRET).digest(TENANT_A, email)
    assert IdentifierHasher(SECRET).digest(TENANT_A, email) == first
    assert len(first) == 32


def test_hash_differs_per_tenant() -> None:
    """Two tenants get unrelated digests for one address, so they cannot correlate subjects."""
    hasher = IdentifierHasher(SECRET)
    email = normalise_email("jeanne.martin@example.fr")
    assert hasher.digest(TENANT_A, email) != hasher.digest(TENANT_B, email)


def test_hash_differs_per_kind_and_secret() -> None:
    """The kind is part of the hashed message, and another secret gives another digest."""
    hasher = IdentifierHasher(SECRET)
    email = normalise_email("jeanne.martin@example.fr")
    external = normalise_external_id(email.value)
    assert hasher.digest(TENANT_A, email) != hasher.digest(TENANT_A, external)
    other = IdentifierHasher(bytes(range(1, 33)))
    assert other.digest(TENANT_A, email) != hasher.digest(TENANT_A, email)


def test_hash_does_not_contain_the_value() -> None:
    """The digest is not the address in clear (the store keeps only this)."""
    email = normalise_email("jeanne.martin@example.fr")
    assert email.value.encode() not in IdentifierHasher(SECRET).digest(TENANT_A, email)


def test_short_secret_is_refused() -> None:
    """A secret shorter than 32 bytes is refused at construction; 32 bytes are accepted."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        IdentifierHasher(SECRET[:31])
    IdentifierHasher(SECRET)


@pytest.mark.parametrize(
    "identifier",
    [
        normalise_email("jeanne.martin@example.fr"),
        normalise_phone("+33 6 12 34 56 78", "FR"),
        normalise_external_id("crm-secret-42"),
    ],
    ids=["email", "phone", "external_id"],
)
def test_identifier_repr_hides_the_value(identifier: Identifier) -> None:
    """repr/str/f-strings of an identifier (alone or in a tuple) never show the value (no PII)."""
    for shown in (repr(identifier), str(identifier), f"{identifier}", repr((identifier,))):
        assert identifier.value not in shown
        assert identifier.kind.value in shown


@pytest.mark.parametrize("raw", ["a@b@example.fr", "a\u200b\x00@example.fr"])
def test_emails_with_extra_at_or_control_characters_are_refused(raw: str) -> None:
    """A second @ or an invisible control character is not an address we accept."""
    with pytest.raises(InvalidInput):
        normalise_email(raw)


def test_a_mailbox_mixing_look_alike_alphabets_is_refused() -> None:
    """Probe YD: `jane@example.fr` with a Cyrillic a (U+0430) was imported as a second
    person, shown as jane: a refusal imported for one never reached the other. A part before
    @ mixing Latin, Cyrillic or Greek letters is refused; one alphabet, accents and digits
    stay."""
    look_alikes = ("j\u0430ne@example.fr", "p\u0430ypal@example.com", "\u03bfscar@x.fr")
    # Probe ZA: Armenian, Cherokee, full-width and mathematical letters beside Latin ones.
    others = ("j\u0585hn@x.fr", "\u13a0avid@x.fr", "\uff4aohn@x.fr", "j\U0001d428hn@x.fr")
    for look_alike in (*look_alikes, *others):
        with pytest.raises(InvalidInput, match="look alike"):
            normalise_email(look_alike)
    # Probe ZE: a domain label mixing them is another domain that looks the same.
    for look_alike in ("bob@ex\u0430mple.fr", "a@ex\u03b1mple.fr", "a@example.\u0440\u0444x"):
        with pytest.raises(InvalidInput, match="look alike"):
            normalise_email(look_alike)
    for fine in ("élodie.ça@exemple.fr", "иван@пример.рф", "ελένη2@example.gr", "a1@x.fr"):
        assert normalise_email(fine).value


@pytest.mark.parametrize(
    "domain",
    [
        "example.fr",
        "mail.example.co.uk",
        "a.b",
        "x1-y2.example",
        "123.example",
        "localhost",
        "ab--cd.example",
        "xn--bcher-kva.example",
        "-bad.example",
        "bad-.example",
        "a..b",
        f"{'a' * 63}.fr",
        f"{'a' * 64}.fr",
        ".".join(["abcdefghi"] * 26),
        "bücher.example",
        "straße.de",
        "ex_ample.fr",
    ],
)
def test_plain_domains_take_the_short_path_to_the_same_result(domain: str) -> None:
    """An ASCII domain skips the IDNA library only when the library would return it
    unchanged; every domain gets the same address or the same refusal either way."""
    address = f"jeanne@{domain}"
    try:
        expected: str | None = f"jeanne@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        expected = None
    if expected is not None and len(expected) > 254:
        expected = None
    try:
        found: str | None = normalise_email(address).value
    except InvalidInput:
        found = None
    assert found == expected


def test_keyed_hash_is_hmac_sha256_under_the_tenant_key() -> None:
    """The prepared-state HMAC equals the standard library's HMAC-SHA256 of `label:value`
    under the tenant's derived key, for several tenants and values."""
    hasher = IdentifierHasher(bytes(range(32)))
    for tenant in (UUID(int=1), UUID(int=2**127 + 5)):
        key = hasher.tenant_key(tenant)
        for label, value in (
            ("email", "jeanne@example.fr"),
            ("ip", "203.0.113.7"),
            ("ua", "é" * 300),
        ):
            expected = hmac.digest(key, f"{label}:{value}".encode(), "sha256")
            assert hasher.keyed(tenant, label, value) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CAL-2026-000123", "CAL-2026-000123"),
        ("  cal-2026-000123\t", "CAL-2026-000123"),
        ("a", "A"),
        ("seat.7:eu/paris_2", "SEAT.7:EU/PARIS_2"),
        ("9" * 64, "9" * 64),
    ],
)
def test_cal_ids_are_one_spelling_whatever_the_case(raw: str, expected: str) -> None:
    assert normalise_cal_id(raw) == Identifier(IdentifierKind.CAL_ID, expected)
    assert normalise("cal_id", raw, "FR", "cal_id") == normalise_cal_id(raw)


@pytest.mark.parametrize(
    "raw",
    ["", " ", "CAL 1", "CAL-", ".CAL", "CAL\n1", "ﬁ-1", "straße", "ı1", "9" * 65, "CAL#1", "Ⅻ"],
)
def test_cal_ids_outside_the_alphabet_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_cal_id(raw, "subject.cal_id")
    assert refused.value.field == "subject.cal_id"


def test_a_cal_id_and_an_external_id_of_one_spelling_are_two_identities() -> None:
    """A licence id and the tenant's own id live in two namespaces: "A1" as one is not "A1" as
    the other (their keyed hashes differ)."""
    hasher = IdentifierHasher(SECRET)
    assert hasher.digest(TENANT_A, normalise_cal_id("A1")) != hasher.digest(
        TENANT_A, normalise_external_id("A1")
    )


@pytest.mark.parametrize(
    "raw",
    ["x,victim@example.org", "bob(c)@example.org", '"bob"@example.org', "a<b>@example.org",
     "a;b@example.org", "a:b@example.org", "a[b]@example.org", "a\\b@example.org"],
)  # fmt: skip
def test_an_address_a_message_would_read_as_another_mailbox_is_refused(raw: str) -> None:
    """Probe MA: `x,victim@...` was mailed to `x` and `victim@...`, `bob(c)@...` and
    `"bob"@...` to bob's mailbox: each a person of its own in consentd, whose confirmation,
    code or preference link reached another person."""
    with pytest.raises(InvalidInput, match="must not hold"):
        normalise_email(raw)
    assert normalise_email("o'brien+news@example.org").value == "o'brien+news@example.org"
