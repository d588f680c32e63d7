"""The retention job on a schedule: `consentd serve` runs it in the background every
CONSENTD_PURGE_INTERVAL_SECONDS (the job itself is consentd.app.retention.RetentionJob)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from consentd.app.retention import FAILED, RetentionJob
from consentd.telemetry import Telemetry

log = structlog.get_logger("consentd")

# The first scheduled purge waits this long after start (or the interval, when shorter), so a
# service restarted more often than the interval still purges.
FIRST_PURGE_DELAY = 60.0
# A failed run is tried again this soon (or at the interval, when shorter): one database blip
# at the wrong moment skipped a whole day of retention (probe FB).
RETRY_DELAY = 300.0


async def purge_periodically(
    retention: RetentionJob,
    interval: float,
    telemetry: Telemetry | None = None,
    database_state: Callable[[BaseException], str | None] = lambda _: None,
) -> None:
    """Run the retention job (cookie choices past their expiry, the audit log's 12 months,
    tenants whose contract ended) every `interval` seconds until cancelled. A failed run is
    logged (one `database_state` names, an outage, as a warning without a traceback) and tried
    again within RETRY_DELAY; a run skipped because another replica (or a
    `consentd retention run` / `consentd purge`) holds the lock is normal. Each run is a span
    (its statements are its children) and counts in consentd_purge_runs_total and
    consentd_purged_rows_total."""
    telemetry = telemetry or Telemetry()
    delay = min(interval, FIRST_PURGE_DELAY)
    while True:
        await asyncio.sleep(delay)
        delay = interval
        with telemetry.tracing.tracer.start_as_current_span("retention.run"):
            try:
                report = await retention.run()
                deleted: dict[str, int] = {}
                for tenant in report.tenants:
                    for what, count in tenant.deleted.items():
                        deleted[str(what)] = deleted.get(str(what), 0) + count
                failed = [t.tenant for t in report.tenants if t.status == FAILED]
                outcome = "locked_out" if report.locked_out else "failed" if failed else "done"
                telemetry.metrics.purge(outcome, deleted)
                log.info(
                    "purge",
                    skipped=report.locked_out,
                    deleted=deleted,
                    tenants=len(report.tenants),
                    failed=failed,
                )
                for tenant in report.tenants:
                    if tenant.status == FAILED:
                        log.error("purge_failed", tenant=tenant.tenant, error=tenant.notes)
                if failed:
                    delay = min(interval, RETRY_DELAY)
            except Exception as error:  # the server must outlive a failed purge, or its report
                telemetry.metrics.purge("failed")
                delay = min(interval, RETRY_DELAY)
                if (state := database_state(error)) is None:
                    log.error("purge_failed", retry_in_seconds=delay, exc_info=error)
                else:  # the database's state, said by its own lines: no traceback
                    log.warning("purge_failed", retry_in_seconds=delay, database=state)
