"""CookieService through the generated stubs: record and read back, the server's expiry at the
12-month boundary, revisions, TCF provenance, history and subject links, tenant policy."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import cookies_pb2 as pb
from consent.v1 import types_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2, status_pb2

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.cookies import truncate_ip
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.tenancy import Scope, Tenant
from consentd.store.tables import cookie_choices
from tests.conftest import TEST_SECRET, Stubs, TestClock, bearer, owner
from tests.unit.test_tcf import BITFIELD, Writer

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
ACCEPT = pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL
REFUSE = pb.COOKIE_CHOICE_METHOD_REFUSE_ALL
CUSTOM = pb.COOKIE_CHOICE_METHOD_CUSTOM
GPC = pb.COOKIE_CHOICE_METHOD_GPC
VALID = pb.COOKIE_CHOICE_STATUS_VALID
EXPIRED = pb.COOKIE_CHOICE_STATUS_EXPIRED
OUTDATED = pb.COOKIE_CHOICE_STATUS_REVISION_OUTDATED
NONE = pb.COOKIE_CHOICE_STATUS_NONE


def visitor() -> str:
    return uuid4().hex


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


async def record(stubs: Stubs, **fields: object) -> pb.RecordCookieChoiceResponse:
    fields.setdefault("policy_revision", 1)
    fields.setdefault("method", ACCEPT)
    request = pb.RecordCookieChoiceRequest(**fields)  # type: ignore[arg-type]
    return await stubs.cookies.RecordCookieChoice(request, metadata=stubs.metadata)


async def get(stubs: Stubs, visitor_id: str) -> pb.GetCookieChoiceResponse:
    request = pb.GetCookieChoiceRequest(visitor_id=visitor_id)
    return await stubs.cookies.GetCookieChoice(request, metadata=stubs.metadata)


async def put_policy(stubs: Stubs, **fields: object) -> pb.CookiePolicy:
    request = pb.PutCookiePolicyRequest(policy=pb.CookiePolicy(**fields))  # type: ignore[arg-type]
    return (await stubs.cookies.PutCookiePolicy(request, metadata=stubs.metadata)).policy


async def history(stubs: Stubs, **owner: object) -> list[pb.CookieChoice]:
    request = pb.ListCookieChoicesRequest(**owner)  # type: ignore[arg-type]
    return list((await stubs.cookies.ListCookieChoices(request, metadata=stubs.metadata)).choices)


def violation(error: grpc.aio.AioRpcError) -> str:
    """The field named by the google.rpc.BadRequest detail."""
    raw = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    status = status_pb2.Status.FromString(raw)
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    field: str = bad.field_violations[0].field
    return field


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://shop.example.fr/tel/+33612345101/", "https://shop.example.fr/tel/(phone)/"),
        ("https://shop.example.fr/p/%2B33612345101", "https://shop.example.fr/p/(phone)"),
        ("https://shop.example.fr/from/203.0.113.77/", "https://shop.example.fr/from/(ip)/"),
        ("https://shop.example.fr/2026/12/07/news", "https://shop.example.fr/2026/12/07/news"),
        ("https://shop.example.fr/sku/w0-100-856242", "https://shop.example.fr/sku/w0-100-856242"),
        # Probe WA: an address of few digits, and a path kept encoded around what is replaced.
        ("https://shop.example.fr/ip/10.0.0.1", "https://shop.example.fr/ip/(ip)"),
        (
            "https://shop.example.fr/a%0D%0Ab%3F/0612345101",
            "https://shop.example.fr/a%0D%0Ab%3F/(phone)",
        ),
    ],
)
async def test_a_page_urls_phone_numbers_and_ips_are_not_kept(
    stubs: Stubs, url: str, kept: str
) -> None:
    """Probe TA: only e-mail addresses were taken out of a page URL's path: a phone number or
    an IP address in it was stored in clear, returned by the API, and outlived the erasure.
    Dates and ids stay."""
    answer = await record(stubs, visitor_id=visitor(), page_url=url)
    assert answer.choice.page_url == kept


async def test_accept_all_is_stored_and_read_back_valid(stubs: Stubs, clock: TestClock) -> None:
    """Accept all: every category granted, 12 calendar months, every Consent Mode signal granted;
    the same answer comes back from GetCookieChoice."""
    clock.pinned = T0
    v = visitor()
    answer = await record(stubs, visitor_id=v, page_url="https://shop.example.fr/?q=1")
    assert answer.status == VALID
    choice = answer.choice
    assert list(choice.granted_categories) == [
        "analytics",
        "marketing",
        "necessary",
        "personalisation",
    ]
    assert list(choice.refused_categories) == []
    assert choice.expires_at.ToDatetime(tzinfo=UTC) == datetime(2027, 1, 31, 9, tzinfo=UTC)
    assert choice.page_url == "https://shop.example.fr/"
    assert set(answer.consent_mode.values()) == {"granted"}
    assert answer.consent_mode["ad_user_data"] == "granted"
    read = await get(stubs, v)
    assert read.status == VALID
    assert read.choice == choice
    assert read.policy_revision == 1


async def test_refusal_lasts_six_months_and_denies_signals(stubs: Stubs, clock: TestClock) -> None:
    """Refuse all: only necessary, 6 months by default, ad and analytics signals denied."""
    clock.pinned = T0
    answer = await record(stubs, visitor_id=visitor(), method=REFUSE)
    assert list(answer.choice.granted_categories) == ["necessary"]
    assert answer.choice.expires_at.ToDatetime(tzinfo=UTC) == datetime(2026, 7, 31, 9, tzinfo=UTC)
    assert answer.consent_mode["ad_storage"] == "denied"
    assert answer.consent_mode["analytics_storage"] == "denied"
    assert answer.consent_mode["security_storage"] == "granted"


@pytest.mark.parametrize(
    ("method", "limit"),
    [
        (ACCEPT, datetime(2027, 1, 31, 9, tzinfo=UTC)),
        (REFUSE, datetime(2026, 7, 31, 9, tzinfo=UTC)),
    ],
    ids=["acceptance-12-months", "refusal-6-months"],
)
async def test_valid_one_second_before_the_limit_expired_one_second_after(
    stubs: Stubs, clock: TestClock, method: int, limit: datetime
) -> None:
    """Read at limit - 1 s: VALID; at the limit and at limit + 1 s: EXPIRED, signals denied."""
    clock.pinned = T0
    v = visitor()
    await record(stubs, visitor_id=v, method=method)
    clock.pinned = limit - timedelta(seconds=1)
    assert (await get(stubs, v)).status == VALID
    for late in (limit, limit + timedelta(seconds=1)):
        clock.pinned = late
        read = await get(stubs, v)
        assert read.status == EXPIRED
        assert read.consent_mode["analytics_storage"] == "denied"
        assert read.choice.expires_at.ToDatetime(tzinfo=UTC) == limit


async def test_a_longer_validity_asked_is_clamped(stubs: Stubs, clock: TestClock) -> None:
    """A page asking for 5 years gets 12 months; asking for 1 month gets 1 month."""
    clock.pinned = T0
    long = await record(stubs, visitor_id=visitor(), expires_at=stamp(T0 + timedelta(days=1826)))
    assert long.choice.expires_at.ToDatetime(tzinfo=UTC) == datetime(2027, 1, 31, 9, tzinfo=UTC)
    short = await record(stubs, visitor_id=visitor(), expires_at=stamp(T0 + timedelta(days=30)))
    assert short.choice.expires_at.ToDatetime(tzinfo=UTC) == T0 + timedelta(days=30)


async def test_a_new_revision_outdates_earlier_choices(stubs: Stubs, clock: TestClock) -> None:
    """After PutCookiePolicy raises the revision, an earlier choice is REVISION_OUTDATED; a
    choice on the new revision is VALID; a stale page's choice is kept but outdated."""
    clock.pinned = T0
    v = visitor()
    await record(stubs, visitor_id=v)
    await put_policy(stubs, revision=2)
    read = await get(stubs, v)
    assert (read.status, read.policy_revision) == (OUTDATED, 2)
    assert read.consent_mode["ad_storage"] == "denied"
    stale = await record(stubs, visitor_id=v, policy_revision=1)
    assert stale.status == OUTDATED
    fresh = await record(stubs, visitor_id=v, policy_revision=2)
    assert fresh.status == VALID
    assert (await get(stubs, v)).status == VALID


