"""Retention in the store: a tenant's contract facts, and the batched purge of its data."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.ports.rights import SettingsLock
from consentd.domain.retention import TenantRetention
from consentd.store.driver import driver_of
from consentd.store.tables import (
    api_keys,
    consent_change_heads,
    consent_changes,
    consent_confirmations,
    consent_events,
    consent_imports,
    contact_changes,
    contact_point_holdings,
    cookie_categories,
    cookie_choice_counts,
    cookie_choices,
    cookie_consent_modes,
    cookie_policies,
    cookie_visitors,
    current_consents,
    idempotency_keys,
    notice_heads,
    notices,
    purge_runs,
    purposes,
    rights_requests,
    subject_blocks,
    subject_identifiers,
    subject_keys,
    subjects,
    suppressions,
    tenant_retention,
    tenants,
    token_issuers,
)

_T = tenant_retention
# Subjects nobody heard from since $2 (app/inactive_subjects.py): not erased, made before it, and
# nothing of theirs since (consent events, rights requests, blocks, contact changes,
# confirmations, linked cookie choices, a visitor linked to them seen: a sign-in's LinkVisitor,
# probe HE); none with a request open or a restriction in force.
_INACTIVE = """
SELECT s.subject_id FROM subjects s
WHERE s.tenant_id = $1 AND s.erased_at IS NULL AND s.created_at < $2
  AND (s.last_heard_at IS NULL OR s.last_heard_at < $2)
  AND ($3::uuid IS NULL OR s.subject_id > $3) AND ($5::uuid IS NULL OR s.subject_id = $5)
  AND NOT EXISTS (SELECT 1 FROM consent_events e WHERE e.tenant_id = $1
      AND e.subject_id = s.subject_id AND e.recorded_at >= $2)
  AND NOT EXISTS (SELECT 1 FROM rights_requests r WHERE r.tenant_id = $1
      AND r.subject_id = s.subject_id
      AND (r.updated_at >= $2 OR r.received_at >= $2 OR r.state NOT IN ('done', 'refused')))
  AND NOT EXISTS (SELECT 1 FROM subject_blocks b WHERE b.tenant_id = $1
      AND b.subject_id = s.subject_id AND (b.since >= $2 OR b.lifted_at >= $2
          OR (b.kind = 'restricted' AND b.lifted_at IS NULL)))
  AND NOT EXISTS (SELECT 1 FROM contact_changes c WHERE c.tenant_id = $1
      AND c.subject_id = s.subject_id AND c.changed_at >= $2)
  AND NOT EXISTS (SELECT 1 FROM consent_confirmations f WHERE f.tenant_id = $1
      AND f.subject_id = s.subject_id AND (f.created_at >= $2 OR f.confirmed_at >= $2))
  AND NOT EXISTS (SELECT 1 FROM cookie_choices k WHERE k.tenant_id = $1
      AND k.subject_id = s.subject_id AND k.recorded_at >= $2)
  AND NOT EXISTS (SELECT 1 FROM cookie_visitors v WHERE v.tenant_id = $1
      AND v.subject_id = s.subject_id AND v.last_seen_at >= $2)
