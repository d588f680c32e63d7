"""The cookie-choice category of retention: delete choices past their expiry, keep only counts.

Each choice carries the expiry the cookie rules gave it when it was recorded (12 calendar months
at most, a CHECK in the schema), so the cut-off is the choice's own `expires_at`, not a fixed age.
`CookiePurge` is the retention job's `CategoryPurger` for `Category.COOKIE_CHOICES` (it runs under
the job's lock, inside `consentd retention run` and the schedule of `consentd serve`); `run()` is
the same work for the cookie category alone (`consentd purge`), under the same lock.

Per tenant, in that tenant's own units of work (runtime role, RLS on): runs a killed purge left
`running` are marked interrupted, a new run is logged in `purge_runs`, expired choices go in
batches — each batch one transaction that deletes, adds the counts per month and method, and adds
to the run's totals — then visitors left with no choice, and the run is marked finished in the
same transaction as its `cookies.purged` audit entry (only for a run that deleted something or
closed an interrupted run: a daily run with nothing to do leaves the chain alone). `purge_runs`
stays: it tracks a run while it is in flight (an append-only chain cannot say "still running");
the audit entry is the proof. A
run killed mid-way leaves every finished batch consistent; the next run finishes the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from consentd.app.ports import Clock, JobUnitOfWorkFactory, TenantList
from consentd.app.retention import LOCK_NAME, JobLock
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.canonical import stamp
from consentd.domain.tenancy import Tenant

DEFAULT_BATCH_SIZE = 1000
# A visitor with no choice left is kept this long after it was last seen (a visitor linked to a
# subject at login but who has not chosen yet keeps its link meanwhile).
VISITOR_IDLE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TenantPurge:
    tenant_slug: str
    run_id: UUID
    choices_deleted: int
    visitors_deleted: int
    interrupted_runs: int


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one `consentd purge` did; `skipped` when another run held the retention lock."""

    skipped: bool
    tenants: list[TenantPurge] = field(default_factory=list)

    @property
    def choices_deleted(self) -> int:
        return sum(t.choices_deleted for t in self.tenants)

    @property
    def visitors_deleted(self) -> int:
        return sum(t.visitors_deleted for t in self.tenants)


class CookiePurge:
    def __init__(
        self,
        uow: JobUnitOfWorkFactory,
        tenants: TenantList,
        lock: JobLock,
        clock: Clock,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._uow = uow
        self._tenants = tenants
        self._lock = lock
        self._clock = clock
        self._batch = batch_size

    async def run(self, progress: Callable[[int, int], None] | None = None) -> PurgeReport:
        """Purge every tenant's expired choices; skipped when a retention run holds the lock.
        `progress(done, total)` is told after each tenant (the CLI's progress bar)."""
        async with self._lock.hold(LOCK_NAME) as acquired:
            if not acquired:
                return PurgeReport(skipped=True)
            done = []
            tenants = await self._tenants.tenants()
            for tenant in tenants:
                done.append(await self.purge_tenant(tenant))
                if progress is not None:
                    progress(len(done), len(tenants))
            return PurgeReport(skipped=False, tenants=done)

    async def purge(self, tenant: Tenant, cutoff: datetime | None, dry_run: bool) -> int:
        """The CategoryPurger of the retention job (which holds the lock). `cutoff` None (a legal
        hold) keeps everything; otherwise each choice's own expiry decides. A tenant with no expired
        choice is left alone (its idle visitors wait for a run that has choices to delete, or for
        `consentd purge`)."""
        if cutoff is None:
            return 0
        async with self._uow(tenant.tenant_id) as uow:
            expired = await uow.cookie_purge.count_expired(self._clock())
        if dry_run or not expired:
            return expired  # nothing expired: no run logged, no audit entry (daily runs stay quiet)
        return (await self.purge_tenant(tenant)).choices_deleted

    async def purge_tenant(self, tenant: Tenant) -> TenantPurge:
        """One tenant's run (the caller holds the retention lock)."""
        tenant_id = tenant.tenant_id
        run_id, cutoff = uuid4(), self._clock()
        async with self._uow(tenant_id) as uow:
            interrupted = await uow.cookie_purge.interrupt_running(cutoff)
            await uow.cookie_purge.start_run(run_id, cutoff)
            await uow.commit()
        choices = visitors = 0
        while True:
            async with self._uow(tenant_id) as uow:
                counts = await uow.cookie_purge.delete_expired_choices(cutoff, self._batch)
                await uow.cookie_purge.add_counts(counts)
                deleted = sum(counts.values())
                await uow.cookie_purge.record_progress(run_id, deleted, 0)
                await uow.commit()
            choices += deleted
            if deleted < self._batch:
                break
        while True:
            async with self._uow(tenant_id) as uow:
                gone = await uow.cookie_purge.delete_idle_visitors(
                    cutoff - VISITOR_IDLE, self._batch
                )
                await uow.cookie_purge.record_progress(run_id, 0, gone)
                await uow.commit()
            visitors += gone
            if gone < self._batch:
                break
        async with self._uow(tenant_id) as uow:
            now = self._clock()
            await uow.cookie_purge.finish_run(run_id, now)
            if choices or visitors or interrupted:  # a run that changed nothing proves nothing
                payload = {
                    "run_id": str(run_id),
                    "cutoff": stamp(cutoff),
                    "choices_deleted": choices,
                    "visitors_deleted": visitors,
                    "interrupted_runs": interrupted,
                }
                uow.audit.record(AuditRecord(Action.COOKIES_PURGED, now, payload))
            await uow.commit()
        return TenantPurge(tenant.slug, run_id, choices, visitors, interrupted)
