"""Tenant A's credentials against tenant B's data: for 1,000 of B's subject ids, B's identifiers,
B's history page tokens and B's purposes and notices, on every RPC that takes them, A gets
exactly the answer it gets for an id that exists nowhere, reads no row of B and changes none."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
from consent.v1 import catalog_pb2, consent_pb2, types_pb2

from consentd.app.admin import AdminUseCases
from consentd.app.commands import Choice, ListHistory, RecordConsent
from consentd.app.paging import ANOTHER_LIST
from consentd.bootstrap import App
from consentd.domain.identifiers import normalise_email, normalise_external_id
from consentd.domain.model import (
    Channel,
    ConsentState,
    LawfulBasis,
    Notice,
    PartyScope,
    Purpose,
    Source,
    Target,
)
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import Stubs
from tests.e2e.helpers import by_id, put_purpose, target
from tests.e2e.security_helpers import fails, outcome, row_counts

SUBJECTS = 1_000
BATCH = 50
CONCURRENCY = 16
WITH_HISTORY = 20
NEWSLETTER = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)
OFFERS = Target("offers", Channel.SMS, PartyScope.PARTNERS)
# Purposes and notices only B has; A's probes name them. Same-length stand-ins that exist
# nowhere give the reference answers (messages name the id, so lengths must match).
B_PURPOSE = "b-only-loyalty-scoring"
B_NOTICE = "b-only-privacy-notice"

Probe = Callable[[Stubs, types_pb2.SubjectRef], Awaitable[Any]]


@dataclass(frozen=True)
class TenantB:
    tenant: Tenant
    subject_ids: list[str]
    emails: list[str]
    page_tokens: list[str]


def _b_principal(tenant: Tenant) -> Principal:
    return Principal(tenant=tenant, caller="tenant-b-setup", scopes=frozenset(Scope))


def _stand_in(real: str) -> str:
    """An id of the same length and form as `real` that no tenant has."""
    stand_in = ("z" + uuid4().hex * 2)[: len(real)]
    assert len(stand_in) == len(real)
    return stand_in


@pytest.fixture(scope="module")
async def tenant_b(app: App, admin: AdminUseCases) -> TenantB:
    """Tenant B with 1,000 subjects holding consents; some with history spanning pages."""
    tenant = await admin.create_tenant(f"b-{uuid4().hex[:12]}")
    principal = _b_principal(tenant)
    notice = Notice(B_NOTICE, 0, "Avis", "fr-FR", "texte de B", "", False, datetime.now(UTC))
    await app.catalog.publish_notice(principal, notice)
    for purpose_id in ("newsletter", "offers", B_PURPOSE):
        await app.catalog.put_purpose(principal, Purpose(purpose_id, LawfulBasis.CONSENT))

    async def one(index: int) -> str:
        written = await app.consents.record_consent(
            principal,
            RecordConsent(
                identifiers=(
                    normalise_email(f"person{index}@tenant-b.example"),
                    normalise_external_id(f"b-crm-{index}", "external_id"),
                ),
                choices=(Choice(NEWSLETTER, ConsentState.GRANTED),),
                source=Source.API,
                actor="b",
            ),
        )
        return str(written.subject_id)

    subject_ids: list[str] = []
    for start in range(0, SUBJECTS, BATCH):
        batch = range(start, min(start + BATCH, SUBJECTS))
        subject_ids.extend(await asyncio.gather(*(one(i) for i in batch)))
    assert len(set(subject_ids)) == SUBJECTS

    page_tokens: list[str] = []
    for index in range(WITH_HISTORY):
        subject = UUID(subject_ids[index])
        await app.consents.record_consent(
            principal,
            RecordConsent(
                identifiers=(normalise_email(f"person{index}@tenant-b.example"),),
                choices=(Choice(OFFERS, ConsentState.GRANTED),),
                source=Source.API,
                actor="b",
            ),
        )
        page = await app.consents.consent_history(principal, ListHistory(subject, 1))
        assert len(page.items) == 1
        assert page.next_page_token
        page_tokens.append(page.next_page_token)
    emails = [f"person{i}@tenant-b.example" for i in range(SUBJECTS)]
    return TenantB(tenant, subject_ids, emails, page_tokens)


def _check(stubs: Stubs, ref: types_pb2.SubjectRef) -> Awaitable[Any]:
    request = consent_pb2.CheckConsentRequest(subject=ref, target=target("newsletter"))
    return stubs.consent.CheckConsent(request, metadata=stubs.metadata)


def _current(stubs: Stubs, ref: types_pb2.SubjectRef) -> Awaitable[Any]:
    request = consent_pb2.GetSubjectConsentsRequest(subject=ref)
    return stubs.consent.GetSubjectConsents(request, metadata=stubs.metadata)


def _history(stubs: Stubs, ref: types_pb2.SubjectRef, token: str = "") -> Awaitable[Any]:
    request = consent_pb2.ListConsentHistoryRequest(subject=ref, page_token=token)
    return stubs.consent.ListConsentHistory(request, metadata=stubs.metadata)


def _withdraw(stubs: Stubs, ref: types_pb2.SubjectRef) -> Awaitable[Any]:
    request = consent_pb2.WithdrawConsentRequest(
        subject=ref, targets=[target("newsletter")], source=types_pb2.SOURCE_API
    )
    return stubs.consent.WithdrawConsent(request, metadata=stubs.metadata)


def _withdraw_all(stubs: Stubs, ref: types_pb2.SubjectRef) -> Awaitable[Any]:
    request = consent_pb2.WithdrawConsentRequest(subject=ref, all=True)
    return stubs.consent.WithdrawConsent(request, metadata=stubs.metadata)


# (probe, how many of B's ids it is tried on): every RPC taking a subject, on all 1,000.
BY_ID: dict[str, tuple[Probe, int]] = {
    "CheckConsent": (_check, SUBJECTS),
    "GetSubjectConsents": (_current, SUBJECTS),
    "ListConsentHistory": (_history, SUBJECTS),
    "WithdrawConsent": (_withdraw, SUBJECTS),
    "WithdrawConsent all": (_withdraw_all, 100),
}
IDENTIFIERS = 100
# By identifier only reads: a withdrawal for an unknown contact point creates it (in A).
BY_IDENTIFIER: dict[str, Probe] = {
    "CheckConsent": _check,
    "GetSubjectConsents": _current,
    "ListConsentHistory": _history,
}


async def _bounded(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await outcome(call())

    return await asyncio.gather(*(run(c) for c in calls))


async def _reference(stubs: Stubs, probe: Probe, refs: list[types_pb2.SubjectRef]) -> Any:
    """The one answer for subjects that exist nowhere (the same for each of `refs`)."""
    answers = [await outcome(probe(stubs, ref)) for ref in refs]
    assert all(a == answers[0] for a in answers), answers
    return answers[0]


async def _prepare_a(stubs: Stubs) -> None:
    """A has purposes of the same names, so probes get as far as looking the subject up."""
    await put_purpose(stubs, "newsletter")
    await put_purpose(stubs, "offers")


async def test_b_subject_ids_answer_like_ids_that_exist_nowhere(
    app: App, stubs: Stubs, tenant: Tenant, tenant_b: TenantB
) -> None:
    """Each of B's 1,000 subject ids, on Check, GetSubjectConsents, ListConsentHistory and
    WithdrawConsent with A's admin key: the answer is byte for byte the one for a random UUID,
    and neither B's nor A's rows change."""
    await _prepare_a(stubs)
    b_before = await row_counts(app, tenant_b.tenant.tenant_id)
    a_before = await row_counts(app, tenant.tenant_id)
    assert b_before["subjects"] == SUBJECTS
    for name, (probe, count) in BY_ID.items():
        nowhere = [by_id(str(uuid4())) for _ in range(3)]
        expected = await _reference(stubs, probe, nowhere)
        ids = tenant_b.subject_ids[:count]
        got = await _bounded([lambda s=s, p=probe: p(stubs, by_id(s)) for s in ids])
        different = [s for s, a in zip(ids, got, strict=True) if a != expected]
        assert different == [], f"{name}: {len(different)} of B's ids answer differently"
    assert await row_counts(app, tenant_b.tenant.tenant_id) == b_before
    assert await row_counts(app, tenant.tenant_id) == a_before


async def test_b_identifiers_answer_like_unknown_ones(
    app: App, stubs: Stubs, tenant_b: TenantB
) -> None:
    """B's subjects named by email or external id (read RPCs): the answer of a contact point
    no tenant has ever seen."""
    await _prepare_a(stubs)
    b_before = await row_counts(app, tenant_b.tenant.tenant_id)
    for name, probe in BY_IDENTIFIER.items():
        for kind, values in (
            ("email", tenant_b.emails[:IDENTIFIERS]),
            ("external_id", [f"b-crm-{i}" for i in range(IDENTIFIERS)]),
        ):
            unknown = (
                [f"nobody-{uuid4().hex[:8]}@nowhere.example" for _ in range(3)]
                if kind == "email"
                else [f"nobody-{uuid4().hex[:8]}" for _ in range(3)]
            )
            expected = await _reference(
                stubs, probe, [types_pb2.SubjectRef(**{kind: v}) for v in unknown]
            )
            got = await _bounded(
                [
                    lambda v=v, p=probe, k=kind: p(stubs, types_pb2.SubjectRef(**{k: v}))
                    for v in values
                ]
            )
            assert [v for v, a in zip(values, got, strict=True) if a != expected] == [], (
                name,
                kind,
            )
    assert await row_counts(app, tenant_b.tenant.tenant_id) == b_before


async def test_b_page_tokens_reveal_nothing(app: App, stubs: Stubs, tenant_b: TenantB) -> None:
    """B's history page tokens, with B's subject ids, answer like with an unknown id; with A's
    own subject they are refused as tokens of another list, and name nothing of B."""
    await _prepare_a(stubs)
    b_before = await row_counts(app, tenant_b.tenant.tenant_id)
    for token, subject_id in zip(tenant_b.page_tokens, tenant_b.subject_ids, strict=False):
        expected = await outcome(_history(stubs, by_id(str(uuid4())), token))
        assert await outcome(_history(stubs, by_id(subject_id), token)) == expected
    recorded = await stubs.consent.RecordConsent(
        consent_pb2.RecordConsentRequest(
            subject=types_pb2.SubjectIdentity(email="a-person@tenant-a.example"),
            choices=[
                consent_pb2.ConsentChoice(
                    target=target("newsletter"), state=types_pb2.CONSENT_STATE_GRANTED
                )
            ],
            source=types_pb2.SOURCE_API,
        ),
        metadata=stubs.metadata,
    )
    for token in tenant_b.page_tokens:
        error = await fails(_history(stubs, by_id(recorded.subject_id), token))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert str(error.details()) == f"page_token: {ANOTHER_LIST}"
    assert await row_counts(app, tenant_b.tenant.tenant_id) == b_before


async def test_b_purposes_and_notices_answer_like_ones_that_exist_nowhere(
    app: App, stubs: Stubs, tenant_b: TenantB
) -> None:
    """B's purpose and notice ids, on every RPC that takes one, answer like ids no tenant has:
    GetPurpose, CheckConsent, RecordConsent, WithdrawConsent, ListNotices; and listing A's
    catalogue shows none of B's entries."""
    await _prepare_a(stubs)
    b_before = await row_counts(app, tenant_b.tenant.tenant_id)
    someone = types_pb2.SubjectRef(email="someone@tenant-a.example")

    def by_purpose(purpose: str) -> list[Awaitable[Any]]:
        return [
            stubs.catalog.GetPurpose(
                catalog_pb2.GetPurposeRequest(purpose_id=purpose), metadata=stubs.metadata
            ),
            stubs.consent.CheckConsent(
                consent_pb2.CheckConsentRequest(subject=someone, target=target(purpose)),
                metadata=stubs.metadata,
            ),
            stubs.consent.RecordConsent(
                consent_pb2.RecordConsentRequest(
                    subject=types_pb2.SubjectIdentity(email="someone@tenant-a.example"),
                    choices=[
                        consent_pb2.ConsentChoice(
                            target=target(purpose), state=types_pb2.CONSENT_STATE_GRANTED
                        )
                    ],
                    source=types_pb2.SOURCE_API,
                ),
                metadata=stubs.metadata,
            ),
            stubs.consent.WithdrawConsent(
                consent_pb2.WithdrawConsentRequest(
                    subject=by_id(tenant_b.subject_ids[0]), targets=[target(purpose)]
                ),
                metadata=stubs.metadata,
            ),
            stubs.consent.ListConsentHistory(
                consent_pb2.ListConsentHistoryRequest(
                    subject=by_id(tenant_b.subject_ids[0]), purpose=purpose
                ),
                metadata=stubs.metadata,
            ),
        ]

    stand_in = _stand_in(B_PURPOSE)
    for real_call, nowhere_call in zip(by_purpose(B_PURPOSE), by_purpose(stand_in), strict=True):
        real, nowhere = await outcome(real_call), await outcome(nowhere_call)
        assert _named(real, B_PURPOSE) == _named(nowhere, stand_in)

    notice_stand_in = _stand_in(B_NOTICE)
    real = await outcome(
        stubs.catalog.ListNotices(
            catalog_pb2.ListNoticesRequest(notice_id=B_NOTICE), metadata=stubs.metadata
        )
    )
    nowhere = await outcome(
        stubs.catalog.ListNotices(
            catalog_pb2.ListNoticesRequest(notice_id=notice_stand_in), metadata=stubs.metadata
        )
    )
    assert _named(real, B_NOTICE) == _named(nowhere, notice_stand_in)

    purposes = await stubs.catalog.ListPurposes(
        catalog_pb2.ListPurposesRequest(page_size=500), metadata=stubs.metadata
    )
    assert sorted(p.purpose_id for p in purposes.purposes) == ["newsletter", "offers"]
    notices = await stubs.catalog.ListNotices(
        catalog_pb2.ListNoticesRequest(page_size=500), metadata=stubs.metadata
    )
    assert list(notices.notices) == []
    assert await row_counts(app, tenant_b.tenant.tenant_id) == b_before


def _named(answer: tuple[str, Any], name: str) -> Any:
    """The answer with the id it names replaced by a placeholder of the same length."""
    kind, value = answer
    placeholder = "#" * len(name)
    if kind == "ok":
        return kind, value.replace(name.encode(), placeholder.encode())
    code, message, details = value
    return (
        kind,
        (
            code,
            (message or "").replace(name, placeholder),
            (details or b"").replace(name.encode(), placeholder.encode()),
        ),
    )
