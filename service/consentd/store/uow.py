"""The unit of work: one connection, one transaction, one tenant at a time (a write batch's two
statements move it through several tenants, store/write_batch.py); the use case that opens it
commits it. A write under an idempotency key claims the key in this transaction and stores its
answer before the commit (app/idempotency.py)."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import Context, copy_context
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as UUID_TYPE
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.app.idempotency import NO_ANSWER, Once
from consentd.app.ports import ChangeSignal, PartQuery, PartRead, PartWrite
from consentd.domain.audit_signer import CheckpointSigner
from consentd.domain.model import ConsentEvent
from consentd.store.audit import SqlAudit
from consentd.store.breach import SqlBreach
from consentd.store.campaign import SqlCampaign
from consentd.store.catalog import SqlCatalog
from consentd.store.confirmations import SqlConfirmations
from consentd.store.connections import discard, discards_connection
from consentd.store.consents import SqlConsents
from consentd.store.cookie_purge import SqlCookiePurge
from consentd.store.cookies import SqlCookies
from consentd.store.deadlines import clear_call_deadline, remaining_milliseconds
from consentd.store.driver import Driver, driver_of
from consentd.store.idempotency import SqlIdempotency
from consentd.store.requests import SqlRequests
from consentd.store.retention import SqlRetention
from consentd.store.rights import SqlRights
from consentd.store.subjects import SqlSubjects
from consentd.store.write_batch import read_parts, write_parts

# Set per transaction (is_local = true), so a pooled connection never carries a tenant into the
# next request. Row-level security policies read it.
SET_TENANT = sa.select(sa.func.set_config("consentd.tenant_id", sa.bindparam("tenant"), True))
# The call's remaining deadline as this transaction's statement and lock timeouts (the
# connection's own are the configured ceiling): a caller gone is a wait ended.
_BOUND = sa.select(
    sa.func.set_config("statement_timeout", sa.bindparam("wait"), True),
    sa.func.set_config("lock_timeout", sa.bindparam("wait"), True),
)
# The tenant and the deadline together.
SET_TENANT_BOUNDED = SET_TENANT.add_columns(*_BOUND.selected_columns)
# Migration 0011's guard: refuses (SQLSTATE CDP01) a transaction of a tenant that was purged,
# with no window (the purge marks the tenant under a lock this takes shared).
GUARD = sa.func.consentd_tenant_writable(sa.cast(sa.bindparam("tenant"), UUID_TYPE))
# The four statements, by (bounded by a deadline, guarded), built once: add_columns() on every
# transaction made a new statement whose cache key SQLAlchemy computed again each time.
_ENTER = {
    (False, False): SET_TENANT,
    (True, False): SET_TENANT_BOUNDED,
    (False, True): SET_TENANT.add_columns(GUARD),
    (True, True): SET_TENANT_BOUNDED.add_columns(GUARD),
}


async def enter_tenant(conn: AsyncConnection, tenant_id: UUID, *, guarded: bool = False) -> None:
    """Begin a transaction on `conn` and set the tenant for it alone. `guarded`: refused
    (SQLSTATE CDP01) when the tenant was purged — what every unit of work of the use cases
    does; the purge itself and credential look-ups are not."""
    await conn.begin()
    await set_tenant(conn, tenant_id, guarded=guarded)


async def set_tenant(conn: AsyncConnection, tenant_id: UUID, *, guarded: bool = False) -> None:
    """Set the tenant of `conn`'s transaction: its next statements are that tenant's."""
    wait = remaining_milliseconds()
    statement = _ENTER[wait is not None, guarded]
    parameters = {"tenant": str(tenant_id)}
    if wait is not None:
        parameters["wait"] = str(wait)
    await conn.execute(statement, parameters)


def batch_context() -> Context:
    """The current context without what binds one call alone: its deadline. A coalesced run
    (app/coalescing.py) serves several calls and starts in the first one's context; it keeps
    that call's trace, not its deadline (one impatient caller would otherwise cut every call's
    query short)."""
    context = copy_context()
    context.run(clear_call_deadline)
    return context


class SqlUnitOfWork:
    """`async with uow:` opens a transaction inside the tenant; commit() is explicit and leaving
    the block without it rolls back. commit() first appends what the use case gave to
    `audit.record()`, so a change and its audit entry are committed together or not at all.

    `snapshot=True` runs at REPEATABLE READ: every read sees one moment (chain verification).
    `once`: the write's idempotency key, claimed first thing (Replayed when its write is done);
    commit(answer) then stores the rendered answer with the write.
    """

    subjects: SqlSubjects
    consents: SqlConsents
    catalog: SqlCatalog
    campaign: SqlCampaign
    cookies: SqlCookies
    cookie_purge: SqlCookiePurge

    def __init__(
        self,
        engine: AsyncEngine,
        tenant_id: UUID,
        signer: CheckpointSigner | None = None,
        checkpoint_every: int = 0,
        *,
        snapshot: bool = False,
        signal: ChangeSignal | None = None,
        guarded: bool = True,
        once: Once | None = None,
    ) -> None:
        self._engine = engine
        self._tenant = tenant_id
        self._signer = signer
        self._every = checkpoint_every
        self._snapshot = snapshot
        self._signal = signal
        self._guarded = guarded
        self._once = once
        self._conn: AsyncConnection | None = None
        self._driver: Driver | None = None
        self._woken: set[UUID] = set()  # tenants that queued log entries (_note_wake)

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        raw = self._driver = await driver_of(conn)
        try:
            if self._snapshot:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            await enter_tenant(conn, self._tenant, guarded=self._guarded)
            self.idempotency = SqlIdempotency(conn, self._tenant)
            if self._once is not None:
                await self.idempotency.claim(self._once.key)
        except BaseException as error:
            # Closing a connection whose first statement timed out rolled it back, and waited
            # the ceiling again on a frozen database (probe N): closed at once instead.
            if discards_connection(error):
                await discard(conn, raw)
            await conn.close()
            raise
        self._conn = conn
        self._bind(conn, raw)
        return self

    def _bind(self, conn: AsyncConnection, raw: Driver) -> None:
        """The repositories of the transaction's current tenant."""
        keys: dict[UUID, bytes] = {}  # the data keys known in this transaction
        self.subjects = SqlSubjects(conn, raw, self._tenant, keys)
        self.consents = SqlConsents(conn, raw, self._tenant)
        self.catalog = SqlCatalog(conn, raw, self._tenant)
        self.campaign = SqlCampaign(raw, self._tenant)
        self.audit = SqlAudit(conn, raw, self._tenant, self._signer, self._every)
        self.rights = SqlRights(conn, raw, self._tenant, keys)
        self.requests = SqlRequests(conn, self._tenant)
        self.retention = SqlRetention(conn, self._tenant)
        self.breach = SqlBreach(conn, self._tenant)
        self.cookies = SqlCookies(conn, raw, self._tenant)
        self.cookie_purge = SqlCookiePurge(conn, self._tenant)
        self.confirmations = SqlConfirmations(conn, self._tenant)

    async def batch_reads(self, parts: Sequence[PartQuery]) -> list[PartRead]:
        """Every part's purposes, owners (with their data keys) and notice versions, each inside
        its tenant and past its purge guard, in one round trip (migration 0018). The unit of
        work is left inside the last part's tenant."""
        raw = await self._into_batch()
        read = await read_parts(raw, parts)
        self._moved(parts[-1].tenant_id)
        return read

    async def batch_writes(self, parts: Sequence[PartWrite], now: datetime) -> list[ConsentEvent]:
        """Every part's new subjects and events, each inside its tenant, in one round trip
        (migration 0018); each tenant that appended has its sequencer woken after the commit."""
        raw = await self._into_batch()
        written = await write_parts(raw, parts, now)
        self._woken.update(p.tenant_id for p in parts if p.events)
        self._moved(parts[-1].tenant_id)
        return written

    async def _into_batch(self) -> Driver:
        """Ready for a batch statement that moves through tenants: the current tenant's queue
        written; under a call deadline, the remaining time set as the statement and lock
        timeouts. The batch reads pass each tenant's purge guard (its lock held to the end of
        the transaction): an unguarded unit of work (purge, credentials) has no business here."""
        if not self._guarded:
            raise RuntimeError("a write batch runs in a guarded unit of work")
        conn, raw = await self._leave()
        wait = remaining_milliseconds()
        if wait is not None:
            await conn.execute(_BOUND, {"wait": str(wait)})
        return raw

    def _moved(self, tenant_id: UUID) -> None:
        conn, raw = self._open()
        self._tenant = tenant_id
        self._bind(conn, raw)

    def _open(self) -> tuple[AsyncConnection, Driver]:
        if self._conn is None or self._driver is None:
            raise RuntimeError("outside the unit of work")
        return self._conn, self._driver

    async def _leave(self) -> tuple[AsyncConnection, Driver]:
        """Done with the current tenant (before a batch statement): its audit queue written,
        its wake kept for the commit."""
        conn, raw = self._open()
        if self._once is not None:  # its key and answer are the first tenant's
            raise RuntimeError("a write under an idempotency key stays in its tenant")
        await self.audit.flush()
        self._note_wake()
        return conn, raw

    def _note_wake(self) -> None:
        """The current tenant queued log entries: its sequencer is woken after the commit."""
        if self.audit.queued or self.consents.appended or self.cookies.appended:
            self._woken.add(self._tenant)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if exc is not None and discards_connection(exc):
            await discard(conn, self._driver)  # never back to the pool: a fresh one next
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def restate(self, once: Once, answer: object) -> None:
        await self.idempotency.complete(once.key, once.render(answer))

    async def commit_refusal(self) -> None:
        """Commit what a refused call keeps (a wrong code's try) without using up its
        idempotency key: a retry runs again and is refused again."""
        if self._once is not None:
            await self.idempotency.release(self._once.key)
            self._once = None
        await self.commit()

    async def commit(self, answer: object = NO_ANSWER) -> None:
        """Commit, the queued audit entries first; under an idempotency key, `answer` (the use
        case's result) rendered and stored under it too."""
        if self._conn is None:
            raise RuntimeError("commit() outside the unit of work")
        if self._once is not None:
            if answer is NO_ANSWER:
                raise RuntimeError("a write under an idempotency key commits with its answer")
            await self.idempotency.complete(self._once.key, self._once.render(answer))
        await self.audit.flush()
        self._note_wake()
        await self._conn.commit()
        if self._signal is not None:
            # Wake the audit sequencer: it integrates the queued entries into the log and the
            # feed, then wakes the feed's watchers.
            for tenant in sorted(self._woken):
                self._signal.changed(tenant)
