"""Cookie-choice rules: categories settled against the policy, expiry by the server, the status a
page acts on at the 12-month boundary, Consent Mode signals, and policy checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from uuid import uuid4

import pytest

from consentd.domain.cookie_policy import (
    DEFAULT_CONSENT_MODE,
    DEFAULT_POLICY,
    MAX_REVISION,
    MAX_REVISION_STEP,
    CookieCategory,
    CookiePolicy,
    check_origin,
    settle_policy,
)
from consentd.domain.cookies import (
    MAX_DECODINGS,
    ChoiceMethod,
    ChoiceStatus,
    CookieChoice,
    check_page_url,
    check_visitor_id,
    choice_status,
    consent_mode,
    expiry,
    settle_categories,
    truncate_ip,
)
from consentd.domain.errors import InvalidInput

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
ALL = ("analytics", "marketing", "necessary", "personalisation")
OPTIONAL = ("analytics", "marketing", "personalisation")


def choice(expires_at: datetime, revision: int = 1) -> CookieChoice:
    return CookieChoice(
        uuid4(), "v" * 16, None, ChoiceMethod.ACCEPT_ALL, ALL, (), revision, False, T0, expires_at
    )


@pytest.mark.parametrize(
    ("method", "granted", "expected"),
    [
        (ChoiceMethod.ACCEPT_ALL, (), (ALL, ())),
        (ChoiceMethod.REFUSE_ALL, (), (("necessary",), OPTIONAL)),
        (
            ChoiceMethod.CUSTOM,
            ("marketing",),
            (("marketing", "necessary"), ("analytics", "personalisation")),
        ),
        (ChoiceMethod.CUSTOM, ("necessary",), (("necessary",), OPTIONAL)),
    ],
    ids=["accept-all", "refuse-all", "custom", "custom-nothing"],
)
def test_categories_cover_the_whole_policy(
    method: ChoiceMethod, granted: tuple[str, ...], expected: tuple[tuple[str, ...], ...]
) -> None:
    """Every category ends up granted or refused; necessary is always granted."""
    assert settle_categories(DEFAULT_POLICY, method, granted, (), gpc=False) == expected


def test_gpc_choice_refuses_everything_and_needs_the_signal() -> None:
    """A GPC choice is a refusal of every optional category, and only with gpc set."""
    assert settle_categories(DEFAULT_POLICY, ChoiceMethod.GPC, (), (), gpc=True)[1] == OPTIONAL
    with pytest.raises(InvalidInput, match="gpc"):
        settle_categories(DEFAULT_POLICY, ChoiceMethod.GPC, (), (), gpc=False)


@pytest.mark.parametrize(
    ("method", "granted", "refused", "field"),
    [
        (ChoiceMethod.CUSTOM, ("analytics", "cookies_tiers"), (), "granted_categories[1]"),
        (ChoiceMethod.CUSTOM, (), ("necessary",), "refused_categories[0]"),
        (ChoiceMethod.CUSTOM, (), ("nope",), "refused_categories[0]"),
        (ChoiceMethod.CUSTOM, ("analytics",), ("marketing", "analytics"), "refused_categories[1]"),
        (ChoiceMethod.ACCEPT_ALL, ("analytics",), (), "granted_categories"),
        (ChoiceMethod.REFUSE_ALL, (), ("analytics",), "refused_categories"),
    ],
    ids=[
        "unknown-granted",
        "refuse-necessary",
        "unknown-refused",
        "overlap",
        "accept-with-list",
        "refuse-with-list",
    ],
)
def test_bad_categories_name_the_field(
    method: ChoiceMethod, granted: tuple[str, ...], refused: tuple[str, ...], field: str
) -> None:
    """Unknown, contradictory or superfluous categories are InvalidInput on the exact item."""
    with pytest.raises(InvalidInput) as raised:
        settle_categories(DEFAULT_POLICY, method, granted, refused, gpc=False)
    assert raised.value.field == field


def test_acceptance_lasts_12_calendar_months_refusal_6_mixed_the_shorter() -> None:
    """Accept: 12 months; refuse: the policy's 6; a mixed choice: the shorter (31 Jan clamps)."""
    assert expiry(DEFAULT_POLICY, ALL, (), T0, None) == datetime(2027, 1, 31, 9, tzinfo=UTC)
    refused = expiry(DEFAULT_POLICY, ("necessary",), OPTIONAL, T0, None)
    assert refused == datetime(2026, 7, 31, 9, tzinfo=UTC)
    mixed = expiry(DEFAULT_POLICY, ("analytics", "necessary"), ("marketing",), T0, None)
    assert mixed == refused
    three = replace(DEFAULT_POLICY, refusal_validity_months=3)
    assert expiry(three, ("necessary",), OPTIONAL, T0, None) == datetime(2026, 4, 30, 9, tzinfo=UTC)


