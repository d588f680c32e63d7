"""A tenant's retention settings, read and put whole (the job itself: app/retention.py)."""

from __future__ import annotations

from dataclasses import replace

import structlog

from consentd.app.idempotency import Once
from consentd.app.ports import Clock, UnitOfWorkFactory
from consentd.domain.audit import Action, AuditRecord
from consentd.domain.canonical import stamp
from consentd.domain.retention import TenantRetention
from consentd.domain.tenancy import Tenant

log = structlog.get_logger("consentd.retention")


class RetentionSettingsUseCases:
    """A tenant's contract end, legal hold, storage extension and inactive-subject limit
    (audited)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def get(self, tenant: Tenant) -> TenantRetention:
        async with self._uow(tenant.tenant_id) as uow:
            return await uow.retention.settings()

    async def put(
        self, tenant: Tenant, settings: TenantRetention, once: Once | None = None
    ) -> TenantRetention:
        now = self._clock()
        async with self._uow(tenant.tenant_id, once) as uow:
            # Locked until the put commits: two puts at once, one without the months, put the
            # months it read before the other's commit back (3 rounds in 10; probe HK).
            before = await uow.retention.settings(lock="update")
            if settings.inactive_subject_months is None:  # not sent: kept (an older client)
                kept = before.inactive_subject_months
                settings = replace(settings, inactive_subject_months=kept)
            stored = await uow.retention.put_settings(settings, now)
            # A put is whole: a partial one lifted a hold unseen.
            if before.legal_hold and not stored.legal_hold:
                log.warning("legal_hold_lifted", tenant=tenant.slug)
            ended = stored.contract_ended_at
            payload = {
                "contract_ended_at": stamp(ended) if ended else None,
                "legal_hold": stored.legal_hold,
                "storage_extension": stored.storage_extension,
                "inactive_subject_months": stored.inactive_subject_months,
            }
            uow.audit.record(AuditRecord(Action.RETENTION_SETTINGS_PUT, now, payload))
            await uow.commit(stored)
        return stored
