"""One process serving until it is told to stop: the gRPC, browser and metrics ports open and
the audit sweep and the purge schedule run; on SIGTERM or SIGINT in-flight calls drain within
the grace, then what the last writes queued reaches the audit log."""

from __future__ import annotations

import asyncio
import gc
import signal
from dataclasses import dataclass

import structlog

from consentd.api.call_lines import BUDGET
from consentd.api.http import HttpServer
from consentd.api.server import Server
from consentd.bootstrap import App
from consentd.clock_check import watch_clock
from consentd.config import ConfigError, Settings
from consentd.deadline_watch import watch_deadlines
from consentd.jobs.retention import purge_periodically
from consentd.notifiers import notifier_of
from consentd.rights_desk import RightsDesk
from consentd.telemetry import MetricsPort
from consentd.wiring.store import database_state

log = structlog.get_logger("consentd")
# How often the audit sequencer looks for queued entries no wake-up announced (other processes'
# writes, or a killed process's): the bound on their time to the log, with a pass's length.
SWEEP_SECONDS = 0.5
# Of the shutdown grace, what the last sweep gets (the calls in flight get the rest).
LAST_SWEEP_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Listening:
    """The started servers and the ports they listen on (chosen when the address says 0)."""

    server: Server
    http: HttpServer
    metrics: MetricsPort | None
    grpc_port: int
    http_port: int


@dataclass(frozen=True, slots=True)
class Background:
    """What runs beside the calls while serving."""

    sweeping: asyncio.Task[None]
    purging: asyncio.Task[None] | None
    clock: asyncio.Task[None] | None = None
    deadlines: asyncio.Task[None] | None = None
    webhooks: asyncio.Task[None] | None = None

    def jobs(self) -> list[asyncio.Task[None]]:
        found = (self.sweeping, self.purging, self.clock, self.deadlines, self.webhooks)
        return [t for t in found if t is not None]


async def serve_until_signalled(app: App, demo: str | None, stop: StopEvent | None = None) -> None:
    """Serve until SIGTERM or SIGINT (`stop`, from stop_on_signals(), set), then drain. `demo`
    is the demo page's key (CONSENTD_DEMO). Raises ConfigError when the demo or the preference
    centre is asked for but not built."""
    # Before anything listens or logs "serving": a SIGTERM from then on stops gracefully.
    stop = stop or stop_on_signals()
    if stop.is_set():  # signalled while starting: nothing to serve, nothing to drain
        log.info("stopped_before_serving")
        return
    listening = await _open_ports(app, demo)
    _tune_garbage_collector()
    _announce(app.settings, listening, tenant=app.settings.default_tenant if app.admin else None)
    background = _start_background_work(app)
    await stop.wait()
    # Which signal (probe BP: a SIGHUP from a logrotate or ExecReload stopped it, unexplained).
    log.info("stopping", grace_seconds=app.settings.shutdown_grace_seconds, signal=stop.signal)
    await _drain(app, listening, background)
    BUDGET.flush()  # the last second's count of rpc lines not written (probe DK)
    log.info("stopped")


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def stop_on_signals() -> StopEvent:
    """An event that SIGTERM, SIGINT and SIGHUP set (from now on: the default action, dying at
    once, would leave the embedded PostgreSQL running; a terminal closed on a foreground serve
    sends SIGHUP, which left it orphaned with no drain)."""
    stop = StopEvent()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.received, signum)
    return stop


class StopEvent(asyncio.Event):
    """Set by a stop signal; `signal` names the first one received (SIGHUP stops too: a
    terminal closed on a foreground serve; there is no reload)."""

    signal = ""

    def received(self, signum: int) -> None:
        if not self.is_set():
            self.signal = signal.Signals(signum).name
        self.set()


async def _open_ports(app: App, demo: str | None) -> Listening:
    """The browser port listens, then the gRPC server (its health follows the database), then
    the metrics port."""
    settings = app.settings
    browser = app.browser_app(demo_key=demo)
    server = app.server()
    http = HttpServer(browser, drain_budget(settings.shutdown_grace_seconds)[0])
    try:
        grpc_port = server.bind(settings.grpc_address)
    except (OSError, RuntimeError):  # grpc says RuntimeError("Failed to bind ...")
        raise ConfigError(
            f"cannot listen on {settings.grpc_address} (CONSENTD_GRPC_ADDRESS): address in use "
            "or not this machine's"
        ) from None
    try:
        http_port = await http.start(settings.http_address, reuse_port=settings.reuse_port)
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {settings.http_address} (CONSENTD_HTTP_ADDRESS): {error.strerror}"
        ) from None
    await server.start()
    return Listening(server, http, await _metrics_server(app), grpc_port, http_port)


