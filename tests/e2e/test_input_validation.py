"""Input a black-box probe of the gRPC API found accepted, now refused (or defaulted as the
contract says): each is INVALID_ARGUMENT naming the field and what it accepts, and leaves
nothing written."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable
from typing import Any
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import (
    campaign_pb2,
    campaign_pb2_grpc,
    catalog_pb2,
    consent_pb2,
    cookies_pb2,
    retention_pb2,
    retention_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from consentd.store.tables import cookie_choices
from tests.conftest import Stubs, owner
from tests.e2e.helpers import by_email, grant, history, put_purpose, record, target
from tests.e2e.security_helpers import fails, row_counts

SOMEONE = types_pb2.SubjectIdentity(email="someone@example.fr")
ORIGIN = "https://shop.example.fr"
# A token as new_token() makes them (43 of the URL-safe base64 alphabet), issued to nobody.
UNKNOWN_TOKEN = "A" * 43


def _field(error: grpc.aio.AioRpcError) -> str:
    """The one field the BadRequest detail names (rpc_status also checks code and message)."""
    status = rpc_status.from_call(error)
    assert status is not None, "no grpc-status-details-bin trailer"
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert len(bad.field_violations) == 1
    field: str = bad.field_violations[0].field
    return field


async def _invalid(call: Awaitable[Any], field: str) -> str:
    """Asserts the call is INVALID_ARGUMENT naming `field`; returns the message."""
    error = await fails(call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert _field(error) == field
    details = str(error.details())
    assert details.startswith(f"{field}:")
    return details


async def _put_policy(stubs: Stubs, **fields: object) -> cookies_pb2.CookiePolicy:
    request = cookies_pb2.PutCookiePolicyRequest(policy=cookies_pb2.CookiePolicy(**fields))  # type: ignore[arg-type]
    return (await stubs.cookies.PutCookiePolicy(request, metadata=stubs.metadata)).policy


async def _policy(stubs: Stubs) -> cookies_pb2.CookiePolicy:
    request = cookies_pb2.GetCookiePolicyRequest()
    return (await stubs.cookies.GetCookiePolicy(request, metadata=stubs.metadata)).policy


# 1. PutCookiePolicy without categories


async def test_a_policy_put_without_categories_keeps_the_default_categories(
    stubs: Stubs,
) -> None:
    """No categories means the documented default (analytics, marketing, personalisation), so
    the default Consent Mode mapping still has categories to grant: accept-all grants them and
    ad_storage / analytics_storage are granted."""
    stored = await _put_policy(stubs, allowed_origins=[ORIGIN], refusal_validity_months=3)
    defaults = ["analytics", "marketing", "personalisation"]
    assert [c.category_id for c in stored.categories] == defaults
    assert [c.category_id for c in (await _policy(stubs)).categories] == defaults
    answer = await stubs.cookies.RecordCookieChoice(
        cookies_pb2.RecordCookieChoiceRequest(
            visitor_id="v" * 20,
            method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
            policy_revision=1,
        ),
        metadata=stubs.metadata,
    )
    assert list(answer.choice.granted_categories) == sorted(["necessary", *defaults])
    assert answer.consent_mode["ad_storage"] == "granted"
    assert answer.consent_mode["analytics_storage"] == "granted"


async def test_a_policy_without_categories_may_map_signals_to_the_default_ones(
    stubs: Stubs,
) -> None:
    """A Consent Mode mapping naming a default category is checked against the defaults the
    put will store, not against the empty list it was sent with."""
    mapping = cookies_pb2.ConsentModeMapping(signal="ad_storage", categories=["marketing"])
    stored = await _put_policy(stubs, consent_mode=[mapping])
    assert [(m.signal, list(m.categories)) for m in stored.consent_mode] == [
        ("ad_storage", ["marketing"])
    ]


# 2. Puts that replace everything: the whole message is required


async def test_an_empty_retention_put_is_invalid_and_keeps_the_legal_hold(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """PutRetentionSettings without `settings` would reset every setting (lifting a legal hold,
    dropping the contract's end): INVALID_ARGUMENT naming `settings`, the hold stays."""
    retention = retention_pb2_grpc.RetentionServiceStub(channel)
    held = retention_pb2.RetentionSettings(
        legal_hold=True, legal_hold_reason="contentieux", storage_extension=True
    )
    await retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=held), metadata=stubs.metadata
    )
    empty = retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(), metadata=stubs.metadata
    )
    assert "is required" in await _invalid(empty, "settings")
    got = await retention.GetRetentionSettings(
        retention_pb2.GetRetentionSettingsRequest(), metadata=stubs.metadata
    )
    assert (got.settings.legal_hold, got.settings.legal_hold_reason) == (True, "contentieux")
    assert got.settings.storage_extension


