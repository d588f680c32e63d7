"""Errors a customer can act on: the right status, the field named, rich details, and nothing
written by a request that fails."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import grpc
import pytest
import sqlalchemy as sa
from consent.v1 import (
    catalog_pb2,
    consent_pb2,
    cookies_pb2,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from consentd.app.paging import encode_token
from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from consentd.store.tables import consent_events, current_consents, subject_identifiers, subjects
from tests.conftest import Stubs, bearer, owner
from tests.e2e.helpers import (
    LEGITIMATE_INTEREST,
    by_email,
    check,
    current,
    error_info,
    grant,
    history,
    put_purpose,
    record,
    target,
    withdraw,
)

Call = Callable[[Stubs], Awaitable[Any]]
SOMEONE = types_pb2.SubjectIdentity(email="someone@example.fr")
_TOMORROW = datetime.now(UTC) + timedelta(days=1)


def _record(subject: types_pb2.SubjectIdentity, *choices: consent_pb2.ConsentChoice) -> Call:
    def call(stubs: Stubs) -> Awaitable[Any]:
        request = consent_pb2.RecordConsentRequest(
            subject=subject, choices=choices, source=types_pb2.SOURCE_API
        )
        return stubs.consent.RecordConsent(request, metadata=stubs.metadata)

    return call


def _token(kind: str, cursor: object) -> str:
    raw = json.dumps({"k": kind, "c": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _choice(
    channel: types_pb2.Channel.ValueType = types_pb2.CHANNEL_EMAIL,
    state: types_pb2.ConsentState.ValueType = types_pb2.CONSENT_STATE_GRANTED,
) -> consent_pb2.ConsentChoice:
    to = types_pb2.ConsentTarget(
        purpose="newsletter", channel=channel, scope=types_pb2.PARTY_SCOPE_FIRST_PARTY
    )
    return consent_pb2.ConsentChoice(target=to, state=state)


FIFTY_ONE = [grant(target(f"p{i}")) for i in range(51)]
BAD_INPUT: dict[str, tuple[Call, str]] = {
    "missing subject": (_record(types_pb2.SubjectIdentity(), _choice()), "subject"),
    "bad email": (_record(types_pb2.SubjectIdentity(email="jeanne@"), _choice()), "subject.email"),
    "bad phone": (_record(types_pb2.SubjectIdentity(phone="+33 12"), _choice()), "subject.phone"),
    "unspecified channel": (
        _record(SOMEONE, _choice(channel=types_pb2.CHANNEL_UNSPECIFIED)),
        "choices[0].target.channel",
    ),
    "unspecified state": (
        _record(SOMEONE, _choice(state=types_pb2.CONSENT_STATE_UNSPECIFIED)),
        "choices[0].state",
    ),
    "withdrawn is not recordable": (
        _record(SOMEONE, _choice(state=types_pb2.CONSENT_STATE_WITHDRAWN)),
        "choices[0].state",
    ),
    "duplicate targets": (_record(SOMEONE, _choice(), _choice()), "choices[1]"),
    "no choice": (_record(SOMEONE), "choices"),
    "51 choices": (_record(SOMEONE, *FIFTY_ONE), "choices"),
    "all and targets": (
        lambda s: withdraw(s, by_email("a@example.fr"), target("newsletter"), everything=True),
        "targets",
    ),
    "bad page_token": (
        lambda s: history(s, by_email("a@example.fr"), page_token="!!"),
        "page_token",
    ),
    "page_token of another list": (
        lambda s: history(s, by_email("a@example.fr"), page_token=_token("purposes", "a")),
        "page_token",
    ),
    "forged page_token": (
        lambda s: history(s, by_email("a@example.fr"), page_token=_token("history", 10**30)),
        "page_token",
    ),
    "page_token with a boolean cursor": (
        lambda s: history(s, by_email("a@example.fr"), page_token=_token("history", True)),
        "page_token",
    ),
    "notice page_token past int32": (
        lambda s: s.catalog.ListNotices(
            catalog_pb2.ListNoticesRequest(page_token=_token("notices", ["privacy", 2**40])),
            metadata=s.metadata,
        ),
        "page_token",
    ),
    "purpose page_token with NUL": (
        lambda s: s.catalog.ListPurposes(
            catalog_pb2.ListPurposesRequest(page_token=_token("purposes", "a\x00")),
            metadata=s.metadata,
        ),
        "page_token",
    ),
    # a lone surrogate cannot be sent to PostgreSQL: it was INTERNAL (probe V)
    "purpose page_token with a lone surrogate": (
        lambda s: s.catalog.ListPurposes(
            catalog_pb2.ListPurposesRequest(page_token=_token("purposes", "\ud800")),
            metadata=s.metadata,
        ),
        "page_token",
    ),
    "notice page_token with a lone surrogate": (
        lambda s: s.catalog.ListNotices(
            catalog_pb2.ListNoticesRequest(page_token=_token("notices", ["\ud800", 1])),
            metadata=s.metadata,
        ),
        "page_token",
    ),
    "page_size 501": (lambda s: history(s, by_email("a@example.fr"), page_size=501), "page_size"),
    "bad subject_id": (
        lambda s: check(s, types_pb2.SubjectRef(subject_id="not-a-uuid"), target("newsletter")),
        "subject.subject_id",
    ),
    "missing subject ref": (
        lambda s: check(s, types_pb2.SubjectRef(), target("newsletter")),
        "subject",
    ),
    "as_of in the future": (
        lambda s: check(s, by_email("a@example.fr"), target("newsletter"), as_of=_TOMORROW),
        "as_of",
    ),
    "two @ in an email": (
        _record(types_pb2.SubjectIdentity(email="a@b@example.fr"), _choice()),
        "subject.email",
    ),
    "NUL in evidence": (
        lambda s: record(s, SOMEONE, _choice(), evidence=types_pb2.Evidence(reference="a\x00b")),
        "evidence.reference",
    ),
}


def _violations(error: grpc.aio.AioRpcError) -> list[error_details_pb2.FieldViolation]:
    status = rpc_status.from_call(error)  # also checks code and message match the details
    assert status is not None, "no grpc-status-details-bin trailer"
    found: list[error_details_pb2.FieldViolation] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found.extend(bad_request.field_violations)
    return found


async def _fails(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() != grpc.StatusCode.UNKNOWN
    return raised.value


@pytest.mark.parametrize(("call", "field"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
async def test_malformed_input_is_invalid_argument_naming_the_field(
    stubs: Stubs, call: Call, field: str
) -> None:
    """Malformed input is INVALID_ARGUMENT; the message and a BadRequest detail name the field."""
    await put_purpose(stubs, "newsletter")
    error = await _fails(call(stubs))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).startswith(f"{field}:")
    assert [v.field for v in _violations(error)] == [field]
    info = error_info(error)
    assert (info.reason, dict(info.metadata)) == ("INVALID_ARGUMENT", {"field": field})


async def test_unknown_purpose_is_not_found(stubs: Stubs) -> None:
    """A purpose missing from the tenant's catalogue is NOT_FOUND for record, check, withdraw."""
    calls = [
        (record(stubs, SOMEONE, grant(target("unknown"))), "choices[0].target.purpose"),
        (check(stubs, by_email("someone@example.fr"), target("unknown")), "target.purpose"),
        (withdraw(stubs, by_email("someone@example.fr"), target("unknown")), "targets[0].purpose"),
    ]
    for call, field in calls:
        error = await _fails(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert str(error.details()).startswith(f"{field}: purpose 'unknown' is not in")
        assert _violations(error) == []
        assert error_info(error).reason == "PURPOSE_NOT_FOUND"
        # A withdrawal refused must not be lost: its message says how to take it all the same.
        withdrawing = field.startswith("targets")
        assert ("withdraw everything with all: true" in str(error.details())) is withdrawing


async def test_unknown_credentials_are_unauthenticated(stubs: Stubs) -> None:
    """A key naming no tenant is UNAUTHENTICATED, whatever the request."""
    request = consent_pb2.CheckConsentRequest(
        subject=by_email("someone@example.fr"), target=target("newsletter")
    )
    stranger = bearer("ck_" + "a" * 26 + "_" + "b" * 16 + "_" + "c" * 32)
    error = await _fails(stubs.consent.CheckConsent(request, metadata=stranger))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "missing or invalid credentials"


async def test_lawful_basis_never_changes(stubs: Stubs) -> None:
    """PutPurpose with another lawful basis than the stored one is FAILED_PRECONDITION and
    leaves the purpose as it was."""
    await put_purpose(stubs, "newsletter")
    error = await _fails(put_purpose(stubs, "newsletter", LEGITIMATE_INTEREST))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    stored = await stubs.catalog.GetPurpose(
        catalog_pb2.GetPurposeRequest(purpose_id="newsletter"), metadata=stubs.metadata
    )
    assert stored.purpose.lawful_basis == types_pb2.LAWFUL_BASIS_CONSENT


async def test_withdrawal_by_unknown_subject_id_is_not_found(stubs: Stubs) -> None:
    """WithdrawConsent naming a subject id consentd never issued is NOT_FOUND (an id cannot
    create a subject, unlike a contact point)."""
    await put_purpose(stubs, "newsletter")
    ref = types_pb2.SubjectRef(subject_id="00000000-0000-4000-8000-000000000001")
    for call in (withdraw(stubs, ref, target("newsletter")), withdraw(stubs, ref, everything=True)):
        error = await _fails(call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error_info(error).reason == "SUBJECT_NOT_FOUND"


async def test_identifiers_of_two_subjects_are_refused(stubs: Stubs) -> None:
    """A record whose identifiers name two different subjects is FAILED_PRECONDITION."""
    await put_purpose(stubs, "newsletter")
    await record(
        stubs, types_pb2.SubjectIdentity(email="one@example.fr"), grant(target("newsletter"))
    )
    await record(
        stubs, types_pb2.SubjectIdentity(phone="+33612345678"), grant(target("newsletter"))
    )
    both = types_pb2.SubjectIdentity(email="one@example.fr", phone="+33612345678")
    error = await _fails(record(stubs, both, grant(target("newsletter", types_pb2.CHANNEL_SMS))))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(error).reason == "IDENTIFIERS_OF_TWO_SUBJECTS"


async def _rows(app: App, tenant: Tenant) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with owner(app).connect() as conn:
        for table in (subjects, subject_identifiers, consent_events, current_consents):
            query = sa.select(sa.func.count()).where(table.c.tenant_id == tenant.tenant_id)
            counts[table.name] = (await conn.execute(query)).scalar_one()
    return counts


@pytest.mark.parametrize(
    ("second", "code"),
    [
        (grant(target("unknown")), grpc.StatusCode.NOT_FOUND),
        (
            consent_pb2.ConsentChoice(
                target=target("offers"), state=types_pb2.CONSENT_STATE_REFUSED, notice_version=3
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ],
    ids=["unknown purpose", "notice version on a purpose without notice"],
)
async def test_failed_record_writes_nothing(
    stubs: Stubs, app: App, tenant: Tenant, second: consent_pb2.ConsentChoice, code: grpc.StatusCode
) -> None:
    """A RecordConsent whose second choice fails leaves no event, no subject, no identifier."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")
    identity = types_pb2.SubjectIdentity(email="half@example.fr", external_id="crm-half")
    error = await _fails(record(stubs, identity, grant(target("newsletter")), second))
    assert error.code() == code
    assert "choices[1]" in str(error.details())

    assert (await current(stubs, by_email("half@example.fr"))).subject_id == ""
    assert list((await history(stubs, by_email("half@example.fr"))).events) == []
    assert await _rows(app, tenant) == dict.fromkeys(
        ("subjects", "subject_identifiers", "consent_events", "current_consents"), 0
    )


async def test_failure_after_subject_creation_rolls_back(
    stubs: Stubs, app: App, tenant: Tenant
) -> None:
    """A choice refused after the new subject was inserted (a valid_until in the past) rolls
    the whole request back: the subject is not left behind."""
    await put_purpose(stubs, "newsletter")
    past = grant(target("newsletter", types_pb2.CHANNEL_SMS))
    past.valid_until.FromSeconds(1_000_000_000)
    identity = types_pb2.SubjectIdentity(email="late@example.fr")
    error = await _fails(record(stubs, identity, grant(target("newsletter")), past))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in _violations(error)] == ["choices[1].valid_until"]
    assert (await _rows(app, tenant))["subjects"] == 0

    ok = await record(stubs, identity, grant(target("newsletter")))
    assert UUID(ok.subject_id)
    assert await _rows(app, tenant) == {
        "subjects": 1,
        "subject_identifiers": 1,
        "consent_events": 1,
        "current_consents": 1,
    }


async def test_evidence_is_kept_only_sealed(app: App, stubs: Stubs, tenant: Tenant) -> None:
    """IP address and user agent reach the event sealed under the subject's data key (so
    erasure shreds them), never in clear and no longer as hashes anyone with the secret could
    brute-force."""
    await put_purpose(stubs, "newsletter")
    evidence = types_pb2.Evidence(
        ip_address="203.0.113.7", user_agent="Firefox/140", reference="f1"
    )
    await record(stubs, SOMEONE, _choice(), evidence=evidence)
    query = sa.select(
        consent_events.c.evidence_ip_digest,
        consent_events.c.evidence_ua_digest,
        consent_events.c.evidence_reference,
        consent_events.c.evidence_sealed,
    ).where(consent_events.c.tenant_id == tenant.tenant_id)
    async with owner(app).connect() as conn:
        ip_digest, ua_digest, reference, sealed = (await conn.execute(query)).one()
    assert reference == "f1"
    assert ip_digest is None
    assert ua_digest is None
    assert len(sealed) > 28  # version, nonce, ciphertext and tag
    assert b"203.0.113.7" not in sealed
    assert b"Firefox" not in sealed


async def test_a_uint32_past_the_column_range_names_the_fields_own_limit(stubs: Stubs) -> None:
    """A page size or a validity over 2**31 - 1 (a uint32 may carry it) is INVALID_ARGUMENT
    stating the field's own limit, 500 or 3660, as a smaller excess does, not the column's."""
    await put_purpose(stubs, "newsletter")
    error = await _fails(history(stubs, by_email("someone@example.fr"), page_size=3_000_000_000))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).startswith("page_size: must be between 1 and 500")
    purpose = catalog_pb2.Purpose(
        purpose_id="longest",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        max_validity_days=3_000_000_000,
    )
    put = stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )
    error = await _fails(put)
    assert error.details() == "purpose.max_validity_days: must be at most 3660"


@pytest.mark.parametrize("cursor", ["\ud800", "a\x00", "zzz", 7], ids=repr)
async def test_a_forged_rights_request_page_token_is_invalid_argument(
    channel: grpc.aio.Channel, stubs: Stubs, tenant: Tenant, cursor: object
) -> None:
    """A token of the right list whose cursor is not a request id: a lone surrogate or a NUL was
    INTERNAL, "zzz" an empty last page (probe V)."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    token = encode_token("rights_requests", cursor, "False||0", tenant=tenant.tenant_id)
    request = rights_pb2.ListRightsRequestsRequest(page_token=token)
    error = await _fails(rights.ListRightsRequests(request, metadata=stubs.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).startswith("page_token:")


async def test_a_cookie_validity_past_its_column_is_told_its_own_limit(stubs: Stubs) -> None:
    """2**31 months was told "must be at most 2147483647", 12 being the limit (probe V)."""
    policy = cookies_pb2.CookiePolicy(acceptance_validity_months=2**31)
    error = await _fails(
        stubs.cookies.PutCookiePolicy(
            cookies_pb2.PutCookiePolicyRequest(policy=policy), metadata=stubs.metadata
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "policy.acceptance_validity_months: must be 1 to 12 months (0: 12)"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("extend", "months: must be 1 to 2"),
        ("due", "due_within_days: must be 1 to 90 (or unset)"),
        ("revision", "policy.revision: must be 1 to 1000000 (0 keeps the current revision)"),
    ],
)
async def test_a_uint32_past_its_column_is_told_its_own_limit(
    stubs: Stubs, channel: grpc.aio.Channel, call: str, expected: str
) -> None:
    """Probe DO: 2**32 - 1 was told "must be at most 2147483647" where 3 is told "1 to 2"."""
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    top = 2**32 - 1
    calls = {
        "extend": lambda: rights.ExtendRightsRequest(
            rights_pb2.ExtendRightsRequestRequest(
                request_id="00000000-0000-4000-8000-000000000001", months=top, reason="r"
            ),
            metadata=stubs.metadata,
        ),
        "due": lambda: rights.ListRightsRequests(
            rights_pb2.ListRightsRequestsRequest(due_within_days=top), metadata=stubs.metadata
        ),
        "revision": lambda: stubs.cookies.PutCookiePolicy(
            cookies_pb2.PutCookiePolicyRequest(policy=cookies_pb2.CookiePolicy(revision=top)),
            metadata=stubs.metadata,
        ),
    }
    error = await _fails(calls[call]())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == expected


async def test_an_enum_left_unset_is_told_the_names_a_caller_writes(stubs: Stubs) -> None:
    """Probe DT: "must be one of: first_party, partners", which Connect JSON refuses: the
    values are named as the contract spells them, in JSON too."""
    await put_purpose(stubs, "newsletter")
    unset = types_pb2.ConsentTarget(purpose="newsletter", channel=types_pb2.CHANNEL_EMAIL)
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email="enum@example.fr"),
        choices=[consent_pb2.ConsentChoice(target=unset, state=types_pb2.CONSENT_STATE_GRANTED)],
        source=types_pb2.SOURCE_PORTAL,
    )
    error = await _fails(stubs.consent.RecordConsent(request, metadata=stubs.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).endswith(
        "is required and must be one of: PARTY_SCOPE_FIRST_PARTY, PARTY_SCOPE_PARTNERS"
    )
    # Given, but not one this field takes: not "required" (probe DU).
    request.choices[0].target.scope = types_pb2.PARTY_SCOPE_FIRST_PARTY
    request.choices[0].state = types_pb2.CONSENT_STATE_WITHDRAWN
    error = await _fails(stubs.consent.RecordConsent(request, metadata=stubs.metadata))
    assert error.details() == (
        "choices[0].state: must be one of: CONSENT_STATE_GRANTED, CONSENT_STATE_REFUSED"
    )