async def test_unknown_visitor_is_none(stubs: Stubs) -> None:
    """A visitor with no choice: NONE, no choice, only necessary-mapped signals granted."""
    read = await get(stubs, visitor())
    assert read.status == NONE
    assert not read.HasField("choice")
    assert read.consent_mode["functionality_storage"] == "granted"
    assert read.consent_mode["ad_personalization"] == "denied"


def _oversized() -> dict[str, object]:
    return {"page_url": "https://example.fr/" + "a" * 3000}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"method": CUSTOM, "granted_categories": ["analytics", "tracking"]},
            "granted_categories[1]",
        ),
        ({"method": CUSTOM, "refused_categories": ["necessary"]}, "refused_categories[0]"),
        ({"tcf_string": "COyfVVoOyfVVo"}, "tcf_string"),
        ({"tcf_string": "not base64!"}, "tcf_string"),
        ({"tcf_string": "C" * 5000}, "tcf_string"),
        (_oversized(), "page_url"),
        ({"user_agent": "x" * 5000}, "user_agent"),
        ({"method": CUSTOM, "granted_categories": ["analytics"] * 60}, "granted_categories"),
        ({"policy_revision": 7}, "policy_revision"),
        ({"policy_revision": 0}, "policy_revision"),
        ({"method": 0}, "method"),
        ({"method": GPC}, "gpc"),
        ({"ip_address": "999.1.1.1"}, "ip_address"),
        ({"page_url": "javascript:alert(1)"}, "page_url"),
        ({"expires_at": stamp(datetime(2020, 1, 1, tzinfo=UTC))}, "expires_at"),
    ],
    ids=[
        "unknown-category",
        "refuse-necessary",
        "truncated-tcf",
        "not-base64-tcf",
        "oversized-tcf",
        "oversized-page-url",
        "oversized-user-agent",
        "too-many-categories",
        "unknown-revision",
        "no-revision",
        "no-method",
        "gpc-without-signal",
        "bad-ip",
        "bad-url",
        "expiry-in-the-past",
    ],
)
async def test_bad_input_names_the_field_and_stores_nothing(
    stubs: Stubs, fields: dict[str, object], field: str
) -> None:
    """INVALID_ARGUMENT with the field in the message and the BadRequest detail; no choice and
    no visitor row are left behind."""
    v = visitor()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await record(stubs, visitor_id=v, **fields)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violation(raised.value) == field
    assert field in (raised.value.details() or "")
    assert (await get(stubs, v)).status == NONE
    assert await history(stubs, visitor_id=v) == []


