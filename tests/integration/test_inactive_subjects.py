"""Subjects nobody heard from in the tenant's `inactive_subject_months` are erased by the
retention job (migration 0054, app/inactive_subjects.py): the prospect silent for 14 months and
the one who objected then go (their address stays DENY `erased`); whoever was heard from since,
has a request open or a restriction in force stays; a tenant without the setting, or under a
legal hold, keeps everyone; the log still verifies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from consentd.app.admin import AdminUseCases
from consentd.app.commands import CheckConsent
from consentd.app.cookie_choices import RecordCookieChoice
from consentd.bootstrap import App
from consentd.domain.cookie_policy import DEFAULT_POLICY
from consentd.domain.cookies import ChoiceMethod
from consentd.domain.model import Decision, Reason
from consentd.domain.retention import Category, TenantRetention, cutoff
from consentd.domain.rights import RequestKind
from consentd.domain.tenancy import Tenant
from tests.conftest import TestClock
from tests.integration.helpers import NEWSLETTER, catalogue, email, grant, principal

GONE = ("silent", "objector")
KEPT = ("recent", "requester", "restricted", "cookie", "signed-in")


async def _people(app: App, tenant: Tenant, clock: TestClock) -> None:
    """Everyone granted 14 months ago; some were heard from since, or are kept for a reason."""
    who = principal(tenant)
    now = datetime.now(UTC)
    clock.pinned = now - timedelta(days=430)
    await catalogue(app, tenant)
    await app.cookies.put_cookie_policy(who, DEFAULT_POLICY)
    for name in (*GONE, *KEPT):
        await grant(app, tenant, email(f"{name}@example.fr"))
    await app.rights.object(who, email("objector@example.fr"))
    await app.rights.restrict(who, email("restricted@example.fr"))
    await app.requests.submit(who, RequestKind.ACCESS, email("requester@example.fr"), None)
    # An old choice, its visitor linked to the person at a recent sign-in (probe HE: the link
    # did not count, and the person was erased that night).
    old_visitor = f"visitor-{uuid4().hex[:12]}"
    await app.cookies.record_cookie_choice(
        who, RecordCookieChoice(old_visitor, ChoiceMethod.ACCEPT_ALL, 1)
    )
    clock.pinned = now - timedelta(days=60)
    await app.cookies.link_visitor(who, old_visitor, email("signed-in@example.fr"))
    await grant(app, tenant, email("recent@example.fr"))
    visitor = f"visitor-{uuid4().hex[:12]}"
    await app.cookies.record_cookie_choice(
        who, RecordCookieChoice(visitor, ChoiceMethod.ACCEPT_ALL, 1)
    )
    await app.cookies.link_visitor(who, visitor, email("cookie@example.fr"))
    clock.pinned = None


async def _decision(app: App, tenant: Tenant, name: str) -> tuple[Decision, Reason]:
    check = CheckConsent(email(f"{name}@example.fr"), NEWSLETTER)
    verdict = (await app.consents.check_consent(principal(tenant), check)).verdict
    return verdict.decision, verdict.reason


async def test_the_job_erases_whom_nobody_heard_from(
    app: App, admin: AdminUseCases, clock: TestClock
) -> None:
    tag = uuid4().hex[:8]
    tenants = {}
    for kind in ("limit", "none", "held"):
        tenants[kind] = await admin.create_tenant(f"inactive-{kind}-{tag}")
        await _people(app, tenants[kind], clock)
    await app.retention_settings.put(tenants["limit"], TenantRetention(inactive_subject_months=12))
    held = TenantRetention(inactive_subject_months=12, legal_hold=True, legal_hold_reason="litige")
    await app.retention_settings.put(tenants["held"], held)
    assert app.retention is not None
    dry = {t.tenant: t for t in (await app.retention.run(dry_run=True)).tenants}
    assert dry[tenants["limit"].slug].deleted.get("inactive_subjects") == len(GONE)
    assert await _decision(app, tenants["limit"], "silent") == (Decision.ALLOW, Reason.GRANTED)
    report = {t.tenant: t for t in (await app.retention.run()).tenants}
    assert report[tenants["limit"].slug].deleted.get("inactive_subjects") == len(GONE)
    for kind in ("none", "held"):
        assert "inactive_subjects" not in report[tenants[kind].slug].deleted, kind
    for name in GONE:
        assert await _decision(app, tenants["limit"], name) == (Decision.DENY, Reason.ERASED)
        for kind in ("none", "held"):
            assert (await _decision(app, tenants[kind], name))[1] is not Reason.ERASED, (kind, name)
    for name in KEPT:
        assert (await _decision(app, tenants["limit"], name))[1] is not Reason.ERASED, name
    again = {t.tenant: t for t in (await app.retention.run()).tenants}
    assert "inactive_subjects" not in again[tenants["limit"].slug].deleted
    for tenant in tenants.values():
        await app.sequencer.drain(tenant.tenant_id)
        assert (await app.audit.verify(tenant)).ok


async def test_a_legal_hold_set_during_a_run_stops_its_erasures(
    app: App, admin: AdminUseCases, clock: TestClock
) -> None:
    """Probe HE: the run read the settings once; a legal hold put while it ran stopped nothing
    (2,781 people erased after it, their data keys destroyed). Each erasure reads them again
    under a share lock: the run that began before the hold erases nobody after it."""
    tenant = await admin.create_tenant(f"inactive-hold-{uuid4().hex[:8]}")
    await _people(app, tenant, clock)
    await app.retention_settings.put(tenant, TenantRetention(inactive_subject_months=12))
    began = datetime.now(UTC)
    limit = cutoff(Category.INACTIVE_SUBJECTS, await app.retention_settings.get(tenant), began)
    held = TenantRetention(inactive_subject_months=12, legal_hold=True, legal_hold_reason="litige")
    await app.retention_settings.put(tenant, held)
    assert app.retention is not None
    inactive = app.retention._purgers[Category.INACTIVE_SUBJECTS]
    assert await inactive.purge(tenant, limit, False) == 0
    for name in GONE:
        assert (await _decision(app, tenant, name))[1] is not Reason.ERASED, name
    await app.retention_settings.put(tenant, TenantRetention(inactive_subject_months=12))
    assert await inactive.purge(tenant, limit, False) == len(GONE)


async def test_a_put_without_the_months_never_puts_back_a_stale_value(
    app: App, admin: AdminUseCases
) -> None:
    """Probe HK: a put without inactive_subject_months read the settings unlocked and put the
    months it had read back; racing a put of 0 (the DPO turning erasures off), it turned them
    on again in 3 rounds of 10, every put answered OK. The read is locked until the put ends."""
    tenant = await admin.create_tenant(f"inactive-race-{uuid4().hex[:8]}")
    for _ in range(8):
        await app.retention_settings.put(tenant, TenantRetention(inactive_subject_months=12))
        others = [
            TenantRetention(storage_extension=bool(i % 2), inactive_subject_months=None)
            for i in range(6)
        ]
        puts = [TenantRetention(inactive_subject_months=0), *others]
        await asyncio.gather(*(app.retention_settings.put(tenant, p) for p in puts))
        assert (await app.retention_settings.get(tenant)).inactive_subject_months == 0