@pytest.mark.parametrize("months", [1, 11, 121, 10_000])
async def test_an_inactive_subject_limit_out_of_range_is_invalid_and_keeps_the_one_set(
    channel: grpc.aio.Channel, stubs: Stubs, months: int
) -> None:
    """inactive_subject_months is 0 (never) or 12 to 120 (a month would erase people between
    two campaigns): INVALID_ARGUMENT naming the field and the range; the stored one stays."""
    retention = retention_pb2_grpc.RetentionServiceStub(channel)
    kept = retention_pb2.RetentionSettings(inactive_subject_months=36)
    await retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=kept), metadata=stubs.metadata
    )
    wrong = retention_pb2.RetentionSettings(inactive_subject_months=months)
    put = retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=wrong), metadata=stubs.metadata
    )
    assert "from 12 to 120" in await _invalid(put, "settings.inactive_subject_months")
    got = await retention.GetRetentionSettings(
        retention_pb2.GetRetentionSettingsRequest(), metadata=stubs.metadata
    )
    assert got.settings.inactive_subject_months == 36


async def test_a_put_without_the_inactive_subject_limit_keeps_it(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """A put from a client that does not know inactive_subject_months (an older one sends no
    field 7) turned it off unseen (probe HE): absent, it is kept; 0 sent turns it off."""
    retention = retention_pb2_grpc.RetentionServiceStub(channel)

    async def put(settings: retention_pb2.RetentionSettings) -> int:
        answer = await retention.PutRetentionSettings(
            retention_pb2.PutRetentionSettingsRequest(settings=settings), metadata=stubs.metadata
        )
        return answer.settings.inactive_subject_months

    assert await put(retention_pb2.RetentionSettings(inactive_subject_months=36)) == 36
    older = retention_pb2.RetentionSettings(legal_hold=True, legal_hold_reason="dossier 12")
    assert await put(older) == 36
    assert await put(retention_pb2.RetentionSettings(inactive_subject_months=0)) == 0


async def test_an_empty_cookie_policy_put_is_invalid_and_keeps_the_origins(stubs: Stubs) -> None:
    """PutCookiePolicy without `policy` would drop the allowed origins and reset the periods:
    INVALID_ARGUMENT naming `policy`, the stored policy unchanged."""
    await _put_policy(stubs, allowed_origins=[ORIGIN], refusal_validity_months=3)
    empty = stubs.cookies.PutCookiePolicy(
        cookies_pb2.PutCookiePolicyRequest(), metadata=stubs.metadata
    )
    assert "is required" in await _invalid(empty, "policy")
    kept = await _policy(stubs)
    assert (list(kept.allowed_origins), kept.refusal_validity_months) == ([ORIGIN], 3)


# 3. Cookie policy revision ceiling


@pytest.mark.parametrize("revision", [2**31 - 1, 1_000_001])
async def test_a_revision_over_one_million_is_invalid_and_leaves_room_to_raise(
    stubs: Stubs, revision: int
) -> None:
    """A revision past 1,000,000 (int32 max included) is refused naming policy.revision with
    the accepted range; the stored revision is untouched and can still be raised (by at most
    1,000 a put)."""
    message = await _invalid(_put_policy(stubs, revision=revision), "policy.revision")
    assert "1 to 1000000" in message
    assert (await _policy(stubs)).revision == 1
    assert (await _put_policy(stubs, revision=1_001)).revision == 1_001


# 4. Enum values the contract does not define


async def test_an_undefined_processing_role_is_invalid_and_writes_nothing(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """processing_role 99 (no such ProcessingRole) was taken as the tenant's default: it is
    INVALID_ARGUMENT naming the field and listing the defined values, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    request = consent_pb2.RecordConsentRequest(
        subject=SOMEONE,
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_API,
        processing_role=types_pb2.ProcessingRole.ValueType(99),
    )
    message = await _invalid(
        stubs.consent.RecordConsent(request, metadata=stubs.metadata), "processing_role"
    )
    assert "PROCESSING_ROLE_CONTROLLER" in message
    assert await row_counts(app, tenant.tenant_id) == before


async def test_an_undefined_enum_inside_a_message_is_named_by_its_path(stubs: Stubs) -> None:
    """The check is general: an undefined channel inside the first choice's target is named
    `choices[0].target.channel`, with the values Channel defines."""
    await put_purpose(stubs, "newsletter")
    to = target("newsletter", channel=types_pb2.Channel.ValueType(42))
    request = consent_pb2.RecordConsentRequest(
        subject=SOMEONE, choices=[grant(to)], source=types_pb2.SOURCE_API
    )
    message = await _invalid(
        stubs.consent.RecordConsent(request, metadata=stubs.metadata), "choices[0].target.channel"
    )
    assert "42 is not a Channel value: use one of CHANNEL_EMAIL," in message
    assert "UNSPECIFIED" not in message  # never a valid choice


async def test_a_purpose_naming_its_update_time_is_refused_naming_that_field(
    stubs: Stubs,
) -> None:
    """`updated_at` set was refused naming `purpose.created_at`."""
    purpose = catalog_pb2.Purpose(
        purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
    )
    purpose.updated_at.seconds = 1_800_000_000
    call = stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )
    assert "set by the server" in await _invalid(call, "purpose.updated_at")


# 5. Evidence IP addresses


async def test_an_evidence_ip_that_is_no_address_is_invalid_on_record(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """RecordConsent with evidence.ip_address 999.1.1.1 is refused as the cookie path refuses
    it, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    bad = types_pb2.Evidence(ip_address="999.1.1.1", user_agent="Firefox")
    call = record(stubs, SOMEONE, grant(target("newsletter")), evidence=bad)
    assert "IPv4 or IPv6" in await _invalid(call, "evidence.ip_address")
    assert await row_counts(app, tenant.tenant_id) == before


async def test_an_evidence_ip_that_is_no_address_is_invalid_on_withdraw_and_confirm(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """The same on every path that takes Evidence: a withdrawal (which would create the
    subject) and a confirmation are refused naming evidence.ip_address; nothing is stored."""
    before = await row_counts(app, tenant.tenant_id)
    bad = types_pb2.Evidence(ip_address="999.1.1.1")
    withdraw = consent_pb2.WithdrawConsentRequest(
        subject=by_email("new@example.fr"), all=True, source=types_pb2.SOURCE_API, evidence=bad
    )
    await _invalid(
        stubs.consent.WithdrawConsent(withdraw, metadata=stubs.metadata), "evidence.ip_address"
    )
    confirm = consent_pb2.ConfirmConsentRequest(token=UNKNOWN_TOKEN, evidence=bad)
    await _invalid(
        stubs.consent.ConfirmConsent(confirm, metadata=stubs.metadata), "evidence.ip_address"
    )
    assert await row_counts(app, tenant.tenant_id) == before


# 6. Blank external ids


@pytest.mark.parametrize("blank", [" ", "   "])
async def test_a_blank_external_id_is_invalid(
    app: App, stubs: Stubs, tenant: Tenant, blank: str
) -> None:
    """An external id of spaces only names nobody (every such caller would share a subject):
    refused in a SubjectIdentity and in a SubjectRef, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    identity = types_pb2.SubjectIdentity(external_id=blank)
    call = record(stubs, identity, grant(target("newsletter")))
    assert "blank" in await _invalid(call, "subject.external_id")
    withdraw = consent_pb2.WithdrawConsentRequest(
        subject=types_pb2.SubjectRef(external_id=blank), all=True, source=types_pb2.SOURCE_API
    )
    await _invalid(
        stubs.consent.WithdrawConsent(withdraw, metadata=stubs.metadata), "subject.external_id"
    )
    assert await row_counts(app, tenant.tenant_id) == before


# 7. Names of who did something are one line


async def test_an_attestation_by_a_name_with_a_line_break_is_invalid(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant
) -> None:
    """ConfirmIdentity attested_by "dpo\\nverified: yes" is refused naming attested_by; the
    request stays RECEIVED, and a one-line name still attests it: the request keeps the words,
    the append-only log the method only (they may name the person: probe AO), and an erasure
    takes them from the request too (probe AP)."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, SOMEONE, grant(target("newsletter")))
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("someone@example.fr")
        ),
        metadata=stubs.metadata,
    )
    request_id = submitted.request.request_id
    for forged in ("dpo\nverified: yes", "dpo\r", "dpo\tx", "dpo\x85", "dpo\u2028x"):
        attest = rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by=forged)
        message = await _invalid(
            rights.ConfirmIdentity(attest, metadata=stubs.metadata), "attested_by"
        )
        assert "one line" in message
    got = await rights.GetRightsRequest(
        rights_pb2.GetRightsRequestRequest(request_id=request_id), metadata=stubs.metadata
    )
    assert got.request.state == rights_pb2.RIGHTS_REQUEST_STATE_RECEIVED
    attest = rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by="Jeanne (DPO)")
    confirmed = await rights.ConfirmIdentity(attest, metadata=stubs.metadata)
    assert confirmed.request.verification_method == "operator:Jeanne (DPO)"
    logged = " UNION ALL ".join(
        f"SELECT payload FROM {table} WHERE tenant_id = :t"  # noqa: S608 - constants
        " AND action = 'rights_request.transitioned' AND payload->>'to' = 'identity_verified'"
        for table in ("audit_entries", "audit_queue")
    )
    async with owner(app).connect() as conn:
        rows = (await conn.execute(sa.text(logged), {"t": tenant.tenant_id})).scalars().all()
    assert len(rows) == 1
    assert "Jeanne" not in json.dumps(rows[0])
    assert rows[0]["verification"] == "operator"
    # Not even an unkeyed digest of them: a short name is guessed from it (probe AP).
    assert hashlib.sha256(b"Jeanne (DPO)").hexdigest() not in json.dumps(rows[0])
    # The request keeps the words until the person is erased, then `operator` only (the
    # access request answered by an export first: an erasure waits for it, probe GD).
    await rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=by_email("someone@example.fr")),
        metadata=stubs.metadata,
    )
    await rights.EraseSubject(
        rights_pb2.EraseSubjectRequest(subject=by_email("someone@example.fr"), actor="dpo"),
        metadata=stubs.metadata,
    )
    got = await rights.GetRightsRequest(
        rights_pb2.GetRightsRequestRequest(request_id=request_id), metadata=stubs.metadata
    )
    assert got.request.verification_method == "operator"