def test_policy_with_only_necessary_counts_as_an_acceptance() -> None:
    """With no optional category there is nothing to refuse: the acceptance period applies."""
    bare = CookiePolicy(categories=())
    assert expiry(bare, ("necessary",), (), T0, None) == datetime(2027, 1, 31, 9, tzinfo=UTC)


def test_a_longer_ask_is_clamped_a_shorter_one_kept_a_past_one_refused() -> None:
    """The caller may shorten the validity, never lengthen it, and never set it in the past."""
    ceiling = datetime(2027, 1, 31, 9, tzinfo=UTC)
    assert expiry(DEFAULT_POLICY, ALL, (), T0, T0 + timedelta(days=3650)) == ceiling
    assert expiry(DEFAULT_POLICY, ALL, (), T0, T0 + timedelta(days=30)) == T0 + timedelta(days=30)
    with pytest.raises(InvalidInput, match="future"):
        expiry(DEFAULT_POLICY, ALL, (), T0, T0)


def test_a_refusal_is_kept_its_whole_period_whatever_the_page_asks() -> None:
    """A page asked a refusal to end five seconds later and had the banner back at once (probe
    AL): a choice that refuses anything keeps the policy's period; a shorter ask only shortens
    an acceptance."""
    soon = T0 + timedelta(seconds=5)
    refusal = expiry(DEFAULT_POLICY, ("necessary",), OPTIONAL, T0, soon)
    assert refusal == datetime(2026, 7, 31, 9, tzinfo=UTC)
    mixed = expiry(DEFAULT_POLICY, ("analytics", "necessary"), ("marketing",), T0, soon)
    assert mixed == refusal
    assert expiry(DEFAULT_POLICY, ALL, (), T0, soon) == soon
    # Nor is a refusal lost for an ask in the past, which does not count (probe AP).
    past = T0 - timedelta(seconds=5)
    assert expiry(DEFAULT_POLICY, ("necessary",), OPTIONAL, T0, past) == refusal
    with pytest.raises(InvalidInput, match="future"):
        expiry(DEFAULT_POLICY, ALL, (), T0, past)


def test_valid_until_one_second_before_12_months_expired_after() -> None:
    """At 12 months minus 1 s the choice is VALID; at the instant and 1 s after, EXPIRED."""
    limit = expiry(DEFAULT_POLICY, ALL, (), T0, None)
    made = choice(limit)
    assert choice_status(made, 1, limit - timedelta(seconds=1)) is ChoiceStatus.VALID
    assert choice_status(made, 1, limit) is ChoiceStatus.EXPIRED
    assert choice_status(made, 1, limit + timedelta(seconds=1)) is ChoiceStatus.EXPIRED


def test_status_none_and_revision_outdated() -> None:
    """No choice is NONE; an older revision is REVISION_OUTDATED unless already expired."""
    limit = T0 + timedelta(days=10)
    assert choice_status(None, 1, T0) is ChoiceStatus.NONE
    assert choice_status(choice(limit, 1), 2, T0) is ChoiceStatus.REVISION_OUTDATED
    assert choice_status(choice(limit, 1), 2, limit) is ChoiceStatus.EXPIRED
    assert choice_status(choice(limit, 2), 2, T0) is ChoiceStatus.VALID