ORDER BY s.subject_id LIMIT $4
"""
_K = idempotency_keys
# A tenant's tables in the order their rows can go (children first): the list of migration
# 0005's consentd_purge_tenant_rows, the one way the runtime role deletes them. It checks the
# transaction's tenant, the contract end + 1 month and the legal hold itself.
PURGE_ORDER: tuple[sa.Table, ...] = (
    consent_confirmations,  # double opt-in confirmations reference subjects (0013)
    consent_imports,  # import checkpoints (0007)
    consent_changes,  # the change feed's outbox references the events (0006)
    consent_change_heads,
    current_consents,
    consent_events,
    contact_changes,
    rights_requests,
    subject_blocks,
    subject_keys,
    cookie_choices,
    cookie_visitors,
    cookie_choice_counts,
    purge_runs,
    cookie_consent_modes,
    cookie_categories,
    cookie_policies,
    contact_point_holdings,  # who held which contact point (0012)
    subject_identifiers,
    suppressions,
    subjects,
    purposes,
    notices,
    notice_heads,
    idempotency_keys,
    api_keys,
    token_issuers,
)

_BY_NAME = {table.name: table for table in PURGE_ORDER}


class SqlRetention:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def database_now(self) -> datetime:
        now = await self._conn.execute(sa.select(sa.func.clock_timestamp()))
        found: datetime = now.scalar_one()
        return found

    async def settings(self, *, lock: SettingsLock | None = None) -> TenantRetention:
        query = sa.select(_T).where(_T.c.tenant_id == self._tenant)
        if lock is not None:  # held until the transaction ends (app/ports/rights.py)
            query = query.with_for_update(read=lock == "share")
        row = (await self._conn.execute(query)).mappings().first()
        if row is None:
            return TenantRetention()
        return TenantRetention(
            contract_ended_at=row["contract_ended_at"],
            legal_hold=row["legal_hold"],
            legal_hold_reason=row["legal_hold_reason"],
            storage_extension=row["storage_extension"],
            purged_at=row["purged_at"],
            updated_at=row["updated_at"],
            contract_end_recorded_at=row["contract_end_recorded_at"],
            inactive_subject_months=row["inactive_subject_months"],
        )

    async def put_settings(self, settings: TenantRetention, now: datetime) -> TenantRetention:
        values = {
            "contract_ended_at": settings.contract_ended_at,
            "legal_hold": settings.legal_hold,
            "legal_hold_reason": settings.legal_hold_reason,
            "storage_extension": settings.storage_extension,
            "inactive_subject_months": settings.inactive_subject_months,
            "updated_at": now,
        }
        recorded = now if settings.contract_ended_at is not None else None
        stmt = insert(_T).values(
            tenant_id=self._tenant, contract_end_recorded_at=recorded, **values
        )
        # When the end was set: kept while the same end is put again (other settings changed).
        kept = sa.case(
            (
                _T.c.contract_ended_at.is_not_distinct_from(stmt.excluded.contract_ended_at),
                _T.c.contract_end_recorded_at,
            ),
            else_=stmt.excluded.contract_end_recorded_at,
        )
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id"], set_={**values, "contract_end_recorded_at": kept}
            )
        )
        return await self.settings()

    async def mark_purged(self, now: datetime) -> None:
        """Mark the tenant purged (kept if marked already), once every unit of work of the
        tenant in flight has ended; from its commit on, every new one is refused (0011)."""
        marked = sa.func.consentd_mark_tenant_purged(self._tenant, now)
        await self._conn.execute(sa.select(marked))
        # Its rights desk's address too (often a named person's; probe RA: kept for good).
        await self._conn.execute(
            sa.update(tenants)
            .where(tenants.c.tenant_id == self._tenant)
            .values(rights_desk=None, rights_digest_at=None)
        )

    def purge_order(self) -> list[str]:
        # Plain strings: a table's name is SQLAlchemy's quoted_name, which the JSON log line of
        # the run (keyed by these names) refused, and the scheduled job died with it.
        return [str(table.name) for table in PURGE_ORDER]

    async def count(self, name: str) -> int:
        table = _BY_NAME[name]
        query = (
            sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == self._tenant)
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def purge_batch(self, name: str, limit: int) -> int:
        """Delete up to `limit` of the tenant's rows of table `name`; how many went."""
        table = _BY_NAME[name]
        purged = sa.func.consentd_purge_tenant_rows(self._tenant, table.name, limit)
        return int((await self._conn.execute(sa.select(purged))).scalar_one())

    async def count_expired_replays(self, now: datetime) -> int:
        query = sa.select(sa.func.count()).where(*self._expired(now))
        return int((await self._conn.execute(query)).scalar_one())

    async def delete_expired_replays(self, now: datetime, limit: int) -> int:
        # By the (tenant_id, expires_at) index; the expiry is checked again on the row deleted,
        # so a key claimed anew meanwhile (a fresh expiry) stays.
        batch = sa.select(_K.c.caller, _K.c.key).where(*self._expired(now)).limit(limit)
        deleted = await self._conn.execute(
            _K.delete().where(*self._expired(now), sa.tuple_(_K.c.caller, _K.c.key).in_(batch))
        )
        return int(deleted.rowcount)

    async def inactive_subjects(
        self, before: datetime, after: UUID | None, limit: int, subject_id: UUID | None = None
    ) -> list[UUID]:
        driver = await driver_of(self._conn)
        rows = await driver.fetch(_INACTIVE, self._tenant, before, after, limit, subject_id)
        return [row["subject_id"] for row in rows]

    def _expired(self, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
        return (_K.c.tenant_id == self._tenant, _K.c.expires_at <= now)