async def test_an_actor_with_a_line_break_is_invalid(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant
) -> None:
    """Every `actor` (who recorded, withdrew, erased) is one line: a newline is refused naming
    `actor`, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    recorded = consent_pb2.RecordConsentRequest(
        subject=SOMEONE,
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_API,
        actor="agent-7\nactor: admin",
    )
    await _invalid(stubs.consent.RecordConsent(recorded, metadata=stubs.metadata), "actor")
    withdrawn = consent_pb2.WithdrawConsentRequest(
        subject=by_email("new@example.fr"), all=True, source=types_pb2.SOURCE_API, actor="a\nb"
    )
    await _invalid(stubs.consent.WithdrawConsent(withdrawn, metadata=stubs.metadata), "actor")
    erase = rights_pb2.EraseSubjectRequest(subject=by_email("new@example.fr"), actor="a\r\nb")
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await _invalid(rights.EraseSubject(erase, metadata=stubs.metadata), "actor")
    assert await row_counts(app, tenant.tenant_id) == before


# 8. E-mail addresses in a page URL's path


async def test_an_email_in_the_page_url_path_is_not_stored(
    app: App, stubs: Stubs, tenant: Tenant
) -> None:
    """A path segment that looks like an email address (plain or percent-encoded) is replaced
    by `(email)` before the choice is stored; the query is dropped as before."""
    url = (
        "https://shop.example.fr/compte/jeanne.martin@example.fr/commandes/"
        "paul%40example.org?email=jeanne.martin@example.fr"
    )
    answer = await stubs.cookies.RecordCookieChoice(
        cookies_pb2.RecordCookieChoiceRequest(
            visitor_id="v" * 20,
            method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
            policy_revision=1,
            page_url=url,
        ),
        metadata=stubs.metadata,
    )
    kept = "https://shop.example.fr/compte/(email)/commandes/(email)"
    assert answer.choice.page_url == kept
    async with owner(app).connect() as conn:
        stored = (
            await conn.execute(
                sa.select(cookie_choices.c.page_url).where(
                    cookie_choices.c.tenant_id == tenant.tenant_id
                )
            )
        ).scalar_one()
    assert stored == kept


async def test_an_email_in_an_evidence_reference_is_not_stored(stubs: Stubs) -> None:
    """An evidence reference outlives an erasure in its event (events are never rewritten): a
    part of it that looks like an e-mail address is replaced by `(email)` before it is stored,
    the rest kept as given. A probe found `https://shop.example/form?email=...` still readable
    in the history and the export after the person's erasure."""
    await put_purpose(stubs, "newsletter")
    reference = "https://shop.example/form?email=alice%40example.org&form=42"
    recorded = await stubs.consent.RecordConsent(
        consent_pb2.RecordConsentRequest(
            subject=SOMEONE,
            choices=[grant(target("newsletter"))],
            source=types_pb2.SOURCE_API,
            evidence=types_pb2.Evidence(reference=reference),
        ),
        metadata=stubs.metadata,
    )
    kept = "https://shop.example/form?email=(email)&form=42"
    assert [e.evidence_reference for e in recorded.events] == [kept]
    listed = await history(stubs, by_email("someone@example.fr"))
    assert [e.evidence_reference for e in listed.events] == [kept]
    plain = "form-42 signed"
    again = await record(
        stubs, SOMEONE, grant(target("newsletter")), evidence=types_pb2.Evidence(reference=plain)
    )
    assert [e.evidence_reference for e in again.events] == [plain]


