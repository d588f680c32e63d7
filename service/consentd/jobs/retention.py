"""The retention job on a schedule: `consentd serve` runs it in the background every
CONSENTD_PURGE_INTERVAL_SECONDS (the job itself is consentd.app.retention.RetentionJob)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from consentd.app.retention import FAILED, RetentionJob, RetentionReport
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
    again after RETRY_DELAY, then twice as long each time (up to the interval); a run skipped
    because another replica (or a `consentd retention run` / `consentd purge`) holds the lock
    is normal. Each run is a span (its statements are its children) and counts in
    consentd_purge_runs_total and consentd_purged_rows_total."""
    telemetry = telemetry or Telemetry()
    delay, failures = min(interval, FIRST_PURGE_DELAY), 0
    while True:
        await asyncio.sleep(delay)
        with telemetry.tracing.tracer.start_as_current_span("retention.run"):
            try:
                failed = _said(await retention.run(), telemetry)
            except Exception as error:  # the server must outlive a failed purge, or its report
                telemetry.metrics.purge("failed")
                failed = True
                if (state := database_state(error)) is None:
                    log.error("purge_failed", failures=failures + 1, exc_info=error)
                else:  # the database's state, said by its own lines: no traceback
                    log.warning("purge_failed", failures=failures + 1, database=state)
        failures = failures + 1 if failed else 0
        delay = _retry_delay(interval, failures) if failed else interval


def _retry_delay(interval: float, failures: int) -> float:
    """RETRY_DELAY after a first failure, twice as long after each next one (a defect failing
    every run repeated its traceback and a whole pass every 5 minutes; probe FE), never more
    than the interval."""
    return min(interval, RETRY_DELAY * float(2 ** min(failures - 1, 16)))


def _said(report: RetentionReport, telemetry: Telemetry) -> bool:
    """The run's `purge` line and metrics; whether a tenant failed."""
    deleted: dict[str, int] = {}
    for tenant in report.tenants:
        for what, count in tenant.deleted.items():
            deleted[str(what)] = deleted.get(str(what), 0) + count
    failed = [t.tenant for t in report.tenants if t.status == FAILED]
    outcome = "locked_out" if report.locked_out else "failed" if failed else "done"
    telemetry.metrics.purge(outcome, deleted)
    log.info(
        "purge", skipped=report.locked_out, deleted=deleted, tenants=len(report.tenants),
        failed=failed,
    )  # fmt: skip
    for tenant in report.tenants:
        if tenant.status == FAILED and tenant.database:  # its state, by its own lines
            log.warning("purge_failed", tenant=tenant.tenant, database=tenant.database)
        elif tenant.status == FAILED:
            log.error("purge_failed", tenant=tenant.tenant, error=tenant.notes)
    return bool(failed)