def _announce(settings: Settings, listening: Listening, *, tenant: str | None) -> None:
    """The one "serving" line: where each port listens, and the default tenant when made (only
    with the owner's URL: serving pods have the runtime role's alone)."""
    host = settings.grpc_address.rsplit(":", 1)[0]
    http_host = settings.http_address.rsplit(":", 1)[0]
    metrics_host = (settings.metrics_address or "").rsplit(":", 1)[0]
    http_port = listening.http_port
    metrics = listening.metrics.server if listening.metrics else None
    log.info(
        "serving",
        grpc=f"{host}:{listening.grpc_port}",
        http=f"{http_host}:{http_port}",
        metrics=f"{metrics_host}:{metrics.port}" if metrics else None,
        traces=settings.otlp_endpoint,
        demo=f"http://{http_host}:{http_port}/demo/" if settings.demo else None,
        tenant=tenant,
    )


def _start_background_work(app: App) -> Background:
    """The audit sweep, the clock watch and the webhooks' delivery; the retention job on its
    schedule and the deadline watch when the owner's URL is known."""
    settings = app.settings
    # Integrates what other processes queued, or a killed one left behind (and, at start, what
    # this process's predecessor did).
    sweeping = asyncio.create_task(app.sequencer.sweep_periodically(SWEEP_SECONDS))
    purging = None
    if settings.purge_interval_seconds and app.retention is not None:
        interval = settings.purge_interval_seconds
        purging = asyncio.create_task(
            purge_periodically(app.retention, interval, app.telemetry, database_state)
        )
    elif settings.purge_interval_seconds:
        # Row-level security shows the runtime role one tenant at a time: listing them is the
        # owner's. Without its URL, run `consentd purge` as a job that has it.
        log.warning("purge_not_scheduled", reason="CONSENTD_MIGRATION_DATABASE_URL is not set")
    # The clock against the database's and the newest fact (the owner's, when known), again
    # every minute, and rights requests near or past their deadline, every quarter hour (the
    # owner's, as at start).
    owner = app.owner_engine
    metrics = app.telemetry.metrics
    clock = asyncio.create_task(watch_clock(app.engine, owner, gauge=metrics))
    deadlines = None
    if owner is not None:
        desk = RightsDesk(owner, notifier_of(settings), settings.notify_language)
        deadlines = asyncio.create_task(watch_deadlines(owner, metrics=metrics, desk=desk))
    # Every process pushes the feed to the tenants' webhooks; a lease per webhook keeps one at a
    # time delivering to it (webhook_delivery.py).
    webhooks = asyncio.create_task(app.webhooks.delivery.run(app.telemetry.metrics))
    return Background(sweeping, purging, clock, deadlines, webhooks)


async def _drain(app: App, listening: Listening, background: Background) -> None:
    """The periodic sweep and the purge stop (a purge's transaction rolls back; its next run
    goes on); in-flight calls and webhook posts finish within the grace less the last second;
    in that second one last pass integrates what the last writes queued, before the pools
    close; the metrics port closes."""
    calls, last = drain_budget(app.settings.shutdown_grace_seconds)
    jobs = background.jobs()
    # A page being posted to a webhook ends as a call does, within the calls' budget: cut at
    # SIGTERM, every rolling restart sent it again (probe JD). The rest stops at once.
    app.webhooks.delivery.stop()
    for job in jobs:
        if job is not background.webhooks:
            job.cancel()
    await asyncio.gather(
        listening.server.stop(calls), listening.http.stop(), _ended(background.webhooks, calls)
    )
    # Neither the jobs' end nor the last sweep is waited for past the budget: a task cancelled
    # in the middle of a statement to a database that does not answer can take seconds to end
    # (asyncpg waits for its cancel request, SQLAlchemy for a graceful close).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + last
    await asyncio.wait(jobs, timeout=last)
    final = asyncio.ensure_future(app.sequencer.sweep())
    await asyncio.wait([final], timeout=max(0.0, deadline - loop.time()))
    if not final.done():
        final.cancel()
    failure = final.exception() if final.done() and not final.cancelled() else TimeoutError()
    if failure is not None:
        # Nothing is lost: the queued entries stay in the database, and the next start's
        # sweep (or another process's) integrates them.
        log.warning("final_sweep_failed", error=type(failure).__name__)
    if listening.metrics is not None:
        await listening.metrics.close()


async def _ended(job: asyncio.Task[None] | None, within: float) -> None:
    """The job's end, cancelled after `within` seconds."""
    if job is not None:
        await asyncio.wait([job], timeout=within)
        job.cancel()


def drain_budget(grace: float) -> tuple[float, float]:
    """The grace split between the calls in flight and the last sweep: the calls get all of it
    but LAST_SWEEP_SECONDS (a quarter of a shorter grace), so the whole drain ends within it."""
    last = min(LAST_SWEEP_SECONDS, grace / 4)
    return grace - last, last


async def _metrics_server(app: App) -> MetricsPort | None:
    """The metrics port, unless disabled (a port held is tried again: MetricsPort)."""
    address = app.settings.metrics_address
    if address is None:
        return None
    port = MetricsPort(app.telemetry.metrics.registry, address)
    await port.open()
    return port


def _tune_garbage_collector() -> None:
    """Leave what start-up built out of every future collection, and collect the youngest
    objects less often: answering a list allocates thousands of short-lived objects per chunk,
    and the default threshold (700) ran a collection every few recipients."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