# 9. Malformed confirmation tokens


@pytest.mark.parametrize("token", ["abc\x00def", "abc def", "abc/def=", "é" * 10])
async def test_a_malformed_confirmation_token_is_invalid_not_unknown(
    stubs: Stubs, token: str
) -> None:
    """A token with a NUL byte (or any character a token never has) is INVALID_ARGUMENT saying
    what a token looks like, not NOT_FOUND; a well-formed unknown one is still NOT_FOUND."""
    malformed = consent_pb2.ConfirmConsentRequest(token=token)
    message = await _invalid(
        stubs.consent.ConfirmConsent(malformed, metadata=stubs.metadata), "token"
    )
    assert "A-Z a-z 0-9 _ -" in message
    unknown = consent_pb2.ConfirmConsentRequest(token=UNKNOWN_TOKEN)
    error = await fails(stubs.consent.ConfirmConsent(unknown, metadata=stubs.metadata))
    assert error.code() == grpc.StatusCode.NOT_FOUND


# 10. Names of who did something show who it was


async def _received_request(channel: grpc.aio.Channel, stubs: Stubs) -> str:
    """The id of a new access request of SOMEONE, still RECEIVED."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, SOMEONE, grant(target("newsletter")))
    submitted = await rights_pb2_grpc.RightsServiceStub(channel).SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("someone@example.fr")
        ),
        metadata=stubs.metadata,
    )
    return submitted.request.request_id


@pytest.mark.parametrize(
    ("forged", "says"),
    [
        ("\u200b", "visible character"),
        ("\u2800", "visible character"),
        ("\u3164", "visible character"),
        ("\u202e", "visible character"),
        ("\ufeff", "visible character"),
        ("dpo\u202egnp.exe", "bidi controls (found U+202E)"),
        ("d\u200bpo", "bidi controls (found U+200B)"),
    ],
    ids=repr,
)
async def test_an_attestation_by_an_invisible_or_disguised_name_is_invalid(
    channel: grpc.aio.Channel, stubs: Stubs, forged: str, says: str
) -> None:
    """ConfirmIdentity attested_by a zero-width space, a Braille blank, a Hangul filler, a
    bidi override or a BOM (a name that shows nothing, or reads as another) is refused naming
    attested_by and saying why; the request stays RECEIVED."""
    request_id = await _received_request(channel, stubs)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    attest = rights_pb2.ConfirmIdentityRequest(request_id=request_id, attested_by=forged)
    message = await _invalid(rights.ConfirmIdentity(attest, metadata=stubs.metadata), "attested_by")
    assert says in message
    got = await rights.GetRightsRequest(
        rights_pb2.GetRightsRequestRequest(request_id=request_id), metadata=stubs.metadata
    )
    assert got.request.state == rights_pb2.RIGHTS_REQUEST_STATE_RECEIVED


@pytest.mark.parametrize("actor", ["admin\u202egnp.exe", "ad\u200bmin", "\u2800", "\u115f\u1160"])
async def test_an_actor_with_bidi_controls_or_nothing_visible_is_invalid(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant, actor: str
) -> None:
    """`actor` is shown in the history as given: one with a bidi override or a zero-width
    character, or made of blank fillers, is refused naming `actor` on record, withdraw and
    erase, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    recorded = consent_pb2.RecordConsentRequest(
        subject=SOMEONE,
        choices=[grant(target("newsletter"))],
        source=types_pb2.SOURCE_API,
        actor=actor,
    )
    await _invalid(stubs.consent.RecordConsent(recorded, metadata=stubs.metadata), "actor")
    withdrawn = consent_pb2.WithdrawConsentRequest(
        subject=by_email("new@example.fr"), all=True, source=types_pb2.SOURCE_API, actor=actor
    )
    await _invalid(stubs.consent.WithdrawConsent(withdrawn, metadata=stubs.metadata), "actor")
    erase = rights_pb2.EraseSubjectRequest(subject=by_email("new@example.fr"), actor=actor)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await _invalid(rights.EraseSubject(erase, metadata=stubs.metadata), "actor")
    assert await row_counts(app, tenant.tenant_id) == before


