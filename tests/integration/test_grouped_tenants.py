"""Group commit across tenants on real PostgreSQL: concurrent records of several tenants share
transactions (a tenant set before its own statements), and each tenant's data, log and feed stay
its own (app/grouped_writes.py, store/write_batch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from consentd.app.admin import AdminUseCases
from consentd.app.commands import CheckConsent, Choice, RecordConsent
from consentd.app.consents import Written
from consentd.app.ports import PartQuery, PartWrite
from consentd.bootstrap import App
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.model import ConsentState, Decision, LawfulBasis, Notice, Purpose, Source
from consentd.domain.tenancy import Tenant
from consentd.store.deadlines import set_call_deadline
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import owner
from tests.integration.helpers import NEWSLETTER, catalogue, email, principal


def _record(who: Identifier, notice_version: int | None = None) -> RecordConsent:
    return RecordConsent(
        identifiers=(who,),
        choices=(Choice(NEWSLETTER, ConsentState.GRANTED, notice_version=notice_version),),
        source=Source.API,
        actor="grouped",
    )


async def _tenants(app: App, admin: AdminUseCases, count: int, prefix: str) -> list[Tenant]:
    tenants = []
    for n in range(count):
        tenant = await admin.create_tenant(f"{prefix}{n}-{id(tenants) % 100_000}")
        await catalogue(app, tenant)
        tenants.append(tenant)
    await app.sequencer.settled()
    return tenants


async def _record_all(app: App, calls: list[tuple[Tenant, Identifier]]) -> list[Any]:
    """The calls at once (one turn of the loop: the same batches)."""
    return await asyncio.gather(
        *(app.consents.record_consent(principal(t), _record(who)) for t, who in calls),
        return_exceptions=True,
    )


async def _decision(app: App, tenant: Tenant, who: Identifier) -> Decision:
    check = CheckConsent(subject=who, target=NEWSLETTER)
    return (await app.consents.check_consent(principal(tenant), check)).verdict.decision


async def _owner_rows(app: App, query: str, **params: Any) -> list[Any]:
    async with owner(app).connect() as conn:
        return list(await conn.execute(sa.text(query), params))


async def test_records_of_several_tenants_share_transactions_and_stay_apart(
    app: App, admin: AdminUseCases
) -> None:
    """Four tenants, eight new people each (the same addresses in every tenant), at once: every
    call written, some transaction wrote events of several tenants, each tenant has its eight
    subjects and no other's, its feed is gap-free from 1, its log verifies with every event."""
    tenants = await _tenants(app, admin, 4, "across")
    people = [email(f"p{i}@example.fr") for i in range(8)]
    calls = [(tenant, who) for who in people for tenant in tenants]
    written = await _record_all(app, calls)
    assert all(isinstance(w, Written) for w in written), written
    ids = [t.tenant_id for t in tenants]
    shared = await _owner_rows(
        app,
        "SELECT xmin::text, count(DISTINCT tenant_id) FROM consent_events "
        "WHERE tenant_id = ANY(:ids) GROUP BY 1 HAVING count(DISTINCT tenant_id) > 1",
        ids=ids,
    )
    assert shared, "no transaction wrote the events of two tenants"
    for n, tenant in enumerate(tenants):
        mine = {w.subject_id for (t, _), w in zip(calls, written, strict=True) if t is tenant}
        rows = await _owner_rows(
            app, "SELECT subject_id FROM subjects WHERE tenant_id = :t", t=tenant.tenant_id
        )
        assert {r[0] for r in rows} == mine
        assert len(mine) == 8
        for who in people:
            assert await _decision(app, tenant, who) is Decision.ALLOW
        await app.sequencer.drain(tenant.tenant_id)
        positions = await _owner_rows(
            app,
            "SELECT position FROM consent_changes WHERE tenant_id = :t ORDER BY position",
            t=tenant.tenant_id,
        )
        assert [p[0] for p in positions] == list(range(1, 9)), n
        report = await app.audit.verify(tenant)
        assert report.ok, report


@pytest.mark.parametrize("place", [min, max], ids=["first", "last"])
async def test_a_purged_tenant_in_a_batch_does_not_hold_the_others_back(
    app: App, admin: AdminUseCases, place: Any
) -> None:
    """A tenant purged meanwhile, first of its batch in tenant order (refused as the unit of
    work begins) or last (refused as its part enters it): its calls are refused, the other
    tenants' calls of the same batch are written."""
    tenants = await _tenants(app, admin, 3, f"purge-{place.__name__}")
    purged = place(tenants, key=lambda t: t.tenant_id)
    # What the retention job marks first when it purges a tenant whose contract ended (a purge
    # run of another test may then purge it for real: consistent with the mark).
    async with owner(app).begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO tenant_retention (tenant_id, contract_ended_at, legal_hold, "
                "legal_hold_reason, storage_extension, purged_at, updated_at) "
                "VALUES (:t, now() - interval '2 months', false, '', false, now(), now()) "
                "ON CONFLICT (tenant_id) DO UPDATE SET purged_at = now(), "
                "contract_ended_at = now() - interval '2 months'"
            ),
            {"t": purged.tenant_id},
        )
    calls = [(tenant, email(f"q{i}@example.fr")) for i in range(4) for tenant in tenants]
    written = await _record_all(app, calls)
    for (tenant, _), outcome in zip(calls, written, strict=True):
        if tenant is purged:
            assert not isinstance(outcome, Written), outcome
        else:
            assert isinstance(outcome, Written), outcome


