"""The retention job: delete cookie choices past their expiry, keep only aggregate counts.

A run takes the purge lock (a second run at the same time does nothing and says so) and reads
the list of tenants (the owner's lookup: row-level security shows the runtime role only the
tenant it is in). Then for each tenant, in that tenant's own units of work (runtime role, RLS
on): marks runs a killed purge left `running` as interrupted, logs a new run, deletes expired
choices in batches — each batch one transaction that deletes, adds the counts per month and
method, and adds to the run's totals — then deletes visitors left with no choice, and marks the
run finished. A run killed mid-way leaves every finished batch consistent; the next run finishes
the work. Running it again with nothing expired deletes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID, uuid4

from consentd.app.ports import Clock, TenantList, TryLock, UnitOfWorkFactory

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
    """What one `consentd purge` did; `skipped` when another purge held the lock."""

    skipped: bool
    tenants: list[TenantPurge] = field(default_factory=list)

    @property
    def choices_deleted(self) -> int:
        return sum(t.choices_deleted for t in self.tenants)

    @property
    def visitors_deleted(self) -> int:
        return sum(t.visitors_deleted for t in self.tenants)


class RetentionUseCases:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        tenants: TenantList,
        lock: TryLock,
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

    async def purge(self) -> PurgeReport:
        """Purge every tenant; PurgeReport(skipped=True) when another purge is running."""
        async with self._lock() as acquired:
            if not acquired:
                return PurgeReport(skipped=True)
            done = []
            for tenant in await self._tenants.tenants():
                done.append(await self._purge_tenant(tenant.tenant_id, tenant.slug))
            return PurgeReport(skipped=False, tenants=done)

    async def _purge_tenant(self, tenant_id: UUID, slug: str) -> TenantPurge:
        run_id, cutoff = uuid4(), self._clock()
        async with self._uow(tenant_id) as uow:
            interrupted = await uow.retention.interrupt_running(cutoff)
            await uow.retention.start_run(run_id, cutoff)
            await uow.commit()
        choices = visitors = 0
        while True:
            async with self._uow(tenant_id) as uow:
                counts = await uow.retention.delete_expired_choices(cutoff, self._batch)
                await uow.retention.add_counts(counts)
                deleted = sum(counts.values())
                await uow.retention.record_progress(run_id, deleted, 0)
                await uow.commit()
            choices += deleted
            if deleted < self._batch:
                break
        while True:
            async with self._uow(tenant_id) as uow:
                gone = await uow.retention.delete_idle_visitors(cutoff - VISITOR_IDLE, self._batch)
                await uow.retention.record_progress(run_id, 0, gone)
                await uow.commit()
            visitors += gone
            if gone < self._batch:
                break
        async with self._uow(tenant_id) as uow:
            await uow.retention.finish_run(run_id, self._clock())
            await uow.commit()
        return TenantPurge(slug, run_id, choices, visitors, interrupted)