# 11. External ids that show nothing, or hide characters


@pytest.mark.parametrize(
    ("external_id", "says"),
    [
        ("\u2800", "blank"),
        ("\u3164", "blank"),
        ("\u115f", "blank"),
        ("\u034f", "blank"),
        ("\u0301", "blank"),
        ("crm\u200b42", "U+200B"),
        ("crm\u202e24", "U+202E"),
    ],
    ids=repr,
)
async def test_an_external_id_that_shows_nothing_or_hides_characters_is_invalid(
    app: App, stubs: Stubs, tenant: Tenant, external_id: str, says: str
) -> None:
    """A Braille blank, Hangul filler, grapheme joiner or lone combining mark would each be a
    subject of its own that no one can read; a zero-width or bidi character makes two ids
    that look the same name two subjects. Refused naming subject.external_id, nothing
    stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    identity = types_pb2.SubjectIdentity(external_id=external_id)
    call = record(stubs, identity, grant(target("newsletter")))
    assert says in await _invalid(call, "subject.external_id")
    assert await row_counts(app, tenant.tenant_id) == before


# 12. IPv6 zone ids


ZONED = ["fe80::1%jeanne.dupont@example.fr", "::1%+33612345678", "fe80::1%a b"]


@pytest.mark.parametrize("address", ZONED)
async def test_an_evidence_ip_with_a_zone_id_is_invalid(
    app: App, stubs: Stubs, tenant: Tenant, address: str
) -> None:
    """A zone id ('%...') carried any text (an email, a phone number) into the evidence: it
    is refused naming evidence.ip_address, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    zoned = types_pb2.Evidence(ip_address=address)
    call = record(stubs, SOMEONE, grant(target("newsletter")), evidence=zoned)
    assert "zone id" in await _invalid(call, "evidence.ip_address")
    assert await row_counts(app, tenant.tenant_id) == before


