"""The database side of the composition root: the runtime role's engine and pools, the audit
sequencer, the owner's engine, and the unit-of-work factories the use cases are given."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.app.changes import ChangeHub
from consentd.app.idempotency import Once
from consentd.app.ports import Clock
from consentd.config import Settings
from consentd.domain.audit_signer import CheckpointSigner
from consentd.jobs.sequencer import PARALLEL, Sequencer
from consentd.store.admin import SqlAdmin
from consentd.store.connections import create_engine
from consentd.store.database import outage_of, pool_usage, shortage_of, sqlstate_of
from consentd.store.reads import ReadPool, ReadUnitOfWork
from consentd.store.sequencer import SqlSequencer
from consentd.store.uow import SqlUnitOfWork
from consentd.telemetry import Metrics


@dataclass(frozen=True, slots=True)
class Store:
    """One process's connections to PostgreSQL, and the units of work over them. All but the
    owner's run as the runtime role: row-level security applies."""

    engine: AsyncEngine  # the writes
    signer: CheckpointSigner
    checkpoint_every: int
    sequencer: Sequencer
    read_pool: ReadPool
    bulk_pool: ReadPool
    owner_engine: AsyncEngine | None = None
    # The owner's: tenants and credentials, and the tenant list the jobs span.
    admin: SqlAdmin | None = None

    def unit_of_work(self, tenant_id: UUID, once: Once | None = None, /) -> SqlUnitOfWork:
        """A tenant's writes; the audit entries they queue wake the sequencer. `once`: the
        write's idempotency key (app/idempotency.py)."""
        return SqlUnitOfWork(
            self.engine,
            tenant_id,
            self.signer,
            self.checkpoint_every,
            signal=self.sequencer,
            once=once,
        )

    def purging(self, tenant_id: UUID) -> SqlUnitOfWork:
        """The retention job's: it works on the tenants it marked purged (0011's guard); what it
        queues for the audit log wakes the sequencer like any write."""
        return SqlUnitOfWork(
            self.engine,
            tenant_id,
            self.signer,
            self.checkpoint_every,
            guarded=False,
            signal=self.sequencer,
        )

    def snapshot(self, tenant_id: UUID) -> SqlUnitOfWork:
        """Verification reads: a purged tenant's remaining chain still verifies."""
        return SqlUnitOfWork(
            self.engine,
            tenant_id,
            self.signer,
            self.checkpoint_every,
            snapshot=True,
            guarded=False,
        )

    def reads(self, tenant_id: UUID) -> ReadUnitOfWork:
        """The hot reads (checks, streams, the feed), on the read pool."""
        return ReadUnitOfWork(self.read_pool, tenant_id)

    def bulk_reads(self, tenant_id: UUID) -> ReadUnitOfWork:
        """Bulk work (recipient lists, the feed, suppression exports), on the bulk pool."""
        return ReadUnitOfWork(self.bulk_pool, tenant_id)

    def watch_pools(self, metrics: Metrics) -> None:
        """Report every pool's usage in the metrics (consentd_db_pool_*)."""
        metrics.watch_pool("writes", lambda: pool_usage(self.engine))
        metrics.watch_pool("reads", self.read_pool.usage)
        metrics.watch_pool("bulk", self.bulk_pool.usage)
        owner_engine = self.owner_engine
        if owner_engine is not None:
            metrics.watch_pool("owner", lambda: pool_usage(owner_engine))


def connections_per_process(settings: Settings) -> int:
    """The most connections one server process opens: what build_store() below makes (the writers'
    engine and the sequencer's keep twice the size given), the owner's engine and the health
    probe's connection."""
    sequencing = 2 * ((PARALLEL + 1) // 2)
    return 3 * settings.db_pool_size + sequencing + settings.bulk_concurrency + 2 * 2 + 1


def build_store(
    settings: Settings,
    database_url: str,
    *,
    owner_url: str | None,
    signer: CheckpointSigner,
    clock: Clock,
    hub: ChangeHub,
) -> Store:
    """Engines and pools on `database_url` (the runtime role's) and, when given, `owner_url`;
    nothing connects until first used. The sequencer chains what writers queue into the audit
    log and the feed, then wakes the feed's watchers (`hub`)."""
    ceiling = settings.db_timeout_seconds
    every = settings.audit_checkpoint_every
    engine = create_engine(database_url, settings.db_pool_size, ceiling)
    # The sequencer has connections of its own: on the writers' pool it would queue behind them
    # under load and the log would fall behind the writes. One per pass it runs at once
    # (create_engine keeps twice the size given).
    sequencing = create_engine(database_url, (PARALLEL + 1) // 2)
    sequencer = Sequencer(
        SqlSequencer(sequencing, signer, every), clock, hub, transient=_unavailable
    )
    # The hot reads run as the same runtime role, under the same row-level security, on a small
    # asyncpg pool of their own.
    read_pool = ReadPool(database_url, settings.db_pool_size, ceiling)
    # Bulk reads have a pool of their own, CONSENTD_BULK_CONCURRENCY connections: 500 open
    # streams queue for those, never for the connections single checks need.
    bulk_pool = ReadPool(database_url, settings.bulk_concurrency, ceiling, "consentd-bulk")
    owner_engine = create_engine(owner_url, 2, ceiling) if owner_url else None
    return Store(
        engine=engine,
        signer=signer,
        checkpoint_every=every,
        sequencer=sequencer,
        read_pool=read_pool,
        bulk_pool=bulk_pool,
        owner_engine=owner_engine,
        admin=SqlAdmin(owner_engine, signer, every) if owner_engine else None,
    )


def _unavailable(error: BaseException) -> bool:
    """The database's unavailability (store/database.outage_of), not a defect."""
    return outage_of(error) is not None


def database_state(error: BaseException) -> str | None:
    """The SQLSTATE (or the error's kind) when `error` is the database's state: unavailable, or
    short of a resource (store/database.py); None for anything else (a defect)."""
    if outage_of(error) is None and shortage_of(error) is None:
        return None
    return sqlstate_of(error) or type(error).__name__