def test_consent_mode_follows_the_mapping() -> None:
    """Signals are granted when every mapped category is; necessary-only signals always are."""
    signals = consent_mode(DEFAULT_POLICY, ("analytics", "necessary"))
    assert signals["analytics_storage"] == "granted"
    assert signals["ad_storage"] == signals["ad_user_data"] == "denied"
    assert signals["security_storage"] == signals["functionality_storage"] == "granted"
    nothing = consent_mode(DEFAULT_POLICY, None)
    assert {k for k, v in nothing.items() if v == "granted"} == {
        "functionality_storage",
        "security_storage",
    }
    assert len(consent_mode(DEFAULT_POLICY, ALL)) == 7
    assert set(consent_mode(DEFAULT_POLICY, ALL).values()) == {"granted"}


def test_a_mapped_category_the_policy_lacks_is_never_granted() -> None:
    """Default mapping on a policy without `marketing`: the ad signals stay denied."""
    policy = CookiePolicy(categories=(CookieCategory("analytics"),))
    assert consent_mode(policy, ("analytics", "marketing", "necessary"))["ad_storage"] == "denied"


def test_visitor_ids_page_urls_and_ips() -> None:
    """Visitor ids are random-looking tokens; URLs lose query and fragment; IPs are truncated."""
    assert check_visitor_id("a" * 16) == "a" * 16
    for bad in ("a" * 15, "a" * 65, "ab cd" * 4, "é" * 20):
        with pytest.raises(InvalidInput, match="visitor_id"):
            check_visitor_id(bad)
    url = "https://user:pw@shop.example.fr:8443/panier?email=jeanne@example.fr#x"
    assert check_page_url(url) == "https://shop.example.fr:8443/panier"
    assert check_page_url("") == ""
    for bad in ("javascript:alert(1)", "ftp://x/", "https://", "http://a b/", "https://[::1"):
        with pytest.raises(InvalidInput, match="page_url"):
            check_page_url(bad)
    with pytest.raises(InvalidInput, match="at most 2048"):
        check_page_url("https://example.fr/" + "a" * 2048)
    assert truncate_ip("192.0.2.77") == "192.0.2.0/24"
    assert truncate_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    with pytest.raises(InvalidInput, match="ip_address"):
        truncate_ip("not-an-ip")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://a.fr/compte/jeanne@example.fr/x", "https://a.fr/compte/(email)/x"),
        ("https://a.fr/u/jeanne%40example.fr", "https://a.fr/u/(email)"),
        ("https://a.fr/u/jeanne%2540example.fr", "https://a.fr/u/(email)"),
        ("https://a.fr/u;mail=a@b.fr/", "https://a.fr/(email)/"),
        ("https://a.fr/@marque/produit", "https://a.fr/@marque/produit"),
        ("https://a.fr/100%25/remise", "https://a.fr/100%25/remise"),
        ("https://a.fr/u/jeanne%25252540example.fr", "https://a.fr/u/(email)"),
        ("https://a.fr/u/jeanne\uff20example.fr", "https://a.fr/u/(email)"),
        ("https://a.fr/u/jeanne%EF%BC%A0example.fr", "https://a.fr/u/(email)"),
        ("https://a.fr/u/jeanne\ufe6bexample.fr", "https://a.fr/u/(email)"),
        ("https://a.fr/u/" + "%25" * 20 + "40", "https://a.fr/u/" + "%25" * 20 + "40"),
    ],
    ids=repr,
)
def test_email_looking_path_segments_are_replaced(url: str, kept: str) -> None:
    """A path segment holding `x@y` (also percent-encoded, however many times, and with the
    full-width or small at sign) becomes `(email)`; others stay."""
    assert check_page_url(url) == kept