async def _choices(app: App, tenant: Tenant) -> list[str]:
    """The page URLs of the tenant's stored cookie choices."""
    async with owner(app).connect() as conn:
        query = sa.select(cookie_choices.c.page_url).where(
            cookie_choices.c.tenant_id == tenant.tenant_id
        )
        return list((await conn.execute(query)).scalars())


def _cookie_choice(
    page_url: str = "", ip_address: str = ""
) -> cookies_pb2.RecordCookieChoiceRequest:
    return cookies_pb2.RecordCookieChoiceRequest(
        visitor_id="v" * 20,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        policy_revision=1,
        page_url=page_url,
        ip_address=ip_address,
    )


@pytest.mark.parametrize("address", ZONED)
async def test_a_cookie_ip_with_a_zone_id_is_invalid(
    app: App, stubs: Stubs, tenant: Tenant, address: str
) -> None:
    """The same for the IP of a cookie choice: refused naming ip_address, no choice stored."""
    call = stubs.cookies.RecordCookieChoice(
        _cookie_choice(ip_address=address), metadata=stubs.metadata
    )
    assert "zone id" in await _invalid(call, "ip_address")
    assert await _choices(app, tenant) == []


# 13. E-mail addresses in a page URL's path, however written


@pytest.mark.parametrize(
    "segment",
    [
        "jeanne%25252540example.fr",
        "jeanne\uff20example.fr",
        "jeanne%EF%BC%A0example.fr",
        "jeanne\ufe6bexample.fr",
    ],
    ids=["encoded-4-times", "full-width-at", "full-width-at-encoded", "small-at"],
)
async def test_an_email_written_any_way_in_the_page_url_path_is_not_stored(
    app: App, stubs: Stubs, tenant: Tenant, segment: str
) -> None:
    """An address percent-encoded four times, or written with the full-width or small at sign
    (raw or encoded), is still replaced by `(email)` before the choice is stored."""
    url = f"{ORIGIN}/compte/{segment}/commandes"
    call = stubs.cookies.RecordCookieChoice(_cookie_choice(page_url=url), metadata=stubs.metadata)
    kept = f"{ORIGIN}/compte/(email)/commandes"
    assert (await call).choice.page_url == kept
    assert await _choices(app, tenant) == [kept]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("https://shop.example.fr\\u\\jeanne@example.fr", "U+005C"),
        ("https://shop.example.fr/compte\\jeanne", "U+005C"),
        ("https://shop.example.fr/a b", "U+0020"),
        ("https://shop.example.fr/a\nb", "U+000A"),
        ("https://shop.example.fr/\u202eb", "U+202E"),
    ],
    ids=["backslash-host", "backslash-path", "space", "newline", "bidi"],
)
async def test_a_page_url_with_a_backslash_whitespace_or_control_is_invalid(
    app: App, stubs: Stubs, tenant: Tenant, url: str, named: str
) -> None:
    """`https://shop.example.fr\\u\\jeanne@example.fr` was stored as `https://example.fr` (the
    backslash made the rest read as credentials): a URL holding a backslash, whitespace or a
    control or format character, which location.href never does, is refused naming page_url
    and the character, and no choice is stored."""
    call = stubs.cookies.RecordCookieChoice(_cookie_choice(page_url=url), metadata=stubs.metadata)
    message = await _invalid(call, "page_url")
    assert "backslash, whitespace, control" in message
    assert named in message
    assert await _choices(app, tenant) == []


