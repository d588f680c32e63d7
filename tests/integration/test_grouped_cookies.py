"""Group commit of cookie choices on real PostgreSQL (app/grouped_cookies.py): concurrent
choices of one tenant share transactions, each gets what it would have got alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa

from consentd.app.cookie_choices import CookieAnswer, RecordCookieChoice
from consentd.bootstrap import App
from consentd.domain.cookies import ChoiceMethod, ChoiceStatus
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import normalise_email
from consentd.domain.tenancy import Principal, Scope, Tenant
from tests.conftest import owner
from tests.unit.test_tcf import BITFIELD


def _choice(visitor: str, **fields: Any) -> RecordCookieChoice:
    values: dict[str, Any] = {"method": ChoiceMethod.ACCEPT_ALL, "policy_revision": 1, **fields}
    return RecordCookieChoice(visitor_id=visitor, **values)


async def _together(app: App, tenant: Tenant, choices: list[RecordCookieChoice]) -> list[Any]:
    who = Principal(tenant, "test")
    return await asyncio.gather(
        *(app.cookies.record_cookie_choice(who, c) for c in choices), return_exceptions=True
    )


async def test_concurrent_choices_share_transactions_and_each_is_answered(
    app: App, tenant: Tenant
) -> None:
    """40 choices at once, among them a revision the tenant never had, an unknown category and
    one visitor twice: each its own answer, fewer transactions than choices, the log verifies."""
    twice = uuid4().hex
    choices = [_choice(uuid4().hex) for _ in range(36)]
    choices += [
        _choice(uuid4().hex, policy_revision=7),
        _choice(uuid4().hex, method=ChoiceMethod.CUSTOM, granted=("nope",)),
        _choice(twice),
        _choice(twice, method=ChoiceMethod.REFUSE_ALL),
    ]
    answers = await _together(app, tenant, choices)
    assert isinstance(answers[36], InvalidInput)
    assert "policy_revision" in str(answers[36])
    assert isinstance(answers[37], InvalidInput)
    good = [a for i, a in enumerate(answers) if i not in {36, 37}]
    assert all(isinstance(a, CookieAnswer) for a in good), good
    assert all(a.status is ChoiceStatus.VALID for a in good)
    async with owner(app).connect() as conn:
        stored, transactions = (
            await conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT xmin::text) FROM cookie_choices "
                    "WHERE tenant_id = :t"
                ),
                {"t": tenant.tenant_id},
            )
        ).one()
    assert stored == 38
    assert transactions < 38, "no two choices shared a transaction"
    latest = await app.cookies.get_cookie_choice(Principal(tenant, "test"), twice)
    assert latest.choice is not None
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok


async def test_a_value_the_database_refuses_fails_its_choice_alone(
    app: App, tenant: Tenant
) -> None:
    """A visitor id the table's CHECK refuses (the browser port would have refused it first)
    fails the batch's statement: the batch is rolled back and every choice is recorded alone,
    so only that one fails."""
    good = [uuid4().hex for _ in range(8)]
    answers = await _together(app, tenant, [_choice("x"), *(_choice(v) for v in good)])
    assert isinstance(answers[0], Exception)
    assert all(isinstance(a, CookieAnswer) for a in answers[1:]), answers
    for visitor in good:
        assert (await app.cookies.get_cookie_choice(Principal(tenant, "test"), visitor)).choice


async def test_a_batch_attributes_a_linked_visitors_choices_and_answers_in_order(
    app: App, tenant: Tenant
) -> None:
    """A visitor linked to a person before: its choices of a batch carry that subject, the
    others none; each answer is its own choice's (the rows come back in the order given)."""
    who = Principal(tenant, "test", frozenset(Scope))
    linked = uuid4().hex
    subject_id, _ = await app.cookies.link_visitor(
        who, linked, normalise_email("linked@example.fr")
    )
    visitors = [uuid4().hex for _ in range(30)] + [linked, linked]
    answers = await _together(app, tenant, [_choice(v) for v in visitors])
    assert all(isinstance(a, CookieAnswer) for a in answers), answers
    assert [a.choice.visitor_id for a in answers] == visitors
    async with owner(app).connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT visitor_id, subject_id FROM cookie_choices WHERE tenant_id = :t "
                "AND visitor_id = ANY(:v)"
            ),
            {"t": tenant.tenant_id, "v": visitors},
        )
        subjects = {str(row[0]): row[1] for row in rows}
    assert subjects[linked] == subject_id
    assert all(subjects[v] is None for v in visitors[:30])
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok


_COLUMNS = (
    "method, granted, refused, policy_revision, gpc, recorded_at, expires_at, page_url, "
    "ip_digest, ua_digest, tcf_string, tcf_cmp_id, tcf_cmp_version, tcf_created, "
    "tcf_last_updated, tcf_consent_screen, tcf_consent_language, tcf_vendor_list_version, "
    "tcf_policy_version, tcf_purposes_consent, tcf_purposes_legitimate_interest"
)


async def test_a_batched_choice_stores_the_row_a_lone_one_does(app: App, tenant: Tenant) -> None:
    """Every column of a choice written in a batch (one statement, the rows as JSON) is what the
    one-call path stores for the same choice: digests, TCF fields, arrays of any length, times
    to the microsecond (an acceptance: a refusal keeps its whole period whatever expiry is
    asked); their log entries verify."""
    fields: dict[str, Any] = {
        "method": ChoiceMethod.CUSTOM,
        "granted": ("analytics", "marketing", "personalisation"),
        "gpc": True,
        "tcf_string": BITFIELD,
        "page_url": "https://www.example.fr/tarifs?x=1",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "ip_network": "192.0.2.0",
        "expires_at": datetime(2027, 3, 1, 12, 30, 45, 123456, tzinfo=UTC),
    }
    alone = uuid4().hex
    await _together(app, tenant, [_choice(alone, **fields)])
    batched = [uuid4().hex for _ in range(12)]
    others = [_choice(v, **fields) if n % 2 else _choice(v) for n, v in enumerate(batched)]
    answers = await _together(app, tenant, others)
    assert all(isinstance(a, CookieAnswer) for a in answers), answers

    async def row(visitor: str) -> tuple[Any, ...]:
        async with owner(app).connect() as conn:
            query = f"SELECT {_COLUMNS}, xmin::text FROM cookie_choices WHERE visitor_id = :v"  # noqa: S608
            return tuple((await conn.execute(sa.text(query), {"v": visitor})).one())

    expected = await row(alone)
    assert expected[8] is not None
    assert expected[10] == BITFIELD
    stored = [await row(v) for v in batched]
    assert len({r[-1] for r in stored}) < len(stored), "no two choices shared a transaction"
    for got in stored[1::2]:
        assert got[:5] + got[6:-1] == expected[:5] + expected[6:-1]
    assert stored[0][10] is None
    assert stored[0][8] is None
    await app.sequencer.drain(tenant.tenant_id)
    assert (await app.audit.verify(tenant)).ok