def test_a_segment_encoded_past_the_decoding_bound_is_scrubbed() -> None:
    """A segment still changing after MAX_DECODINGS percent-decodings hides what it holds: it
    is scrubbed, not kept, whatever it would decode to."""
    segment = "jeanne@example.fr"
    for _ in range(MAX_DECODINGS + 2):
        segment = quote(segment, safe="")
    assert check_page_url(f"https://a.fr/u/{segment}") == "https://a.fr/u/(email)"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://shop.example.fr\\u\\jeanne@example.fr", "U+005C"),
        ("https://shop.example.fr/a\\b", "U+005C"),
        ("https://shop.example.fr/a\tb", "U+0009"),
        ("https://shop.example.fr/a\nb", "U+000A"),
        ("https://shop.example.fr/a\u00a0b", "U+00A0"),
        ("https://shop.example.fr/a\u0085b", "U+0085"),
        ("https://shop.example.fr/a\u202eb", "U+202E"),
    ],
    ids=["backslash-host", "backslash-path", "tab", "newline", "nbsp", "nel", "rlo"],
)
def test_a_page_url_with_a_backslash_whitespace_or_control_is_refused(url: str, named: str) -> None:
    """location.href never holds these, and parsers disagree on them (a backslash made the
    rest of the URL read as credentials of another host): refused naming the character."""
    with pytest.raises(InvalidInput, match="backslash, whitespace, control") as caught:
        check_page_url(url)
    assert caught.value.field == "page_url"
    assert named in caught.value.reason


@pytest.mark.parametrize("address", ["fe80::1%eth0", "::1%+33612345678", "fe80::1%a b"])
def test_a_cookie_ip_with_a_zone_id_is_refused(address: str) -> None:
    """The network kept of a visitor's IP never carries a zone id: refused naming the field."""
    with pytest.raises(InvalidInput, match="zone id") as caught:
        truncate_ip(address)
    assert caught.value.field == "ip_address"


def test_no_categories_means_the_default_ones_and_revisions_have_a_ceiling() -> None:
    """An empty category list settles to the defaults (a mapping may name them); a revision
    over MAX_REVISION is refused unless it is the one already stored (kept, never raised to)."""
    mapped = CookiePolicy(categories=(), consent_mode=(("ad_storage", ("marketing",)),))
    settled = settle_policy(mapped, None)
    assert settled.categories == DEFAULT_POLICY.categories
    assert settled.consent_mode == (("ad_storage", ("marketing",)),)
    for too_high in (MAX_REVISION + 1, 2**31 - 1):
        with pytest.raises(InvalidInput, match=r"policy\.revision"):
            settle_policy(CookiePolicy(categories=(), revision=too_high), settled)
    near = replace(settled, revision=MAX_REVISION - 5)
    assert settle_policy(CookiePolicy((), revision=MAX_REVISION), near).revision == MAX_REVISION
    legacy = replace(settle_policy(CookiePolicy(()), None), revision=2**31 - 1)
    assert settle_policy(CookiePolicy((), revision=0), legacy).revision == 2**31 - 1
    assert settle_policy(CookiePolicy((), revision=2**31 - 1), legacy).revision == 2**31 - 1


def test_origins_are_normalised_and_checked() -> None:
    """Origins are scheme://host[:port], lowercased; paths, credentials and junk are refused."""
    assert check_origin("HTTPS://WWW.Example.FR", "o") == "https://www.example.fr"
    assert check_origin("http://127.0.0.1:8080/", "o") == "http://127.0.0.1:8080"
    assert check_origin("http://[::1]:3000", "o") == "http://[::1]:3000"
    for bad in (
        "www.example.fr",
        "https://example.fr/page",
        "https://u@example.fr",
        "https://x:99999",
        "null",
    ):
        with pytest.raises(InvalidInput):
            check_origin(bad, "o")


