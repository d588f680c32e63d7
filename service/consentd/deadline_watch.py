"""Rights requests past or near their deadline (a month from receipt, GDPR art. 12(3), or the
extended one), said in the log every quarter hour while serving: nothing reminded anyone, an
operator had to poll ListRightsRequests or miss the month (probe BS)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.rights_desk import DUE_SOON, RightsDesk
from consentd.store.request_deadlines import open_deadlines
from consentd.telemetry.metrics import Metrics

log = structlog.get_logger("consentd")

DEADLINE_WATCH_SECONDS = 900.0


async def watch_deadlines(
    owner: AsyncEngine,
    every: float = DEADLINE_WATCH_SECONDS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    metrics: Metrics | None = None,
    desk: RightsDesk | None = None,
) -> None:
    """Until cancelled: per tenant, a warning `rights_requests_overdue` while open requests are
    past their deadline, else an info `rights_requests_due_soon` for those due within DUE_SOON
    (counts and the tenant's slug only); the totals in `metrics`
    (consentd_rights_requests_open); the tenants' rights desks' digests due (rights_desk.py)."""
    while True:
        try:
            await say_deadlines(owner, clock(), metrics)
        except Exception as error:  # noqa: BLE001 - said, and tried again next time
            # A query that fails for good (a permission, the schema) was never seen (probe BT).
            log.warning("rights_deadlines_unread", error=type(error).__name__)
        if desk is not None:
            try:
                await desk.send_due()
            except Exception as error:  # noqa: BLE001 - said, and tried again next time
                log.warning("rights_digests_unsent", error=type(error).__name__)
        await asyncio.sleep(every)


async def say_deadlines(owner: AsyncEngine, now: datetime, metrics: Metrics | None = None) -> None:
    deadlines = await open_deadlines(owner, now, DUE_SOON)
    if metrics is not None:
        metrics.deadlines(sum(f.overdue for f in deadlines), sum(f.due_soon for f in deadlines))
    for found in deadlines:
        if found.overdue:
            log.warning(
                "rights_requests_overdue",
                tenant=found.tenant,
                overdue=found.overdue,
                due_within_7_days=found.due_soon,
                hint="RightsService.ListRightsRequests with overdue_only, then answer or refuse",
            )
        else:
            log.info(
                "rights_requests_due_soon", tenant=found.tenant, due_within_7_days=found.due_soon
            )
