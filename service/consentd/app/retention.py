"""The retention job: per-category limits enforced tenant by tenant, idempotent and restartable.

One run holds an advisory lock (a second run at the same time does nothing), then for each
tenant, in units of work of one tenant each:

1. a tenant whose contract ended at least a month ago, without a legal hold, loses all its data,
   table by table in batches (each batch its own transaction: a run killed mid-way is simply run
   again); its audit chain is signed at the head, pruned through that checkpoint, and ends with one
   `retention.purged` entry, so what remains still verifies;
2. otherwise the audit log keeps 12 months: whole segments up to a signed checkpoint older than
   that go (verification then starts from the oldest kept checkpoint), and the head is signed;
3. categories stored by other parts are handed their cut-off through registered purgers: cookie
   choices (app/cookie_purge.py, each choice's own expiry), recordings (no store here: a hook),
   subjects nobody heard from in the tenant's inactive_subject_months (app/inactive_subjects.py);
4. the answers idempotent writes stored for replay go once their key expired (24 h), legal hold
   or not: a replay cache, not a record (the events and the audit chain are).

The tenant list is the owner's to read (row-level security shows the runtime role one tenant);
every tenant's work runs as the runtime role in units of work of that tenant. What the runtime
role may not delete itself (consent events, old audit segments, a purged tenant's rows) goes
through SECURITY DEFINER functions that check the tenant, the contract and the legal hold.

A dry run reports what would go and changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

from consentd.app.ports import Clock, JobUnitOfWorkFactory, TenantList
from consentd.app.request_log import open_requests_note
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.retention import (
    CLOCK_MARGIN,
    Category,
    TenantRetention,
    cutoff,
    refuse_clock_ahead,
    tenant_purge_due,
)
from consentd.domain.tenancy import Tenant

log = structlog.get_logger("consentd.retention")
LOCK_NAME = "consentd.retention"
AUDIT_ENTRIES = "audit_entries"
REPLAYS = "idempotency_keys"
FAILED = "failed"
PURGED_CATEGORIES = (Category.COOKIE_CHOICES, Category.RECORDINGS, Category.INACTIVE_SUBJECTS)


class CategoryPurger(Protocol):
    """Deletes one category's rows of a tenant older than `cutoff` (or counts them)."""

    async def purge(self, tenant: Tenant, cutoff: datetime | None, dry_run: bool) -> int: ...


class JobLock(Protocol):
    def hold(self, name: str) -> contextlib.AbstractAsyncContextManager[bool]:
        """True inside the block when this process got the lock, False when another has it."""
        ...


@dataclass
class TenantReport:
    tenant: str
    # kept (nothing due), held (legal hold), purged (this run), already_purged, failed
    status: str
    deleted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # A failure that was the database's state (its SQLSTATE), not a defect: said as such.
    database: str = ""

    def add(self, what: str, count: int) -> None:
        if count:
            self.deleted[what] = self.deleted.get(what, 0) + count


@dataclass
class RetentionReport:
    dry_run: bool
    ran_at: datetime
    locked_out: bool = False
    tenants: list[TenantReport] = field(default_factory=list)