async def test_bad_visitor_id_is_refused(stubs: Stubs) -> None:
    """Visitor ids must be random-looking tokens of 16 to 64 characters."""
    for bad in ("short", "x" * 65, "with spaces in it!!"):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await record(stubs, visitor_id=bad)
        assert violation(raised.value) == "visitor_id"


async def test_a_category_named_twice_is_refused(stubs: Stubs) -> None:
    """As a policy's category or a consent's target: it was kept once, silently (probe BA)."""
    for field in ("granted_categories", "refused_categories"):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await record(
                stubs, visitor_id=visitor(), method=CUSTOM, **{field: ["analytics", "analytics"]}
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violation(raised.value) == f"{field}[1]"
        assert "appears twice (as [0])" in (raised.value.details() or "")


async def test_tcf_string_is_decoded_and_kept(stubs: Stubs) -> None:
    """A valid TC string is stored as given, with its core fields decoded."""
    answer = await record(stubs, visitor_id=visitor(), tcf_string=BITFIELD)
    tcf = answer.choice.tcf
    assert answer.choice.tcf_string == BITFIELD
    assert (tcf.version, tcf.cmp_id, tcf.cmp_version, tcf.consent_screen) == (2, 21, 7, 2)
    assert (tcf.consent_language, tcf.vendor_list_version, tcf.tcf_policy_version) == ("EN", 23, 2)
    assert list(tcf.purposes_consent) == [1, 3, 9, 10]
    assert list(tcf.purposes_legitimate_interest) == [3, 4, 5, 8, 9, 10]
    assert (tcf.vendor_consent_count, tcf.publisher_country_code) == (56, "KM")
    assert tcf.created.ToDatetime(tzinfo=UTC) == datetime(
        2008, 12, 7, 10, 4, 17, 700000, tzinfo=UTC
    )


async def test_gpc_custom_and_the_signal_are_kept(stubs: Stubs) -> None:
    """A GPC choice refuses everything optional; custom grants exactly what was ticked."""
    gpc = await record(stubs, visitor_id=visitor(), method=GPC, gpc=True)
    assert (gpc.choice.gpc, list(gpc.choice.granted_categories)) == (True, ["necessary"])
    custom = await record(
        stubs, visitor_id=visitor(), method=CUSTOM, granted_categories=["analytics"]
    )
    assert list(custom.choice.refused_categories) == ["marketing", "personalisation"]
    assert custom.consent_mode["analytics_storage"] == "granted"
    assert custom.consent_mode["ad_storage"] == "denied"


async def test_ip_and_user_agent_are_kept_only_as_keyed_hashes(
    stubs: Stubs, app: App, tenant: Tenant
) -> None:
    """The row holds HMACs of the /24 network and of the user agent; the values are nowhere."""
    ua = "Mozilla/5.0 (X11; Linux x86_64) Chromium/156"
    answer = await record(stubs, visitor_id=visitor(), ip_address="203.0.113.77", user_agent=ua)
    async with owner(app).connect() as conn:  # the runtime role would need the tenant set
        row = (
            (
                await conn.execute(
                    sa.select(cookie_choices).where(
                        cookie_choices.c.choice_id == answer.choice.choice_id
                    )
                )
            )
            .mappings()
            .one()
        )
    hasher = IdentifierHasher(TEST_SECRET)
    assert row["ip_digest"] == hasher.keyed(tenant.tenant_id, "ip", truncate_ip("203.0.113.77"))
    assert row["ua_digest"] == hasher.keyed(tenant.tenant_id, "ua", ua)
    text = " ".join(str(value) for value in row.values())
    assert "203.0.113" not in text
    assert "Mozilla" not in text


async def test_history_and_linking_a_visitor_to_a_subject(stubs: Stubs) -> None:
    """Choices are listed newest first; a login links earlier choices and later ones to the
    subject, whose history spans every linked visitor."""
    phone, laptop = visitor(), visitor()
    await record(stubs, visitor_id=phone, method=REFUSE)
    await record(stubs, visitor_id=phone)
    listed = await history(stubs, visitor_id=phone)
    assert [c.method for c in listed] == [ACCEPT, REFUSE]
    jeanne = types_pb2.SubjectRef(email="jeanne@example.fr")
    linked = await stubs.cookies.LinkVisitor(
        pb.LinkVisitorRequest(visitor_id=phone, subject=jeanne), metadata=stubs.metadata
    )
    assert linked.choices_linked == 2
    later = await record(stubs, visitor_id=phone, method=CUSTOM, granted_categories=["analytics"])
    assert later.choice.subject_id == linked.subject_id
    await record(stubs, visitor_id=laptop, subject=jeanne)
    mine = await history(stubs, subject=jeanne)
    assert len(mine) == 4
    assert {c.visitor_id for c in mine} == {phone, laptop}
    page = await stubs.cookies.ListCookieChoices(
        pb.ListCookieChoicesRequest(subject=jeanne, page_size=3), metadata=stubs.metadata
    )
    rest = await stubs.cookies.ListCookieChoices(
        pb.ListCookieChoicesRequest(subject=jeanne, page_size=3, page_token=page.next_page_token),
        metadata=stubs.metadata,
    )
    assert len(page.choices) + len(rest.choices) == 4
    assert rest.next_page_token == ""
    # The token holds the page's last choice id (seen already), not the global sequence.
    token = page.next_page_token
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert payload["c"] == page.choices[-1].choice_id
    assert {c.choice_id for c in page.choices}.isdisjoint(c.choice_id for c in rest.choices)
    nobody = types_pb2.SubjectRef(email="nobody@example.fr")
    assert await history(stubs, subject=nobody) == []


async def test_policy_defaults_then_custom_categories_and_mapping(stubs: Stubs) -> None:
    """Until put, the defaults; a put policy drives categories, refusal period and signals."""
    got = await stubs.cookies.GetCookiePolicy(pb.GetCookiePolicyRequest(), metadata=stubs.metadata)
    assert [c.category_id for c in got.policy.categories] == [
        "analytics",
        "marketing",
        "personalisation",
    ]
    assert (got.policy.revision, got.policy.refusal_validity_months) == (1, 6)
    stored = await put_policy(
        stubs,
        categories=[pb.CookieCategory(category_id="stats"), pb.CookieCategory(category_id="ads")],
        refusal_validity_months=3,
        consent_mode=[
            pb.ConsentModeMapping(signal="analytics_storage", categories=["stats"]),
            pb.ConsentModeMapping(signal="ad_storage", categories=["ads", "stats"]),
        ],
        allowed_origins=["HTTPS://Shop.Example.FR"],
    )
    assert list(stored.allowed_origins) == ["https://shop.example.fr"]
    assert stored.HasField("updated_at")
    answer = await record(stubs, visitor_id=visitor(), method=CUSTOM, granted_categories=["stats"])
    # Every signal: one the policy does not map is denied (a page's update must set them all).
    others = ("ad_user_data", "ad_personalization", "functionality_storage")
    unmapped = dict.fromkeys((*others, "personalization_storage", "security_storage"), "denied")
    assert answer.consent_mode == {
        "ad_storage": "denied", "analytics_storage": "granted", **unmapped
    }  # fmt: skip
    refused = await record(stubs, visitor_id=visitor(), method=REFUSE)
    recorded = refused.choice.recorded_at.ToDatetime(tzinfo=UTC)
    assert refused.choice.expires_at.ToDatetime(tzinfo=UTC) - recorded < timedelta(days=93)


NEEDED = "necessary"


async def test_bad_policies_name_the_field(stubs: Stubs) -> None:
    """A policy with an unknown mapped category, a lowered revision or 13 months is refused."""
    await put_policy(stubs, revision=3)
    cases = [
        ({"revision": 2}, "policy.revision"),
        ({"refusal_validity_months": 13}, "policy.refusal_validity_months"),
        (
            {"consent_mode": [pb.ConsentModeMapping(signal="ad_storage", categories=["ads"])]},
            "policy.consent_mode[0].categories[0]",
        ),
        ({"updated_at": stamp(T0)}, "policy.updated_at"),
        (  # ads granted before any choice (a probe found it taken)
            {"consent_mode": [pb.ConsentModeMapping(signal="ad_user_data", categories=[NEEDED])]},
            "policy.consent_mode[0].categories",
        ),
    ]
    for fields, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await put_policy(stubs, **fields)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violation(raised.value) == field


async def test_concurrent_policy_puts_never_lower_the_revision(stubs: Stubs) -> None:
    """Two puts racing with revisions 5 and 3: the stored revision ends at 5; a put that lost
    against the higher one is INVALID_ARGUMENT on policy.revision, never applied."""
    outcomes = await asyncio.gather(
        put_policy(stubs, revision=5), put_policy(stubs, revision=3), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, grpc.aio.AioRpcError)
            assert violation(outcome) == "policy.revision"
    got = await stubs.cookies.GetCookiePolicy(pb.GetCookiePolicyRequest(), metadata=stubs.metadata)
    assert got.policy.revision == 5


async def test_concurrent_first_choices_of_one_visitor_both_land(stubs: Stubs) -> None:
    """Two tabs recording the first choice of a new visitor at once: both are stored."""
    v = visitor()
    await asyncio.gather(*(record(stubs, visitor_id=v, method=m) for m in (ACCEPT, REFUSE)))
    assert len(await history(stubs, visitor_id=v)) == 2
    assert (await get(stubs, v)).status == VALID


async def test_a_page_key_does_not_learn_whom_a_visitor_is_linked_to(
    stubs: Stubs, admin: AdminUseCases, tenant: Tenant
) -> None:
    """The publishable key (cookies:write alone) sits in every page: with it, anyone who knew a
    visitor id read the subject id that visitor was linked to. The page gets its choice
    without it, and so does a consent:check key; a key that may link visitors sees it."""
    key, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="shop page")
    page = replace(stubs, metadata=bearer(key.token))
    phone = visitor()
    await record(stubs, visitor_id=phone)
    jeanne = types_pb2.SubjectRef(email="jeanne@example.fr")
    linked = await stubs.cookies.LinkVisitor(
        pb.LinkVisitorRequest(visitor_id=phone, subject=jeanne), metadata=stubs.metadata
    )
    assert (await get(stubs, phone)).choice.subject_id == linked.subject_id
    seen = await get(page, phone)
    assert seen.HasField("choice")
    assert seen.choice.subject_id == ""
    again = await record(page, visitor_id=phone, method=REFUSE)
    assert again.choice.subject_id == ""
    assert not (await get(page, visitor())).HasField("choice")  # none: still none
    # Nor a campaign tool's key (probe FN: consent:check turned a visitor into a person).
    check, _ = await admin.issue_key(tenant.slug, [Scope.CHECK.value], name="campaign tool")
    tool = replace(stubs, metadata=bearer(check.token))
    assert (await get(tool, phone)).choice.subject_id == ""
    writer, _ = await admin.issue_key(tenant.slug, [Scope.WRITE.value], name="crm")
    assert (await get(replace(stubs, metadata=bearer(writer.token)), phone)).choice.subject_id


