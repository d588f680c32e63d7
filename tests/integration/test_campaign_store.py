"""The outbox and the campaign reads on real PostgreSQL: positions agree with commit and
sequence order and have no gap even when writes roll back; watchers find changes committed by
another process by polling; heartbeats keep an idle feed alive; exports page through subjects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from consentd.app.campaign import CampaignUseCases, FeedTiming
from consentd.app.changes import ChangeHub
from consentd.app.commands import Choice, RecordConsent, WithdrawConsent
from consentd.app.paging import encode_token
from consentd.bootstrap import App
from consentd.domain.errors import InvalidInput
from consentd.domain.identifiers import IdentifierHasher, normalise_email
from consentd.domain.model import (
    Channel,
    ConsentEvent,
    ConsentState,
    LawfulBasis,
    PartyScope,
    ProcessingRole,
    Purpose,
    Source,
    Target,
)
from consentd.domain.tenancy import Principal, Scope, Tenant
from consentd.store.tables import consent_changes, consent_events
from consentd.store.uow import SqlUnitOfWork
from tests.conftest import TEST_SECRET, owner
from tests.integration.helpers import restore_feed_to

NEWSLETTER = Target("newsletter", Channel.EMAIL, PartyScope.FIRST_PARTY)


def _principal(tenant: Tenant) -> Principal:
    return Principal(tenant=tenant, caller="test", scopes=frozenset(Scope))


def _grant(email: str) -> RecordConsent:
    return RecordConsent(
        identifiers=(normalise_email(email),),
        choices=(Choice(NEWSLETTER, ConsentState.GRANTED),),
        source=Source.API,
        actor="test",
    )


def _withdraw(email: str) -> WithdrawConsent:
    return WithdrawConsent(normalise_email(email), (NEWSLETTER,), False, Source.API, "test")


def _campaign(app: App, timing: FeedTiming, hub: ChangeHub | None = None) -> CampaignUseCases:
    """Use cases of their own (timing, hub), on the app's database."""
    hub = hub or ChangeHub()
    return CampaignUseCases(
        lambda tenant_id: SqlUnitOfWork(app.engine, tenant_id, signal=hub),
        IdentifierHasher(TEST_SECRET),
        lambda: datetime.now(UTC),
        hub,
        timing,
    )


async def _positions(app: App, tenant: Tenant) -> list[tuple[int, int]]:
    """(position, sequence) of every change of the tenant, in position order, once the
    sequencer integrated what was queued."""
    await app.sequencer.drain(tenant.tenant_id)
    query = (
        sa.select(consent_changes.c.position, consent_events.c.sequence)
        .join(
            consent_events,
            sa.and_(
                consent_events.c.tenant_id == consent_changes.c.tenant_id,
                consent_events.c.event_id == consent_changes.c.event_id,
            ),
        )
        .where(consent_changes.c.tenant_id == tenant.tenant_id)
        .order_by(consent_changes.c.position)
    )
    async with owner(app).connect() as conn:  # the owner sees past row-level security
        return [(p, s) for p, s in await conn.execute(query)]


async def test_positions_follow_sequences_without_gaps(app: App, tenant: Tenant) -> None:
    """40 racing writes of one tenant get positions 1..N, and per subject position order is
    sequence order (so a consumer applying changes in feed order ends in the projection's
    state); subjects of different writes are not ordered with each other."""
    principal = _principal(tenant)
    await app.catalog.put_purpose(principal, Purpose("newsletter", LawfulBasis.CONSENT))

    async def write(index: int) -> object:
        email = f"p{index % 4}@example.fr"
        if index % 3 == 0:
            return await app.consents.withdraw_consent(principal, _withdraw(email))
        return await app.consents.record_consent(principal, _grant(email))

    await asyncio.gather(*(write(i) for i in range(40)))

    rows = await _positions(app, tenant)
    assert [p for p, _ in rows] == list(range(1, 41))
    async with owner(app).connect() as conn:
        subject_of = dict(
            (
                await conn.execute(
                    sa.select(consent_events.c.sequence, consent_events.c.subject_id).where(
                        consent_events.c.tenant_id == tenant.tenant_id
                    )
                )
            ).all()
        )
    for subject in set(subject_of.values()):
        sequences = [s for _, s in rows if subject_of[s] == subject]
        assert sequences == sorted(sequences)