class RetentionJob:
    def __init__(
        self,
        uow: JobUnitOfWorkFactory,
        tenants: TenantList,
        signer: CheckpointSigner,
        clock: Clock,
        lock: JobLock,
        *,
        purgers: Mapping[Category, CategoryPurger] | None = None,
        database_state: Callable[[BaseException], str | None] = lambda _: None,
    ) -> None:
        self._uow = uow
        self._tenants = tenants
        self._signer = signer
        self._clock = clock
        self._lock = lock
        self._purgers = dict(purgers or {})
        self._database_state = database_state

    async def run(
        self,
        *,
        dry_run: bool = False,
        batch_size: int = 500,
        pause: float = 0.0,
        progress: Callable[[int, int], None] | None = None,
    ) -> RetentionReport:
        """Apply (or, dry, report) every tenant's retention. `pause` seconds between batches
        spread the load of a large purge. `progress(done, total)` is told after each tenant."""
        report = RetentionReport(dry_run, self._clock())
        async with self._lock.hold(LOCK_NAME) as acquired:
            if not acquired:
                report.locked_out = True
                return report
            tenants = await self._tenants.tenants()
            for done, tenant in enumerate(tenants, 1):
                report.tenants.append(await self._guarded(tenant, dry_run, batch_size, pause))
                if progress is not None:
                    progress(done, len(tenants))
        return report

    async def _guarded(
        self, tenant: Tenant, dry_run: bool, batch_size: int, pause: float
    ) -> TenantReport:
        """One tenant's retention; a failure is that tenant's (status `failed`, the error in its
        notes), and the tenants after it still get theirs: one tenant refused by the database
        ended the run, and every tenant after it went without retention (probe P)."""
        try:
            return await self._tenant(tenant, dry_run, batch_size, pause)
        except Exception as error:  # noqa: BLE001 - reported; the next run tries again
            if state := self._database_state(error):  # a full disk read as a defect (probe HA)
                return TenantReport(
                    tenant.slug, FAILED, notes=[f"database: {state}"], database=state
                )
            return TenantReport(tenant.slug, FAILED, notes=[f"{type(error).__name__}: {error}"])

    async def _tenant(
        self, tenant: Tenant, dry_run: bool, batch_size: int, pause: float
    ) -> TenantReport:
        now = self._clock()
        async with self._uow(tenant.tenant_id) as uow:
            settings = await uow.retention.settings()
            refuse_clock_ahead(now, await uow.retention.database_now())
        if settings.purged_at is not None:
            # Anything a write slipped in before an older version marked the tenant, or a run
            # killed midway left: purged again (nothing new can be written since the mark).
            return await self._purge_tenant(tenant, dry_run, batch_size, pause, "already_purged")
        # The database's guard (consentd_purge_tenant_rows) reads its own clock: a job host
        # ahead of it marked the tenant purged, then had its rows refused (probe P).
        if tenant_purge_due(settings, now - CLOCK_MARGIN):
            return await self._purge_tenant(tenant, dry_run, batch_size, pause)
        report = TenantReport(tenant.slug, "held" if settings.legal_hold else "kept")
        if settings.legal_hold:
            report.notes.append(f"legal hold: {settings.legal_hold_reason}")
        await self._prune_audit(tenant, settings, dry_run, report)
        for category in PURGED_CATEGORIES:
            limit = cutoff(category, settings, now)
            purger = self._purgers.get(category)
            if purger is None:
                report.notes.append(f"{category.value}: consentd stores none (nothing to delete)")
            else:
                report.add(category.value, await purger.purge(tenant, limit, dry_run))
        report.add(REPLAYS, await self._sweep_replays(tenant, dry_run, batch_size))
        return report

    async def _sweep_replays(self, tenant: Tenant, dry_run: bool, batch_size: int) -> int:
        """Delete (or, dry, count) the stored answers of idempotent writes whose key expired."""
        now = self._clock()
        if dry_run:
            async with self._uow(tenant.tenant_id) as uow:
                return await uow.retention.count_expired_replays(now)
        total = 0
        while True:
            async with self._uow(tenant.tenant_id) as uow:
                count = await uow.retention.delete_expired_replays(now, batch_size)
                await uow.commit()
            total += count
            if count < batch_size:
                return total

    async def _prune_audit(
        self, tenant: Tenant, settings: TenantRetention, dry_run: bool, report: TenantReport
    ) -> None:
        """Drop whole segments up to signed checkpoints older than the log limit."""
        if not dry_run:
            async with self._uow(tenant.tenant_id) as uow:
                await uow.audit.checkpoint_head(self._signer, self._clock())
                await uow.commit()
        limit = cutoff(Category.USAGE_LOGS, settings, self._clock())
        if limit is None:
            return
        # The database's guard (consentd_prune_audit) reads its own clock: a job host a little
        # ahead of it had a segment at the boundary refused and the whole run failed.
        limit -= CLOCK_MARGIN
        while True:
            async with self._uow(tenant.tenant_id) as uow:
                if dry_run:  # the head signed as the run signs it, never committed (probe IK:
                    # the dry run counted 70 entries, the run pruned 90)
                    await uow.audit.checkpoint_head(self._signer, self._clock())
                due = await uow.audit.prunable(limit)
                if not due:
                    return
                if dry_run:
                    report.add(AUDIT_ENTRIES, await uow.audit.count_through(max(due)))
                    return
                through = min(due)
                carried = await uow.audit.carry_forward(through, self._clock())
                count = await uow.audit.prune_through(through)
                payload = {"through_seq": through, "entries": count, "carried": carried}
                uow.audit.record(AuditRecord(Action.AUDIT_PRUNED, self._clock(), payload))
                await uow.commit()
            report.add(AUDIT_ENTRIES, count)

    async def _purge_tenant(
        self, tenant: Tenant, dry_run: bool, batch_size: int, pause: float, status: str = "purged"
    ) -> TenantReport:
        """Mark the tenant purged first (every unit of work of the tenant is refused from
        then on: migration 0011), then delete its rows in batches and close its audit chain."""
        report = TenantReport(tenant.slug, status)
        async with self._uow(tenant.tenant_id) as uow:
            if (note := await open_requests_note(uow, self._clock(), tenant.slug)) is not None:
                report.notes.append(note)
        if not dry_run:
            async with self._uow(tenant.tenant_id) as uow:
                await uow.retention.mark_purged(self._clock())
                await uow.commit()
        purger = self._purgers.get(Category.TENANT_DATA)
        if purger is not None:
            report.add("other", await purger.purge(tenant, None, dry_run))
        async with self._uow(tenant.tenant_id) as uow:
            tables = uow.retention.purge_order()
            if dry_run:
                for name in tables:
                    report.add(name, await uow.retention.count(name))
                head = await uow.audit.head()
                if head is not None:
                    report.add(AUDIT_ENTRIES, await uow.audit.count_through(head.last_seq))
                return report
        for name in tables:
            while True:
                async with self._uow(tenant.tenant_id) as uow:
                    count = await uow.retention.purge_batch(name, batch_size)
                    await uow.commit()
                report.add(name, count)
                if count < batch_size:
                    break
                if pause:
                    await asyncio.sleep(pause)
        if status == "purged" or any(report.deleted.values()):
            # This run deleted what was left (a killed run's rest, a write slipped in): it is
            # the run that purged the tenant, and closes the chain.
            report.status = "purged"
            await self._close_chain(tenant, report)
        return report

    async def _close_chain(self, tenant: Tenant, report: TenantReport) -> None:
        """Sign the head, prune the chain through it, record the purge, mark the tenant."""
        now = self._clock()
        async with self._uow(tenant.tenant_id) as uow:
            checkpoint = await uow.audit.checkpoint_head(self._signer, now)
            head = await uow.audit.head()
            if checkpoint is not None and head is not None and head.pruned_through < checkpoint.seq:
                report.add(AUDIT_ENTRIES, await uow.audit.prune_through(checkpoint.seq))
            payload = {"deleted": dict(report.deleted)}
            uow.audit.record(AuditRecord(Action.RETENTION_PURGED, now, payload))
            await uow.retention.mark_purged(now)
            await uow.commit()