@pytest.mark.parametrize(
    ("seconds", "says"),
    [
        (-62135596800, "before 1970-01-01"),
        (-62135596799, "before 1970-01-01"),
        (-1, "before 1970-01-01"),
        (253370764800, "before 9999-01-01"),  # 9999-01-01: no purge date a month after
        (253402214400, "before 9999-01-01"),
    ],
)
async def test_a_contract_end_before_1970_is_invalid_and_changes_nothing(
    channel: grpc.aio.Channel, stubs: Stubs, seconds: int, says: str
) -> None:
    """PutRetentionSettings with `contract_ended_at` at 0001-01-01 answered INTERNAL (the log's
    stamp refused year 0), and year 1 was taken: a contract end in year 1 puts the tenant in
    line for a purge. No timestamp of the contract may name a moment before 1970; nor one in
    year 9999, whose purge date (a month after) was left unset, silently (probe DA)."""
    retention = retention_pb2_grpc.RetentionServiceStub(channel)
    ended = retention_pb2.RetentionSettings(legal_hold=True, legal_hold_reason="contentieux")
    ended.contract_ended_at.seconds = seconds
    put = retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=ended), metadata=stubs.metadata
    )
    assert says in await _invalid(put, "settings.contract_ended_at")
    got = await retention.GetRetentionSettings(
        retention_pb2.GetRetentionSettingsRequest(), metadata=stubs.metadata
    )
    assert not got.settings.HasField("contract_ended_at")
    assert not got.settings.legal_hold


async def test_a_check_as_of_year_one_is_invalid(stubs: Stubs) -> None:
    request = consent_pb2.CheckConsentRequest(subject=types_pb2.SubjectRef(email="a@example.fr"))
    request.target.CopyFrom(target("newsletter"))
    request.as_of.seconds = -62135596800
    await _invalid(stubs.consent.CheckConsent(request, metadata=stubs.metadata), "as_of")


async def test_an_empty_contract_end_is_invalid(channel: grpc.aio.Channel, stubs: Stubs) -> None:
    """`contract_ended_at: {}` (proto3 keeps an empty Timestamp: 1970-01-01) was taken, and the
    next retention run purged the tenant whole, its opt-outs with it: refused, nothing
    changed."""
    retention = retention_pb2_grpc.RetentionServiceStub(channel)
    ended = retention_pb2.RetentionSettings()
    ended.contract_ended_at.SetInParent()
    put = retention.PutRetentionSettings(
        retention_pb2.PutRetentionSettingsRequest(settings=ended), metadata=stubs.metadata
    )
    assert "leave it unset" in await _invalid(put, "settings.contract_ended_at")
    got = await retention.GetRetentionSettings(
        retention_pb2.GetRetentionSettingsRequest(), metadata=stubs.metadata
    )
    assert not got.settings.HasField("contract_ended_at")


async def test_a_validity_past_the_calendars_last_second_is_invalid(stubs: Stubs) -> None:
    """The largest Timestamp (9999-12-31T23:59:59.999999999Z) was taken: it is Python's
    datetime.max once truncated to microseconds, which the driver stores as `infinity` and reads
    back without a zone, so every check of the person, and the checks coalesced with it, answered
    INTERNAL. It is refused naming the field; the calendar's last whole second is the far end."""
    await put_purpose(stubs, "newsletter")
    last = consent_pb2.ConsentChoice(
        target=target("newsletter"), state=types_pb2.CONSENT_STATE_GRANTED
    )
    last.valid_until.seconds, last.valid_until.nanos = 253402300799, 999_999_999
    call = record(stubs, SOMEONE, last)
    assert "after 9999-12-31T23:59:59Z" in await _invalid(call, "choices[0].valid_until")
    assert len((await history(stubs, by_email(SOMEONE.email))).events) == 0
    last.valid_until.nanos = 0
    await record(stubs, SOMEONE, last)
    checked = await stubs.consent.CheckConsent(
        consent_pb2.CheckConsentRequest(
            subject=by_email(SOMEONE.email), target=target("newsletter")
        ),
        metadata=stubs.metadata,
    )
    assert checked.decision == consent_pb2.DECISION_ALLOW
    assert checked.valid_until.seconds == 253402300799