async def test_a_rolled_back_write_gives_its_positions_back(app: App, tenant: Tenant) -> None:
    """Events appended in a unit of work that is not committed leave no position behind."""
    principal = _principal(tenant)
    await app.catalog.put_purpose(principal, Purpose("newsletter", LawfulBasis.CONSENT))
    first = await app.consents.record_consent(principal, _grant("a@example.fr"))
    lost = ConsentEvent(
        uuid4(), 0, first.subject_id, NEWSLETTER, ConsentState.REFUSED, None, None,
        Source.API, "test", ProcessingRole.PROCESSOR, datetime.now(UTC), None, "",
    )  # fmt: skip
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        await uow.consents.append([lost], datetime.now(UTC))  # and leave without commit()
    await app.consents.record_consent(principal, _grant("b@example.fr"))

    assert [p for p, _ in await _positions(app, tenant)] == [1, 2]


async def test_watchers_poll_for_other_processes_and_send_heartbeats(
    app: App, tenant: Tenant
) -> None:
    """A change committed without waking this process's hub (as another process would) reaches
    the watcher by polling; an idle feed sends an empty page with the same cursor."""
    principal = _principal(tenant)
    await app.catalog.put_purpose(principal, Purpose("newsletter", LawfulBasis.CONSENT))
    campaign = _campaign(app, FeedTiming(poll_seconds=0.05, heartbeat_seconds=0.2))
    pages = campaign.watch_changes(principal, "", from_now=False, limit=10)
    reading = asyncio.ensure_future(anext(pages))
    await asyncio.sleep(0.1)
    written = await app.consents.record_consent(principal, _grant("a@example.fr"))

    page = await asyncio.wait_for(reading, 5)
    while not page.changes:  # heartbeats until the sequencer integrated the write
        page = await asyncio.wait_for(anext(pages), 5)
    assert [c.event.event_id for c in page.changes] == [e.event_id for e in written.events]
    heartbeat = await asyncio.wait_for(anext(pages), 5)
    assert (heartbeat.changes, heartbeat.cursor) == ([], page.cursor)
    await pages.aclose()


async def test_a_watch_whose_feed_falls_behind_it_ends_at_its_next_heartbeat(
    app: App, tenant: Tenant
) -> None:
    """Probe FM: a watch open across a restore (the feed's head put back below its position)
    stayed silent until new writes passed it, the withdrawals below it never sent. It ends
    INVALID_ARGUMENT, naming the restore, at its next heartbeat."""
    # Bounded as a whole: full runs hung here until this bound (sessions 34 and 36): the three
    # changes came in two pages, and the loop waited for one page holding all three, taking
    # heartbeats for ever. It counts the changes of every page now.
    async with asyncio.timeout(60):
        principal = _principal(tenant)
        await app.catalog.put_purpose(principal, Purpose("newsletter", LawfulBasis.CONSENT))
        for n in range(3):
            await app.consents.record_consent(principal, _grant(f"r{n}@example.fr"))
        campaign = _campaign(app, FeedTiming(poll_seconds=0.05, heartbeat_seconds=0.2))
        pages = campaign.watch_changes(principal, "", from_now=False, limit=10)
        seen = 0
        while seen < 3:
            seen += len((await asyncio.wait_for(anext(pages), 5)).changes)
        await restore_feed_to(owner(app), tenant.tenant_id, 1)
        with pytest.raises(InvalidInput, match="restored from an earlier backup"):
            await asyncio.wait_for(_drain(pages), 5)
        await pages.aclose()


async def _drain(pages: AsyncIterator[object]) -> None:
    """Every page, until the watch ends (it never does by itself)."""
    async for _ in pages:
        pass