def test_settle_policy_fills_defaults_and_checks_every_field() -> None:
    """Zero values take the defaults; revisions never go down; every bad field is named."""
    settled = settle_policy(CookiePolicy(categories=(CookieCategory("analytics"),)), None)
    assert (settled.revision, settled.refusal_validity_months) == (1, 6)
    assert settled.acceptance_validity_months == 12
    assert dict(settled.consent_mode)["analytics_storage"] == ("analytics",)
    same = CookiePolicy(categories=(CookieCategory("analytics"),), revision=0)
    kept = settle_policy(same, replace(settled, revision=4))
    assert kept.revision == 4
    bad_cases = [
        (CookiePolicy(categories=(), revision=3), "policy.revision"),
        (
            CookiePolicy(categories=(CookieCategory("necessary"),)),
            "policy.categories[0].category_id",
        ),
        (
            CookiePolicy(categories=(CookieCategory("a"), CookieCategory("a"))),
            "policy.categories[1].category_id",
        ),
        (CookiePolicy(categories=(CookieCategory("Bad Id"),)), "policy.categories[0].category_id"),
        (CookiePolicy(categories=(), refusal_validity_months=13), "policy.refusal_validity_months"),
        (
            CookiePolicy(categories=(), acceptance_validity_months=24),
            "policy.acceptance_validity_months",
        ),
        (
            CookiePolicy(
                categories=(CookieCategory("stats"),),
                consent_mode=(("ad_storage", ("marketing",)),),
            ),
            "policy.consent_mode[0].categories[0]",
        ),
        (
            CookiePolicy(categories=(), consent_mode=(("cookies", ("necessary",)),)),
            "policy.consent_mode[0].signal",
        ),
        (
            CookiePolicy(categories=(), consent_mode=(("ad_storage", ()),)),
            "policy.consent_mode[0].categories",
        ),
        (CookiePolicy(categories=(), allowed_origins=("ftp://x",)), "policy.allowed_origins[0]"),
        (
            CookiePolicy(categories=(), allowed_origins=("https://a.fr",) * 51),
            "policy.allowed_origins",
        ),
        (
            CookiePolicy(categories=tuple(CookieCategory(f"c{i}") for i in range(21))),
            "policy.categories",
        ),
    ]
    for policy, field in bad_cases:
        unchanged = 0 if policy.revision == 1 else policy.revision  # 1 is the dataclass default
        with pytest.raises(InvalidInput) as raised:
            settle_policy(replace(policy, revision=unchanged), replace(settled, revision=4))
        assert raised.value.field == field, policy


@pytest.mark.parametrize("name", ["x\u202ey", "x\ny", "x\u200by", "   "], ids=repr)
def test_a_category_name_is_one_visible_line(name: str) -> None:
    """A category's name is what the banner shows a visitor: as a purpose's, one line without
    bidi or zero-width characters, and not blank (each was stored; probe WC). Its description
    keeps line breaks."""
    category = CookieCategory("stats", name, "Mesure\nd'audience")
    with pytest.raises(InvalidInput) as raised:
        settle_policy(CookiePolicy(categories=(category,)), None)
    assert raised.value.field == "policy.categories[0].display_name"
    kept = settle_policy(CookiePolicy(categories=(replace(category, display_name="Stats"),)), None)
    assert kept.categories[0].description == "Mesure\nd'audience"


def test_origins_are_stored_as_a_browser_sends_them() -> None:
    """Origins are matched exactly against the Origin header, so they are stored as browsers
    send it: `https://shop.example.fr:443` and `https://bücher.example` were stored as typed and
    never matched; `https://*.example.fr` was stored and matched nothing (no wildcards)."""
    assert check_origin("https://shop.example.fr:443", "o") == "https://shop.example.fr"
    assert check_origin("http://shop.example.fr:80/", "o") == "http://shop.example.fr"
    assert check_origin("http://shop.example.fr:443", "o") == "http://shop.example.fr:443"
    assert check_origin("https://Bücher.example", "o") == "https://xn--bcher-kva.example"
    with pytest.raises(InvalidInput, match="wildcards are not supported"):
        check_origin("https://*.example.fr", "o")
    with pytest.raises(InvalidInput, match="not a valid domain name"):
        check_origin("https://a%20b.example", "o")


def test_an_origin_no_browser_could_send_is_refused() -> None:
    """Probe DO: a 100,013-character origin was stored and served to every page key, and so
    were a 64-character label, a name over 253 characters, broken punycode and port 0."""
    for bad in (
        "https://" + "a" * 100_000 + ".test",
        "https://" + "a" * 64 + ".test",
        "https://" + ".".join(["a" * 60] * 5),
        "https://xn--zz.test",
        "https://a..b.example",
    ):
        with pytest.raises(InvalidInput, match="labels of 1 to 63 characters"):
            check_origin(bad, "o")
    with pytest.raises(InvalidInput, match="port must be 1 to 65535"):
        check_origin("http://localhost:0", "o")
    longest = ".".join(["a" * 63] * 3) + ".fr"
    assert check_origin(f"https://{longest}", "o") == f"https://{longest}"
    # Registered names IDNA 2008 refuses are served, and browsers send them (probe DQ).
    for served in ("xn--bcher-kva.example", "xn--ls8h.la", "xn--i-7iq.ws", "example.fr."):
        assert check_origin(f"https://{served}", "o") == f"https://{served}"


