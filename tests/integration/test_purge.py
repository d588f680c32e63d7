"""The purge: deletes only expired choices, keeps counts and one run entry per tenant, is
idempotent, lets only one run at a time, and finishes correctly after a kill -9 mid-way."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest
import sqlalchemy as sa
import structlog
from alembic import command
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from structlog.testing import capture_logs

from consentd.app.admin import AdminUseCases
from consentd.app.cookie_choices import RecordCookieChoice
from consentd.app.cookie_purge import PurgeReport
from consentd.app.retention import LOCK_NAME
from consentd.bootstrap import App, derived_signing_key
from consentd.domain.cookie_policy import DEFAULT_POLICY
from consentd.domain.cookies import ChoiceMethod, ChoiceStatus
from consentd.domain.identifiers import Identifier, IdentifierKind
from consentd.domain.model import ProcessingRole
from consentd.domain.months import add_months
from consentd.domain.retention import Category
from consentd.domain.tenancy import Principal, Tenant
from consentd.jobs import retention as scheduled
from consentd.jobs.retention import purge_periodically
from consentd.logs import configure_logging
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store.database import alembic_config
from consentd.store.locks import AdvisoryLock
from consentd.store.tables import tenant_retention, tenants
from consentd.store.uow import SqlUnitOfWork
from consentd.telemetry import Telemetry
from tests.conftest import TEST_SECRET, TestClock, owner
from tests.integration.helpers import catalogue, email, ended_long_ago, grant
from tests.unit.test_logs import restore_logging  # noqa: F401 (a fixture)

T0 = datetime(2025, 3, 31, 8, 0, tzinfo=UTC)


async def choose(app: App, tenant: Tenant, method: ChoiceMethod) -> str:
    visitor_id = uuid4().hex
    command = RecordCookieChoice(visitor_id=visitor_id, method=method, policy_revision=1)
    await app.cookies.record_cookie_choice(Principal(tenant, "test"), command)
    return visitor_id


async def purge(app: App) -> PurgeReport:
    """The cookie purge of the test app (it has the owner's engine, which lists the tenants)."""
    assert app.cookie_purge is not None
    return await app.cookie_purge.run()


async def remaining(engine: AsyncEngine, tenant_id: UUID, before: datetime) -> int:
    async with SqlUnitOfWork(engine, tenant_id) as uow:
        query = sa.text(
            "SELECT count(*) FROM cookie_choices WHERE tenant_id = :t AND expires_at <= :b"
        )
        conn = uow._conn
        assert conn is not None
        count: int = (await conn.execute(query, {"t": tenant_id, "b": before})).scalar_one()
        return count


async def test_purge_deletes_expired_choices_only_and_keeps_counts(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """At 6 months + 1 s a refusal is purged, an acceptance kept; the counts keep the month and
    method; the run is logged with its totals; a visitor left with no choice and idle for 30
    days goes, one linked at login today stays."""
    clock.pinned = T0
    refusal = await choose(app, tenant, ChoiceMethod.REFUSE_ALL)
    kept = await choose(app, tenant, ChoiceMethod.ACCEPT_ALL)
    clock.pinned = datetime(2025, 9, 30, 8, 0, 1, tzinfo=UTC)
    report = await purge(app)
    mine = next(t for t in report.tenants if t.tenant_slug == tenant.slug)
    assert (mine.choices_deleted, mine.visitors_deleted) == (1, 1)
    principal = Principal(tenant, "test")
    assert (await app.cookies.get_cookie_choice(principal, refusal)).choice is None
    assert (await app.cookies.get_cookie_choice(principal, kept)).choice is not None
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        assert await uow.cookie_purge.counts() == {(date(2025, 3, 1), "refuse_all"): 1}
        runs = await uow.cookie_purge.runs()
    assert [(r["status"], r["choices_deleted"]) for r in runs] == [("finished", 1)]
    assert runs[0]["batches"] >= 2
    await app.cookies.link_visitor(
        principal, uuid4().hex, Identifier(IdentifierKind.EMAIL, "a@b.fr")
    )
    again = await purge(app)
    assert next(t for t in again.tenants if t.tenant_slug == tenant.slug).visitors_deleted == 0


async def test_a_shortened_period_counts_for_the_choices_made_before_it(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Probe DX: a tenant that shortened its periods (acceptance 6 months, refusal 3) still
    read a 12-month acceptance made the day before VALID seven months on, and a 6-month
    refusal VALID four months on; a period counts for every choice from the time it is put."""
    principal = Principal(tenant, "test")
    clock.pinned = T0
    accepted = await choose(app, tenant, ChoiceMethod.ACCEPT_ALL)
    refused = await choose(app, tenant, ChoiceMethod.REFUSE_ALL)
    shorter = replace(DEFAULT_POLICY, acceptance_validity_months=6, refusal_validity_months=3)
    await app.cookies.put_cookie_policy(principal, shorter)
    for visitor, months in ((accepted, 6), (refused, 3)):
        clock.pinned = add_months(T0, months) - timedelta(seconds=1)
        before = await app.cookies.get_cookie_choice(principal, visitor)
        clock.pinned = add_months(T0, months)
        after = await app.cookies.get_cookie_choice(principal, visitor)
        assert (before.status, after.status) == (ChoiceStatus.VALID, ChoiceStatus.EXPIRED)
        assert after.choice is not None
        assert after.choice.expires_at == add_months(T0, months)
        assert before.consent_mode["analytics_storage"] == ("granted" if months == 6 else "denied")
        assert after.consent_mode["analytics_storage"] == "denied"


async def test_purge_is_idempotent(app: App, tenant: Tenant, clock: TestClock) -> None:
    """A second run right after the first deletes nothing and leaves the counts as they were,
    but still writes its own run entry."""
    clock.pinned = T0
    for _ in range(3):
        await choose(app, tenant, ChoiceMethod.ACCEPT_ALL)
    clock.pinned = T0 + timedelta(days=400)
    first = await purge(app)
    second = await purge(app)
    slug = tenant.slug
    assert next(t for t in first.tenants if t.tenant_slug == slug).choices_deleted == 3
    assert next(t for t in second.tenants if t.tenant_slug == slug).choices_deleted == 0
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        assert await uow.cookie_purge.counts() == {(date(2025, 3, 1), "accept_all"): 3}
        # Same pinned start time: the order of the two entries is not defined.
        assert sorted(r["choices_deleted"] for r in await uow.cookie_purge.runs()) == [0, 3]


async def test_a_second_purge_while_one_holds_the_lock_does_nothing(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """While the retention lock is held elsewhere (a `consentd retention run`), the cookie purge
    reports skipped and deletes nothing."""
    clock.pinned = T0
    await choose(app, tenant, ChoiceMethod.REFUSE_ALL)
    clock.pinned = T0 + timedelta(days=400)
    async with AdvisoryLock(app.engine).hold(LOCK_NAME) as held:
        assert held
        report = await purge(app)
    assert report.skipped
    assert await remaining(app.engine, tenant.tenant_id, clock.pinned) == 1


async def test_two_purges_at_once_delete_each_choice_once(
    app: App, tenant: Tenant, clock: TestClock
) -> None:
    """Started together, one purge runs and the other is skipped; the counts add up exactly."""
    clock.pinned = T0
    for _ in range(5):
        await choose(app, tenant, ChoiceMethod.REFUSE_ALL)
    clock.pinned = T0 + timedelta(days=400)
    reports = await asyncio.gather(purge(app), purge(app))
    assert sorted(r.skipped for r in reports) == [False, True]
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        assert sum((await uow.cookie_purge.counts()).values()) == 5
        assert len(await uow.cookie_purge.runs()) == 1


# --- kill -9 mid-way, in a real process ---------------------------------------------------------

SEEDED, VALID_ROWS, BATCH = 12_000, 200, 20


@dataclass(frozen=True)
class PurgeDatabase:
    owner_url: str
    runtime_url: str
    tenant_id: UUID


@pytest.fixture
async def purge_database(postgres: EmbeddedPostgres, database_url: str) -> PurgeDatabase:
    """A database of its own (the purge spans every tenant), migrated, with one tenant holding
    SEEDED expired choices and VALID_ROWS valid ones; the runtime role (a cluster-wide role
    whose password the session set) reaches it too."""
    name = f"purge_{uuid4().hex[:12]}"
    await asyncio.to_thread(postgres.create_database, name)
    url = postgres.url(name)
    runtime_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    engine = create_async_engine(url)
    tenant_id = uuid4()
    now = datetime.now(UTC)
    old = now - timedelta(days=400)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                tenants.insert().values(
                    tenant_id=tenant_id,
                    slug="killed",
                    name="killed",
                    processing_role=ProcessingRole.PROCESSOR.value,
                    created_at=now,
                )
            )
        async with SqlUnitOfWork(engine, tenant_id) as uow:
            conn = uow._conn
            assert conn is not None
            await conn.execute(
                sa.text(
                    "INSERT INTO cookie_visitors SELECT :t, 'visitor-' || lpad(g::text, 12, '0'),"
                    " NULL, :old, :old FROM generate_series(1, :n) g"
                ),
                {"t": tenant_id, "old": old, "n": SEEDED + VALID_ROWS},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO cookie_choices (tenant_id, choice_id, visitor_id, method, granted,"
                    " refused, policy_revision, gpc, recorded_at, expires_at, page_url)"
                    " SELECT :t, gen_random_uuid(), 'visitor-' || lpad(g::text, 12, '0'),"
                    " CASE WHEN g % 2 = 0 THEN 'accept_all' ELSE 'refuse_all' END,"
                    " ARRAY['necessary'], ARRAY[]::text[], 1, false,"
                    " CASE WHEN g <= :n THEN CAST(:old AS timestamptz)"
                    " ELSE CAST(:now AS timestamptz) END,"
                    " CASE WHEN g <= :n THEN CAST(:expired AS timestamptz)"
                    " ELSE CAST(:valid AS timestamptz) END, ''"
                    " FROM generate_series(1, :total) g"
                ),
                {
                    "t": tenant_id,
                    "old": old,
                    "now": now,
                    "n": SEEDED,
                    "total": SEEDED + VALID_ROWS,
                    "expired": old + timedelta(days=180),
                    "valid": now + timedelta(days=30),
                },
            )
            await uow.commit()
    finally:
        await engine.dispose()
    return PurgeDatabase(url, runtime_url, tenant_id)


def _purge_process(database: PurgeDatabase) -> subprocess.Popen[str]:
    """`consentd purge` as deployed: the runtime role deletes, the owner lists the tenants."""
    env = {
        **os.environ,
        "DATABASE_URL": database.runtime_url,
        "CONSENTD_MIGRATION_DATABASE_URL": database.owner_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(derived_signing_key(TEST_SECRET)).decode(),
        "CONSENTD_MIGRATE_ON_START": "false",
    }
    argv = [sys.executable, "-m", "consentd", "purge", "--batch-size", str(BATCH)]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


async def _state(engine: AsyncEngine, tenant_id: UUID) -> tuple[int, int, list[sa.RowMapping]]:
    """(expired choices left, counts kept, runs)."""
    async with SqlUnitOfWork(engine, tenant_id) as uow:
        left = await remaining(engine, tenant_id, datetime.now(UTC))
        counted = sum((await uow.cookie_purge.counts()).values())
        return left, counted, await uow.cookie_purge.runs()


_BUSY_OTHERS = sa.text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle'"
)


async def _killed_sessions_gone(engine: AsyncEngine) -> None:
    """Until the killed process's sessions have ended: one sending COMMIT as it was killed
    still commits, and a count read across it saw a batch both left and counted (12,020 of
    12,000 on a busy machine)."""
    deadline = time.monotonic() + 30
    while True:
        async with engine.connect() as conn:
            if (await conn.execute(_BUSY_OTHERS)).scalar_one() == 0:
                return
        assert time.monotonic() < deadline, "the killed purge's session never ended"
        await asyncio.sleep(0.05)


async def test_purge_killed_mid_way_then_rerun_finishes_correctly(
    purge_database: PurgeDatabase,
) -> None:
    """kill -9 during the batches: every finished batch is whole (deleted = counted = logged);
    the rerun closes the killed run as interrupted, deletes the rest, touches no valid choice."""
    tenant_id = purge_database.tenant_id
    engine = create_async_engine(purge_database.owner_url)
    try:
        child = _purge_process(purge_database)
        try:
            deadline = time.monotonic() + 120
            while True:
                _, counted, _ = await _state(engine, tenant_id)
                if counted >= 10 * BATCH:
                    break
                assert child.poll() is None, "purge ended before it could be killed mid-way"
                assert time.monotonic() < deadline, "purge made no progress in 120 s"
                await asyncio.sleep(0.01)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.communicate()  # reaps it and closes its pipes
        assert child.returncode == -signal.SIGKILL
        await _killed_sessions_gone(engine)
        left, counted, runs = await _state(engine, tenant_id)
        assert 0 < counted < SEEDED, "killed too late to be mid-way"
        assert left + counted == SEEDED
        assert [(r["status"], r["choices_deleted"]) for r in runs] == [("running", counted)]

        rerun = await asyncio.to_thread(_purge_process(purge_database).communicate, timeout=300)
        assert "1 interrupted run(s) closed" in rerun[0], rerun
        left, counted, runs = await _state(engine, tenant_id)
        assert (left, counted) == (0, SEEDED)
        assert [r["status"] for r in runs] == ["interrupted", "finished"]
        assert sum(r["choices_deleted"] for r in runs) == SEEDED
        assert runs[1]["visitors_deleted"] == SEEDED  # left with no choice, idle for 400 days
        async with SqlUnitOfWork(engine, tenant_id) as uow:
            conn = uow._conn
            assert conn is not None
            total = (await conn.execute(sa.text("SELECT count(*) FROM cookie_choices"))).scalar()
        assert total == VALID_ROWS
    finally:
        await engine.dispose()


async def test_serve_schedules_the_purge(app: App, tenant: Tenant, clock: TestClock) -> None:
    """The task `consentd serve` starts purges on its interval until cancelled."""
    clock.pinned = T0
    await choose(app, tenant, ChoiceMethod.REFUSE_ALL)
    clock.pinned = T0 + timedelta(days=400)
    assert app.retention is not None
    task = asyncio.create_task(purge_periodically(app.retention, 0.05))
    try:
        deadline = time.monotonic() + 30
        while await remaining(app.engine, tenant.tenant_id, clock.pinned):
            assert time.monotonic() < deadline, "no scheduled purge ran in 30 s"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    async with SqlUnitOfWork(app.engine, tenant.tenant_id) as uow:
        assert (await uow.cookie_purge.runs())[0]["choices_deleted"] == 1


def test_without_the_owner_url_purge_explains_and_serve_does_not_schedule(
    database_url: str,
) -> None:
    """With only the runtime role's URL, `consentd purge` says to set the owner's URL (it lists
    the tenants), and `serve` runs but logs purge_not_scheduled."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(derived_signing_key(TEST_SECRET)).decode(),
        "CONSENTD_GRPC_ADDRESS": "127.0.0.1:0",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_LOG_FORMAT": "json",
    }
    env.pop("CONSENTD_MIGRATION_DATABASE_URL", None)
    purge = subprocess.run(
        [sys.executable, "-m", "consentd", "purge"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert purge.returncode == 2
    assert "CONSENTD_MIGRATION_DATABASE_URL" in purge.stderr
    child = subprocess.Popen(
        [sys.executable, "-m", "consentd", "serve"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stderr is not None
        events: list[str] = []
        deadline = time.monotonic() + 60
        while "purge_not_scheduled" not in events:
            line = child.stderr.readline()
            assert line, f"serve ended early after {events}"
            assert time.monotonic() < deadline, events
            if line.startswith("{"):
                events.append(json.loads(line)["event"])
        assert "serving" in events
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=30)
        assert child.returncode == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()


async def test_the_purge_reports_progress_after_each_tenant(app: App, tenant: Tenant) -> None:
    """`consentd purge` draws its bar from run(progress=...): told (done, total) after every
    tenant, ending at the number of tenants."""
    assert app.cookie_purge is not None
    told: list[tuple[int, int]] = []
    report = await app.cookie_purge.run(progress=lambda done, total: told.append((done, total)))
    assert not report.skipped
    total = len(report.tenants)
    assert told == [(n, total) for n in range(1, total + 1)]
    assert tenant.slug in {done.tenant_slug for done in report.tenants}


@pytest.mark.usefixtures("restore_logging")
async def test_the_scheduled_purge_goes_on_after_purging_a_tenant(
    app: App, tenant: Tenant, clock: TestClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first scheduled run that purged a tenant wrote its `purge` line keyed by SQLAlchemy's
    table names, which the JSON renderer refused: the task died, silently, and serve never
    purged again (probe R). Under the JSON log format, runs go on after one that purged a
    tenant, each with its line."""
    configure_logging("info", "json")
    structlog.configure(cache_logger_on_first_use=False)
    clock.pinned = None
    await catalogue(app, tenant)
    await grant(app, tenant, email("purged@example.fr"))
    await ended_long_ago(app, tenant, datetime.now(UTC) - timedelta(days=92))
    assert app.retention is not None
    capsys.readouterr()
    task = asyncio.create_task(purge_periodically(app.retention, 0.05))
    lines: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 60
        while sum(line.get("event") == "purge" for line in lines) < 3:
            assert not task.done(), task
            assert time.monotonic() < deadline, f"fewer than 3 purge runs in 60 s: {lines}"
            await asyncio.sleep(0.05)
            lines += [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.strip()]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not [line for line in lines if line.get("event") == "purge_failed"]
    purged = [line for line in lines if line.get("event") == "purge" and line["tenants"]]
    assert purged, lines
    deleted = purged[0]["deleted"]
    assert isinstance(deleted, dict)
    assert deleted["subjects"] == 1, deleted


async def test_a_job_clock_ahead_of_the_database_purges_nothing_and_says_so(
    app: App, admin: AdminUseCases, clock: TestClock
) -> None:
    """A job host two days ahead of PostgreSQL found a tenant due (its contract ended a month
    less a day ago), marked it purged, and had its rows refused by the database's guard (its
    own clock): the run ended there, and every tenant after it went without retention, run
    after run (probe P); a year ahead, the tenant stayed marked purged with its data all there
    (probe CD). A host over an hour ahead now fails every tenant saying so, marks nothing and
    deletes nothing; on a clock within the hour, the ended tenant is purged and the other kept
    until it is due in the database too."""
    tag = uuid4().hex[:8]
    first = await admin.create_tenant(f"skew-a-{tag}")
    second = await admin.create_tenant(f"skew-b-{tag}")
    now = datetime.now(UTC)
    month_less_a_day = now - timedelta(days=31)  # due in the database a day from now
    while add_months(month_less_a_day, 1) < now + timedelta(days=1):
        month_less_a_day += timedelta(minutes=10)
    for tenant, ended in ((first, month_less_a_day), (second, now - timedelta(days=62))):
        await catalogue(app, tenant)
        await grant(app, tenant, email("kept-until-purged@example.fr"))
        await ended_long_ago(app, tenant, ended)
    assert app.retention is not None
    clock.pinned = now + timedelta(days=2)  # due here, not in the database
    report = {t.tenant: t for t in (await app.retention.run()).tenants}
    for tenant in (first, second):
        assert report[tenant.slug].status == "failed", report[tenant.slug]
        assert "ahead of the database's" in report[tenant.slug].notes[0]
    async with owner(app).connect() as conn:
        marked = await conn.execute(
            sa.select(tenant_retention.c.purged_at).where(
                tenant_retention.c.tenant_id.in_([first.tenant_id, second.tenant_id])
            )
        )
        assert set(marked.scalars()) == {None}
    clock.pinned = now + timedelta(minutes=30)  # within the hour
    report = {t.tenant: t for t in (await app.retention.run()).tenants}
    assert report[first.slug].status == "kept", report[first.slug]
    assert report[second.slug].status == "purged", report[second.slug]
    clock.pinned = None


class _DiskFull:
    """A category whose purge meets a full disk (what PostgreSQL raises: SQLSTATE 53100)."""

    async def purge(self, tenant: Tenant, cutoff: datetime | None, dry_run: bool) -> int:
        raise asyncpg.DiskFullError('could not extend file "base/16384/16816"')


async def test_a_tenant_that_met_the_databases_state_is_said_as_such(
    app: App, admin: AdminUseCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant's run that met a full disk was reported and logged at error level with
    SQLAlchemy's whole text, as a defect (probe HA); the run-level path said the database's
    state. Now the tenant's note and its warning name the SQLSTATE."""
    tenant = await admin.create_tenant(f"disk-full-{uuid4().hex[:8]}")
    assert app.retention is not None
    monkeypatch.setitem(app.retention._purgers, Category.RECORDINGS, _DiskFull())
    report = await app.retention.run()
    (mine,) = (t for t in report.tenants if t.tenant == tenant.slug)
    assert (mine.status, mine.database, mine.notes) == ("failed", "53100", ["database: 53100"])
    with capture_logs() as logs:
        assert scheduled._said(report, Telemetry())
    said = [line for line in logs if line.get("tenant") == tenant.slug]
    assert said == [
        {
            "event": "purge_failed",
            "log_level": "warning",
            "tenant": tenant.slug,
            "database": "53100",
        }
    ]