async def test_export_pages_through_subjects(app: App, tenant: Tenant) -> None:
    """With 2 subjects a page, 5 suppressed subjects come in pages of 2, 2 and 1, each subject
    once, in subject order; subjects allowed in between are skipped."""
    principal = _principal(tenant)
    await app.catalog.put_purpose(principal, Purpose("newsletter", LawfulBasis.CONSENT))
    for index in range(8):
        email = f"s{index}@example.fr"
        if index % 3 == 1:
            await app.consents.record_consent(principal, _grant(email))
        else:
            await app.consents.withdraw_consent(principal, _withdraw(email))
    campaign = _campaign(app, FeedTiming(suppression_page=2))

    pages = [page async for page in campaign.suppression_list(principal, NEWSLETTER)]

    assert [len(page) for page in pages] == [2, 2, 1]
    subjects: list[UUID] = [entry.subject_id for page in pages for entry in page]
    assert subjects == sorted(subjects)
    assert len(set(subjects)) == 5


async def test_an_export_stream_goes_on_after_any_pages_resume_token(
    app: App, tenant: Tenant
) -> None:
    """Probe DT: a suppression-list stream cut off over gRPC had to start over (the CLI could
    resume). Each page carries a token: a stream given one goes on after its page, the rest
    as a whole stream has it; an erased person's entry (no subject) comes after the subjects.
    A token of another target, or not one of ours, is refused naming the field."""
    principal = _principal(tenant)
    await app.catalog.put_purpose(principal, Purpose("newsletter", LawfulBasis.CONSENT))
    await app.catalog.put_purpose(principal, Purpose("offers", LawfulBasis.CONSENT))
    for index in range(5):
        await app.consents.withdraw_consent(principal, _withdraw(f"s{index}@example.fr"))
    erased = await app.consents.withdraw_consent(principal, _withdraw("gone@example.fr"))
    await app.rights.erase(principal, erased.subject_id, "dpo")
    campaign, tid = _campaign(app, FeedTiming(suppression_page=2)), tenant.tenant_id

    whole = [page async for page in campaign.suppression_stream(principal, NEWSLETTER, "")]
    # Pages of 2 subjects; the erased one's holds nothing (its page is shorter, wherever its
    # random id puts it); then its lone entry.
    assert sum(len(page) for page, _ in whole) == 6
    assert all(page for page, _ in whole)
    assert len(whole) == 4
    assert [e.subject_id is None for e in whole[-1][0]] == [True]
    for index, (_, token) in enumerate(whole):
        rest = [p async for p, _ in campaign.suppression_stream(principal, NEWSLETTER, token)]
        assert rest == [page for page, _ in whole[index + 1 :]]
    offers = Target("offers", Channel.EMAIL, PartyScope.FIRST_PARTY)
    forged = encode_token("suppressions", [1, "x", "zz"], "offers|email|first_party", tenant=tid)
    for token in (whole[0][1], forged):
        with pytest.raises(InvalidInput, match="resume_token"):
            await anext(campaign.suppression_stream(principal, offers, token))


async def test_the_check_function_sets_the_tenant_for_its_transaction_only(
    app: App, tenant: Tenant
) -> None:
    """consentd_check() sets consentd.tenant_id before reading (what row-level security reads),
    inside the caller's transaction; run alone, it leaves nothing on the pooled connection."""
    call = sa.text(
        "SELECT count(*) FROM consentd_check(:tenant, 'none', 'email', 'first_party', "
        "ARRAY[]::text[], ARRAY[]::bytea[], ARRAY[]::uuid[], NULL, now())"
    )
    setting = sa.text("SELECT current_setting('consentd.tenant_id', true)")
    async with app.engine.connect() as conn:
        await conn.execute(call, {"tenant": tenant.tenant_id})
        assert (await conn.execute(setting)).scalar_one() == str(tenant.tenant_id)
        await conn.rollback()
        assert (await conn.execute(setting)).scalar_one() in (None, "")