async def test_a_validity_stored_as_infinity_still_answers(
    app: App, channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant
) -> None:
    """Grants stored before that refusal hold `infinity` (read back without a zone): the check
    answers ALLOW for them, alone and in a batch, instead of INTERNAL."""
    await put_purpose(stubs, "newsletter")
    await record(stubs, SOMEONE, grant(target("newsletter")))
    async with owner(app).begin() as conn:
        await conn.execute(
            sa.text("UPDATE current_consents SET valid_until = 'infinity' WHERE tenant_id = :t"),
            {"t": tenant.tenant_id},
        )
    request = consent_pb2.CheckConsentRequest(
        subject=by_email(SOMEONE.email), target=target("newsletter")
    )
    checked = await stubs.consent.CheckConsent(request, metadata=stubs.metadata)
    assert checked.decision == consent_pb2.DECISION_ALLOW
    campaign = campaign_pb2_grpc.CampaignServiceStub(channel)
    batch = await campaign.BatchCheckConsent(
        campaign_pb2.BatchCheckConsentRequest(
            target=target("newsletter"), recipients=[by_email(SOMEONE.email)] * 2
        ),
        metadata=stubs.metadata,
    )
    assert [a.decision for a in batch.answers] == [consent_pb2.DECISION_ALLOW] * 2


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("purpose.display_name", "News\r\nBcc: victim@example.fr\r\n\r\n<a href=x>click</a>"),
        ("title", "Avis\nsecond line"),
    ],
)
async def test_a_name_quoted_in_mails_is_one_line(stubs: Stubs, field: str, text: str) -> None:
    """A purpose's display name is quoted in the double opt-in mail: its line breaks wrote a
    fake `Bcc:` line and a link into a mail sent in the tenant's name. Names and titles are one
    line (INVALID_ARGUMENT naming the field); descriptions keep theirs."""
    if field == "title":
        call = stubs.catalog.PublishNotice(
            catalog_pb2.PublishNoticeRequest(
                notice_id="privacy", title=text, language="fr-FR", content="Texte."
            ),
            metadata=stubs.metadata,
        )
    else:
        purpose = catalog_pb2.Purpose(
            purpose_id="newsletter",
            lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
            display_name=text,
            description="Une lettre\npar mois.",
        )
        call = stubs.catalog.PutPurpose(
            catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
        )
    assert "one line" in await _invalid(call, field)
    purpose = catalog_pb2.Purpose(
        purpose_id="newsletter",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        display_name="Lettre d'information",
        description="Une lettre\npar mois.",
    )
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )


@pytest.mark.parametrize("text", ["ref-\u202e1234", "line\nbreak", "\ufeffbom"], ids=repr)
async def test_evidence_shown_as_proof_is_one_line(
    app: App, stubs: Stubs, tenant: Tenant, text: str
) -> None:
    """An evidence reference or user agent is shown as proof as stored: a bidi override, a line
    break or a BOM was accepted (only NUL was refused, with the words "control characters") and
    returned as given by ExportSubject. Each is refused naming the field, on RecordConsent and
    RecordCookieChoice, and nothing is stored."""
    await put_purpose(stubs, "newsletter")
    before = await row_counts(app, tenant.tenant_id)
    for field in ("reference", "user_agent"):
        recorded = consent_pb2.RecordConsentRequest(
            subject=SOMEONE,
            choices=[grant(target("newsletter"))],
            source=types_pb2.SOURCE_API,
            evidence=types_pb2.Evidence(**{field: text}),
        )
        message = await _invalid(
            stubs.consent.RecordConsent(recorded, metadata=stubs.metadata), f"evidence.{field}"
        )
        assert "one line" in message or "U+" in message
    choice = cookies_pb2.RecordCookieChoiceRequest(
        visitor_id=uuid4().hex,
        method=cookies_pb2.COOKIE_CHOICE_METHOD_ACCEPT_ALL,
        policy_revision=1,
        user_agent=text,
    )
    await _invalid(stubs.cookies.RecordCookieChoice(choice, metadata=stubs.metadata), "user_agent")
    assert await row_counts(app, tenant.tenant_id) == before
