"""A host whose clock is behind the facts already recorded says so at start (an error in the
log): what it writes is dated before them (found by a fault probe with a clock two years behind: its
withdrawal was stamped before the grant it withdrew, and a later import of an older grant
undid it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from consentd.app.commands import Choice, RecordConsent
from consentd.bootstrap import App
from consentd.clock_check import CLOCK_TOLERANCE, check_clock, watch_clock
from consentd.domain.errors import FailedPrecondition
from consentd.domain.identifiers import Identifier
from consentd.domain.model import ConsentState, Decision, LawfulBasis, Purpose, Reason, Source
from consentd.domain.tenancy import Tenant
from consentd.store.database import newest_fact
from consentd.telemetry.metrics import Metrics
from tests.conftest import TestClock
from tests.integration.contact_paths import PATHS, digest, suppressed, unary
from tests.integration.helpers import B2B, NEWSLETTER, catalogue, email, grant, principal


async def test_a_clock_behind_the_newest_fact_is_reported(
    app: App, tenant: Tenant, owner_url: str
) -> None:
    """Facts written now; a host whose clock says two years ago is told how far behind it is,
    one a few seconds behind (an NTP step) is not."""
    await app.catalog.put_purpose(principal(tenant), Purpose("newsletter", LawfulBasis.CONSENT))
    await app.sequencer.drain(tenant.tenant_id)
    now = datetime.now(UTC)
    newest = await newest_fact(owner_url)
    assert newest is not None
    assert newest >= now - timedelta(minutes=1)  # ours at least (tests share the database)
    two_years_ago = now - timedelta(days=730)
    behind = await check_clock(owner_url, two_years_ago)  # or the database's clock, further
    assert behind is not None
    assert newest - two_years_ago <= behind < newest - two_years_ago + timedelta(seconds=5)
    assert await check_clock(owner_url, newest - CLOCK_TOLERANCE / 2) is None


async def test_a_serving_process_says_it_again_and_again(app: App, tenant: Tenant) -> None:
    """Probe AC: a clock set a day back logged one line at start, then a day of facts was dated
    before the ones they followed. The serving process checks again every minute (here every
    50 ms), with the owner's engine it keeps."""
    await app.catalog.put_purpose(principal(tenant), Purpose("newsletter", LawfulBasis.CONSENT))
    await app.sequencer.drain(tenant.tenant_id)
    assert app.owner_engine is not None
    behind = datetime.now(UTC) - timedelta(days=1)
    with capture_logs() as logs:
        watch = watch_clock(app.engine, app.owner_engine, 0.05, lambda: behind)
        watching = asyncio.create_task(watch)
        await asyncio.sleep(1)
        watching.cancel()
    said = [e for e in logs if e["event"] == "clock_behind_database"]
    assert len(said) >= 3, said
    assert {e["log_level"] for e in said} == {"error"}
    assert all(e["behind_seconds"] >= 86_000 for e in said)


@pytest.mark.parametrize("block", ["object", "restrict"])
async def test_a_block_after_a_clock_stepped_back_is_in_force_at_once(
    app: App, tenant: Tenant, clock: TestClock, block: str
) -> None:
    """A grant recorded by a clock 45 s ahead, then the clock set right, then an objection:
    the objection was stamped before the grant, which overrode it, and every check said ALLOW
    for good (probe P); a restriction recorded while the clock was ahead was ignored until the
    clock caught up. Now a block is never stamped before the subject's newest fact, and a check
    now counts every block on record: DENY at once on every path and on the suppression list;
    a check as of before the block still answers what it did."""
    await catalogue(app, tenant)
    who = email(f"stepped-{block}@example.fr")
    clock.pinned = datetime.now(UTC) + timedelta(seconds=45)
    await grant(app, tenant, who, targets=(NEWSLETTER, B2B))
    before = clock.pinned + timedelta(milliseconds=500)  # after the grant, before the block
    if block == "restrict":  # the block itself recorded while the clock is ahead
        clock.pinned += timedelta(seconds=1)
        await app.rights.restrict(principal(tenant), who)
        clock.pinned = None
        expected = Reason.RESTRICTED
    else:
        clock.pinned = None
        await app.rights.object(principal(tenant), who)
        before = before - timedelta(milliseconds=500)  # the grant's instant
        expected = Reason.OBJECTED
    for target in (NEWSLETTER, B2B):
        for name, path in PATHS.items():
            (verdict,) = await path(app, tenant, [who], target, None)
            assert (verdict.decision, verdict.reason) == (Decision.DENY, expected), (name, target)
        assert suppressed_reason(await suppressed(app, tenant, target), app, tenant, who) == (
            expected.value
        )
    clock.pinned = before + timedelta(seconds=1)  # as_of needs a past time: the clock moves on
    (then,) = await unary(app, tenant, [who], NEWSLETTER, before)
    assert then.decision is Decision.ALLOW


def suppressed_reason(listed: dict[bytes, str], app: App, tenant: Tenant, who: Identifier) -> str:
    return listed.get(digest(app, tenant, who), "not listed")