async def test_each_revision_of_the_policy_stays_provable_in_the_audit_log(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """Peer comparison: a put overwrote the policy and its entry kept only the category ids, so
    what the banner said at an earlier revision could not be shown. Each entry now keeps the
    whole content and its SHA-256 over the canonical form (anyone can recompute it)."""
    said = {}
    for revision, text in ((1, "Statistiques de fréquentation."), (2, "Mesure d'audience.")):
        stats = pb.CookieCategory(category_id="stats", display_name="Stats", description=text)
        await put_policy(stubs, revision=revision, categories=[stats])
        said[revision] = text
    await app.sequencer.drain(tenant.tenant_id)
    async with owner(app).connect() as conn:
        payloads = (
            await conn.execute(
                sa.text(
                    "SELECT payload FROM audit_entries WHERE tenant_id = :t "
                    "AND action = 'cookies.policy_put' ORDER BY seq"
                ),
                {"t": tenant.tenant_id},
            )
        ).scalars().all()  # fmt: skip
    assert [p["categories"][0]["description"] for p in payloads] == [said[1], said[2]]
    for payload in payloads:
        content = {k: v for k, v in payload.items() if k != "content_sha256"}
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert payload["content_sha256"] == hashlib.sha256(text.encode()).hexdigest()


def _refusing_tc_string() -> str:
    """A TC string that consents to nothing: no purpose, no vendor, no special feature."""
    moment = 17_800_000_000  # deciseconds: 2026-05-29
    w = Writer().put(6, 2).put(36, moment).put(36, moment).put(12, 300).put(12, 4).put(6, 1)
    w.letters("FR").put(12, 150).put(6, 5).put(1, 0).put(1, 0).put(12, 0)
    w.put(24, 0).put(24, 0).put(1, 0).letters("FR")
    return w.put(16, 0).put(1, 0).put(16, 0).put(1, 0).put(12, 0).encoded()


@pytest.mark.parametrize("method", [REFUSE, pb.COOKIE_CHOICE_METHOD_GPC, CUSTOM])
async def test_a_refusal_cannot_carry_a_tc_string_that_consents(stubs: Stubs, method: int) -> None:
    """Probe RD: a REFUSE_ALL was stored beside a TC string consenting to purposes 1-10 and 576
    vendors, which vendors read instead of consentd's method. Refused, nothing stored; a TC
    string consenting to nothing is taken. A CUSTOM choice granting nothing but `necessary` is
    a refusal too (probe SA: it got round the check)."""
    visitor_id, gpc = visitor(), method == pb.COOKIE_CHOICE_METHOD_GPC
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await record(stubs, visitor_id=visitor_id, method=method, gpc=gpc, tcf_string=BITFIELD)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violation(raised.value) == "tcf_string"
    assert (await get(stubs, visitor_id)).status == NONE
    answer = await record(
        stubs, visitor_id=visitor_id, method=method, gpc=gpc, tcf_string=_refusing_tc_string()
    )
    assert list(answer.choice.tcf.purposes_consent) == []
    assert answer.choice.tcf.vendor_consent_count == 0
    # Probe UF: segments after a refusing core were read unchecked: a second core consenting to
    # everything (what vendors read), or a publisher segment consenting to purposes 1-4.
    publisher = Writer().put(3, 3).put(24, 0b1111 << 20).put(24, 0).put(6, 0).encoded()
    for tail in (BITFIELD, publisher):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await record(
                stubs,
                visitor_id=visitor(),
                method=method,
                gpc=gpc,
                tcf_string=f"{_refusing_tc_string()}.{tail}",
            )
        assert violation(raised.value) == "tcf_string"


def _advertising_tc_string(day: int = 17_800_000_000) -> str:
    """A TC string consenting to purposes 1-4 (storage and advertising), no vendor, last
    updated at `day` (deciseconds)."""
    w = Writer().put(6, 2).put(36, day).put(36, day).put(12, 300).put(12, 4).put(6, 1)
    w.letters("FR").put(12, 150).put(6, 5).put(1, 0).put(1, 0).put(12, 0)
    w.put(24, 0b1111 << 20).put(24, 0).put(1, 0).letters("FR")
    return w.put(16, 0).put(1, 0).put(16, 0).put(1, 0).put(12, 0).encoded()


async def test_a_tc_string_cannot_consent_to_advertising_the_choice_refuses(
    stubs: Stubs,
) -> None:
    """Probe YC: a CUSTOM choice granting `analytics` and refusing `marketing` (Consent Mode:
    ad_storage denied) was stored VALID beside a TC string consenting to the advertising
    purposes, which TCF vendors read: the proof contradicted itself. Refused, nothing stored;
    granting `marketing` the same string is taken. A string last updated after today (a CMP's
    clock) is refused too."""
    visitor_id = visitor()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await record(
            stubs,
            visitor_id=visitor_id,
            method=CUSTOM,
            granted_categories=["analytics"],
            refused_categories=["marketing"],
            tcf_string=_advertising_tc_string(),
        )
    assert violation(raised.value) == "tcf_string"
    assert "advertising purpose(s) 2, 3, 4" in str(raised.value.details())
    assert (await get(stubs, visitor_id)).status == NONE
    answer = await record(
        stubs,
        visitor_id=visitor_id,
        method=CUSTOM,
        granted_categories=["analytics", "marketing"],
        tcf_string=_advertising_tc_string(),
    )
    assert list(answer.choice.tcf.purposes_consent) == [1, 2, 3, 4]
    ahead = int((datetime.now(UTC) + timedelta(days=3)).timestamp() * 10)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await record(stubs, visitor_id=visitor(), tcf_string=_advertising_tc_string(ahead))
    assert violation(raised.value) == "tcf_string"
    assert "after today" in str(raised.value.details())


async def test_a_first_policy_after_choices_under_the_defaults_must_raise_the_revision(
    stubs: Stubs,
) -> None:
    """Probe ZA: a visitor refused `marketing` under the default policy (revision 1); the
    tenant's first PutCookiePolicy, still revision 1, mapped the advertising signals to
    `analytics`: the same choice read ad_storage granted, VALID, never asked again. Once choices
    were made under the defaults, the first put is held to them: the same categories and
    signals at revision 1, or a higher revision (the choices then REVISION_OUTDATED)."""
    chosen = visitor()
    await record(stubs, visitor_id=chosen, method=CUSTOM, granted_categories=["analytics"])
    remapped = [
        pb.ConsentModeMapping(signal=signal, categories=["analytics"])
        for signal in ("ad_storage", "ad_user_data", "ad_personalization", "analytics_storage")
    ]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await put_policy(stubs, revision=1, consent_mode=remapped)
    assert violation(raised.value) == "policy.revision"
    read = await get(stubs, chosen)
    assert (read.status, read.consent_mode["ad_storage"]) == (VALID, "denied")
    await put_policy(stubs, revision=2, consent_mode=remapped)
    assert (await get(stubs, chosen)).status == OUTDATED


async def test_advertising_purposes_need_every_advertising_signal_the_policy_maps(
    stubs: Stubs,
) -> None:
    """Probe ZA: with ad_storage mapped to `analytics` and ad_personalization to `marketing`,
    a choice of `analytics` alone beside a TC string consenting to purposes 3 and 4
    (personalised advertising) was taken: only ad_storage was read. Every advertising signal
    the policy maps counts."""
    await put_policy(
        stubs,
        consent_mode=[
            pb.ConsentModeMapping(signal="ad_storage", categories=["analytics"]),
            pb.ConsentModeMapping(signal="ad_personalization", categories=["marketing"]),
        ],
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await record(
            stubs,
            visitor_id=visitor(),
            method=CUSTOM,
            granted_categories=["analytics"],
            tcf_string=_advertising_tc_string(),
        )
    assert violation(raised.value) == "tcf_string"
    taken = await record(
        stubs,
        visitor_id=visitor(),
        method=CUSTOM,
        granted_categories=["analytics", "marketing"],
        tcf_string=_advertising_tc_string(),
    )
    assert taken.choice.tcf.purposes_consent