def test_an_unknown_category_is_named_only_when_it_has_a_keys_form() -> None:
    """A value of a key's form is quoted back; anything else (an e-mail address typed in a
    category) is not: the message goes back to the page and its error reports (probe AO)."""
    with pytest.raises(InvalidInput) as named:
        settle_categories(DEFAULT_POLICY, ChoiceMethod.CUSTOM, ("videos",), (), gpc=False)
    assert '"videos"' in named.value.reason
    with pytest.raises(InvalidInput) as hidden:
        settle_categories(DEFAULT_POLICY, ChoiceMethod.CUSTOM, ("lea@example.fr",), (), gpc=False)
    assert "lea" not in hidden.value.reason
    assert hidden.value.reason.startswith("unknown category (not of a key's form) (known: ")


def test_a_revision_is_raised_a_step_at_a_time() -> None:
    """Probe CC: one put of revision 1,000,000 (the ceiling) left the tenant unable ever to
    raise it again, so never to outdate its visitors' choices. A put raises it by at most
    MAX_REVISION_STEP, from 1 for a tenant's first policy."""
    first = settle_policy(CookiePolicy((), revision=1 + MAX_REVISION_STEP), None)
    with pytest.raises(InvalidInput, match=r"must be at most 2001: a revision is raised") as e:
        settle_policy(CookiePolicy((), revision=MAX_REVISION), first)
    assert e.value.field == "policy.revision"
    assert settle_policy(CookiePolicy((), revision=2001), first).revision == 2001
    with pytest.raises(InvalidInput, match="at most 1001"):
        settle_policy(CookiePolicy((), revision=1002), None)


def test_the_default_consent_mode_maps_the_policys_own_categories_only() -> None:
    """Probe CC: a policy of its own categories, put without a mapping, was stored with the
    default one naming `marketing` and `analytics` it did not have. The default mapping keeps
    the categories the policy has; a signal left with none is not mapped (denied)."""
    own = CookiePolicy((CookieCategory("marketing", "Publicité", ""),))
    assert settle_policy(own, None).consent_mode == (
        ("ad_storage", ("marketing",)),
        ("ad_user_data", ("marketing",)),
        ("ad_personalization", ("marketing",)),
        ("functionality_storage", ("necessary",)),
        ("security_storage", ("necessary",)),
    )
    assert settle_policy(CookiePolicy(()), None).consent_mode == DEFAULT_CONSENT_MODE


def test_a_put_that_keeps_the_revision_keeps_the_choices_visitors_made_among() -> None:
    """Probe RD: a category added, or a Consent Mode signal remapped, at the same revision: the
    visitors who chose before were never asked of it, or their choice now grants something
    else, and nobody was asked again. Such a put must raise the revision; texts, periods and
    origins may change within one."""
    current = settle_policy(CookiePolicy(categories=(), revision=3), None)
    social = CookieCategory("social", "Réseaux sociaux")
    added = CookiePolicy(categories=(*current.categories, social), revision=3)
    with pytest.raises(InvalidInput, match=r"policy\.revision: .*raise the revision \(to 4\)"):
        settle_policy(added, current)
    assert settle_policy(replace(added, revision=4), current).revision == 4
    remapped = CookiePolicy(
        categories=(), revision=3, consent_mode=(("ad_storage", ("analytics",)),)
    )
    with pytest.raises(InvalidInput, match=r"policy\.revision"):
        settle_policy(remapped, current)
    renamed = tuple(replace(c, display_name=c.display_name + " !") for c in current.categories)
    kept = settle_policy(
        CookiePolicy(categories=renamed, revision=3, refusal_validity_months=3), current
    )
    assert (kept.revision, kept.refusal_validity_months) == (3, 3)