@pytest.mark.parametrize("deadline", [None, 5.0], ids=["batch", "under-a-deadline"])
async def test_a_batch_reads_each_part_inside_its_own_tenant(
    app: App, admin: AdminUseCases, deadline: float | None
) -> None:
    """batch_reads reads each part inside its own tenant (one call; under a call deadline,
    the timeouts set first): the first tenant's person and its extra purpose are not seen from
    the second, and the unit of work is left inside the last part's tenant."""
    first, second = await _tenants(app, admin, 2, "part-late" if deadline else "part")
    ann = email("ann@example.fr")
    written = await app.consents.record_consent(principal(first), _record(ann))
    await app.catalog.put_purpose(principal(first), Purpose("only-first", LawfulBasis.CONSENT))
    (row,) = await _owner_rows(
        app, "SELECT kind, digest FROM subject_identifiers WHERE tenant_id = :t", t=first.tenant_id
    )
    digest = (IdentifierKind(row[0]), bytes(row[1]))
    set_call_deadline(deadline)
    try:
        async with SqlUnitOfWork(app.engine, first.tenant_id) as uow:
            ids = ["newsletter", "only-first"]
            mine, theirs = await uow.batch_reads(
                [
                    PartQuery(first.tenant_id, ids, [digest]),
                    PartQuery(second.tenant_id, ids, [digest]),
                ]
            )
            assert set(mine.purposes) == {"newsletter", "only-first"}
            assert mine.owners == {digest: written.subject_id}
            assert set(mine.keys) == {written.subject_id}
            assert set(theirs.purposes) == {"newsletter"}
            assert theirs.owners == {}
            assert theirs.keys == {}
            assert (await uow.catalog.purposes(ids)).keys() == {"newsletter"}
    finally:
        set_call_deadline(None)


async def test_a_batch_that_lost_a_race_writes_nothing_and_each_call_runs_alone(
    app: App, admin: AdminUseCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer links one of a batch's new identifiers (in its last tenant) just before
    the batch writes: the batch's statement is refused (CDP02), nothing of any tenant's part
    stays, every call runs alone and is written once, the raced person to the racer's
    subject."""
    tenants = await _tenants(app, admin, 2, "raced")
    people = [email(f"r{i}@example.fr") for i in range(4)]
    racer = uuid4()
    raced: list[bytes] = []
    batch_writes = SqlUnitOfWork.batch_writes

    async def racing(self: SqlUnitOfWork, parts: Sequence[PartWrite], now: datetime) -> Any:
        if not raced and len(parts) > 1 and parts[-1].created:
            last = parts[-1]
            (kind, digest), _ = last.created[0].identifiers[0]
            raced.append(digest)
            async with owner(app).begin() as conn:
                for statement in (
                    "INSERT INTO subjects (tenant_id, subject_id, created_at) "
                    "VALUES (:t, :s, now())",
                    "INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, "
                    "created_at, sealed_value) VALUES (:t, :k, :d, :s, now(), NULL)",
                ):
                    params = {"t": last.tenant_id, "s": racer, "k": kind.value, "d": digest}
                    await conn.execute(sa.text(statement), params)
        return await batch_writes(self, parts, now)

    monkeypatch.setattr(SqlUnitOfWork, "batch_writes", racing)
    calls = [(tenant, who) for who in people for tenant in tenants]
    written = await _record_all(app, calls)
    assert raced, "no batch of two tenants made new subjects"
    assert all(isinstance(w, Written) for w in written), written
    for tenant in tenants:
        events = await _owner_rows(
            app, "SELECT subject_id FROM consent_events WHERE tenant_id = :t", t=tenant.tenant_id
        )
        mine = [w.subject_id for (t, _), w in zip(calls, written, strict=True) if t is tenant]
        assert sorted(r[0] for r in events) == sorted(mine)  # each call's event, once
        made = await _owner_rows(
            app, "SELECT subject_id FROM subjects WHERE tenant_id = :t", t=tenant.tenant_id
        )
        assert {r[0] for r in made} == set(mine)  # nothing the rolled-back batch made
    assert racer in {w.subject_id for (t, _), w in zip(calls, written, strict=True)}


async def test_a_batch_checks_notice_versions_against_each_tenants_own_notices(
    app: App, admin: AdminUseCases
) -> None:
    """Two tenants with a notice of the same id, published twice in the first and once in the
    second: in one batch, version 2 is taken in the first and refused in the second (InvalidInput
    naming the field), version 1 taken in both; each answer as alone."""
    first, second = await _tenants(app, admin, 2, "notices")
    for tenant, versions in ((first, 2), (second, 1)):
        for n in range(versions):
            text = f"texte {n}"
            notice = Notice("privacy", 0, "Avis", "fr-FR", text, "", False, datetime.now(UTC))
            await app.catalog.publish_notice(principal(tenant), notice)
        purpose = Purpose("newsletter", LawfulBasis.CONSENT, notice_id="privacy")
        await app.catalog.put_purpose(principal(tenant), purpose)
    calls = [
        (tenant, version, email(f"v{version}-{n}@example.fr"))
        for n in range(3)
        for version in (1, 2)
        for tenant in (first, second)
    ]
    answers = await asyncio.gather(
        *(
            app.consents.record_consent(principal(t), _record(who, notice_version=v))
            for t, v, who in calls
        ),
        return_exceptions=True,
    )
    for (tenant, version, _), answer in zip(calls, answers, strict=True):
        if tenant is second and version == 2:
            assert isinstance(answer, InvalidInput), answer
            assert "choices[0].notice_version" in str(answer)
        else:
            assert isinstance(answer, Written), answer
    shared = await _owner_rows(
        app,
        "SELECT count(*) FROM (SELECT xmin::text FROM consent_events WHERE tenant_id = ANY(:ids) "
        "GROUP BY 1 HAVING count(DISTINCT tenant_id) > 1) AS x",
        ids=[first.tenant_id, second.tenant_id],
    )
    assert shared[0][0] > 0, "no batch wrote both tenants"