async def test_an_address_left_after_a_clock_step_back_stays_closed(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Probe S: an objection, then the clock 2 minutes behind it, then RectifyContact: the
    holding of the old address ended (at the clock's time) before the objection began (at its
    own), the old address was not closed, and the CRM's grant for it made a check ALLOW. A
    rectification (and an erasure) is never stamped before the subject's newest fact or block."""
    await catalogue(app, tenant)
    old, new = email("stepped-left@example.fr"), email("stepped-new@example.fr")
    await grant(app, tenant, old, targets=(NEWSLETTER,))
    await app.rights.object(principal(tenant), old)
    clock.pinned = datetime.now(UTC) - timedelta(minutes=2)
    await app.rights.rectify(principal(tenant), old, new, "support")
    system = RecordConsent(
        identifiers=(old,),
        choices=(Choice(NEWSLETTER, ConsentState.GRANTED),),
        source=Source.API,
        actor="crm",
    )
    with pytest.raises(FailedPrecondition, match="objected"):
        await app.consents.record_consent(principal(tenant), system)
    clock.pinned = None
    (verdict,) = await unary(app, tenant, [old], NEWSLETTER, None)
    assert (verdict.decision, verdict.reason) == (Decision.DENY, Reason.OBJECTED)


async def test_the_persons_grant_after_a_clock_step_lifts_their_objection(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Probe S: a grant recorded by a clock 10 minutes ahead, the clock set right, then an
    objection (stamped after the grant), then the person granting again in the portal: the new
    grant was stamped at the grant's time, before the objection, and never counted (DENY for
    good). The person's grant is stamped after the objection it lifts."""
    await catalogue(app, tenant)
    who = email("stepped-regrant@example.fr")
    clock.pinned = datetime.now(UTC) + timedelta(minutes=10)
    await grant(app, tenant, who, targets=(NEWSLETTER,))
    clock.pinned = None
    await app.rights.object(principal(tenant), who)
    (objected,) = await unary(app, tenant, [who], NEWSLETTER, None)
    assert (objected.decision, objected.reason) == (Decision.DENY, Reason.OBJECTED)
    await grant(app, tenant, who, targets=(NEWSLETTER,))  # the person, through the portal
    (lifted,) = await unary(app, tenant, [who], NEWSLETTER, None)
    assert lifted.decision is Decision.ALLOW, lifted


async def test_a_clock_ahead_of_the_databases_is_said_at_start_and_while_serving(
    app: App, tenant: Tenant, owner_url: str
) -> None:
    """Probe HG: a host a day ahead of PostgreSQL served on with nothing said, every fact dated
    a day on (a cookie refusal valid a day too long, an access request due a day late); only
    the retention job refused. Its clock is compared with the database's: an error at start
    and every minute; a few seconds ahead (an NTP step) is not one."""
    await app.catalog.put_purpose(principal(tenant), Purpose("newsletter", LawfulBasis.CONSENT))
    ahead = datetime.now(UTC) + timedelta(days=1)
    with capture_logs() as logs:
        await check_clock(owner_url, datetime.now(UTC) + CLOCK_TOLERANCE / 2)
        assert not [e for e in logs if e["event"] == "clock_ahead_of_database"]
        await check_clock(owner_url, ahead)
        assert app.owner_engine is not None
        watch = watch_clock(app.engine, app.owner_engine, 0.05, lambda: ahead)
        watching = asyncio.create_task(watch)
        await asyncio.sleep(1)
        watching.cancel()
    said = [e for e in logs if e["event"] == "clock_ahead_of_database"]
    assert len(said) >= 3, said
    assert {e["log_level"] for e in said} == {"error"}
    assert all(86_000 <= e["ahead_seconds"] <= 86_400 for e in said)


async def test_a_clock_behind_the_databases_is_said_without_the_owner(app: App) -> None:
    """Probe TB: a host behind was compared with the newest fact alone, and only with the
    owner's URL: a serving pod (no owner URL), or one whose log was empty or its own, never
    said it. The database's clock, read as the runtime role, and the offset as a series."""
    behind = datetime.now(UTC) - timedelta(hours=1)
    metrics = Metrics()
    with capture_logs() as logs:
        watching = asyncio.create_task(watch_clock(app.engine, None, 0.05, lambda: behind, metrics))
        await asyncio.sleep(0.5)
        watching.cancel()
    said = [e for e in logs if e["event"] == "clock_behind_database"]
    assert len(said) >= 3, said
    assert all(e["newest_fact"] is None for e in said), said  # the runtime role sees no fact
    assert all(3_500 <= e["behind_seconds"] <= 3_700 for e in said), said
    offset = metrics.registry.get_sample_value("consentd_clock_offset_seconds")
    assert offset is not None
    assert -3_700 <= offset <= -3_500


async def test_facts_dated_ahead_are_said_after_later_entries_dated_before_them(
    app: App, tenant: Tenant, clock: TestClock, owner_url: str
) -> None:
    """Probe TB: facts written by a clock ahead, then later entries dated before them (the
    clock set right): the alarm read the last entry's time alone, and after a restart said
    nothing while every new fact of those targets was still dated after the ones ahead."""
    # Further ahead than other tests here pin the clock (10 minutes): the alarm is ours.
    clock.pinned = datetime.now(UTC) + timedelta(minutes=30)
    await app.catalog.put_purpose(principal(tenant), Purpose("ahead", LawfulBasis.CONSENT))
    await app.sequencer.drain(tenant.tenant_id)
    clock.pinned = None
    for name in ("after-1", "after-2"):
        await app.catalog.put_purpose(principal(tenant), Purpose(name, LawfulBasis.CONSENT))
    await app.sequencer.drain(tenant.tenant_id)
    behind = await check_clock(owner_url, datetime.now(UTC))
    assert behind is not None
    assert behind > timedelta(minutes=29)  # at least ours (other tests may date facts further)
