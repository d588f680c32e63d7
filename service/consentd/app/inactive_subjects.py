"""The inactive-subjects category of retention: a tenant that set `inactive_subject_months`
has the subjects nobody heard from in that long erased, as an erasure does (app/erasure.py).

The policy keeps the data of which the tenant is the controller only as long as its purposes
need; the CNIL's reference for prospects is three years after the last contact that came from
them. "Heard from" is in the store's query (store/retention.py `_INACTIVE`): consent events,
rights requests, objections and restrictions, contact-point changes, double opt-in
confirmations and cookie choices linked to the subject; a check is not. A subject with a rights
request open or a restriction in force is kept, and a legal hold keeps every one (the cut-off
is then None: domain/retention.cutoff).

Each subject is erased in its own unit of work, under its write lock, after reading the
tenant's settings again under a share lock (a put waits for it: a legal hold set during a run
stopped nothing, and 2,781 people were erased after it; probe HE) and asking the store again
whether the subject is still inactive by them: a person who granted between the batch's read
and the lock is kept; a hold, or the setting turned off, stops the run. A run killed midway
leaves whole erasures; the next run goes on.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import structlog

from consentd.app.erasure import erase_subject
from consentd.app.keys import SubjectKeys
from consentd.app.ports import Clock, JobUnitOfWorkFactory
from consentd.domain.retention import CLOCK_MARGIN, Category
from consentd.domain.retention import cutoff as cutoff_of
from consentd.domain.tenancy import Principal, Tenant

# Who erased, on the events and the audit entry: no person asked, the tenant's setting did.
ACTOR = "retention"
REASON = "inactive_subject_months"
DEFAULT_BATCH_SIZE = 500
STOPPED = None  # what _erase answers once the settings no longer let it erase

log = structlog.get_logger("consentd.retention")


class InactiveSubjects:
    """The retention job's CategoryPurger for Category.INACTIVE_SUBJECTS."""

    def __init__(
        self,
        uow: JobUnitOfWorkFactory,
        keys: SubjectKeys,
        clock: Clock,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._uow = uow
        self._keys = keys
        self._clock = clock
        self._batch = max(1, batch_size)

    async def purge(self, tenant: Tenant, cutoff: datetime | None, dry_run: bool) -> int:
        """Erase (or, dry, count) the tenant's subjects nobody heard from since `cutoff`."""
        if cutoff is None:
            return 0
        # The job's clock may be up to the margin ahead of the database's: on the safe side.
        before, after, count = cutoff - CLOCK_MARGIN, None, 0
        while True:
            async with self._uow(tenant.tenant_id) as uow:
                batch = await uow.retention.inactive_subjects(before, after, self._batch)
            for subject_id in batch:
                erased = 1 if dry_run else await self._erase(tenant, subject_id, before)
                if erased is STOPPED:
                    log.warning("inactive_erasure_stopped", tenant=tenant.slug, erased=count)
                    return count
                count += erased
            if len(batch) < self._batch:
                return count
            after = batch[-1]

    async def _erase(self, tenant: Tenant, subject_id: UUID, before: datetime) -> int | None:
        """1 when erased, 0 when heard from since the batch, STOPPED when the settings no
        longer let it (a legal hold, the setting off or longer)."""
        async with self._uow(tenant.tenant_id) as uow:
            settings = await uow.retention.settings(lock="share")
            now = self._clock()
            limit = cutoff_of(Category.INACTIVE_SUBJECTS, settings, now)
            if limit is None:
                return STOPPED
            before = min(before, limit - CLOCK_MARGIN)
            await uow.consents.lock_subject(subject_id)
            if not await uow.retention.inactive_subjects(before, None, 1, subject_id):
                return 0  # heard from since the batch was read
            by = Principal(tenant, ACTOR)
            await erase_subject(
                uow, subject_id, now, ACTOR, None, by=by, keys=self._keys, reason=REASON
            )
            await uow.commit()
        return 1
