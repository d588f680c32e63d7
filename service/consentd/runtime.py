"""Process lifecycle of `consentd serve`: database (embedded or given), migrations, server,
graceful stop on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.api.http import HttpServer
from consentd.bootstrap import App, bootstrap, utc_now
from consentd.config import ConfigError, Settings
from consentd.domain.model import ProcessingRole
from consentd.domain.tenancy import Tenant
from consentd.store.database import migrate
from consentd.store.embedded import EmbeddedPostgres, default_data_dir

log = structlog.get_logger("consentd")


@dataclass(frozen=True, slots=True)
class Database:
    url: str
    secret_key: bytes


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, or a private PostgreSQL started (and stopped) here."""
    if settings.database_url:
        if settings.secret_key is None:
            raise ConfigError("CONSENTD_SECRET_KEY is required when DATABASE_URL is set")
        yield Database(settings.database_url, settings.secret_key)
        return
    data_dir = settings.data_dir / "postgres" if settings.data_dir else default_data_dir()
    embedded = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(embedded.start)
    try:
        await asyncio.to_thread(embedded.create_database, "consentd")
        key = settings.secret_key or _local_secret(data_dir.parent / "secret.key")
        log.info("embedded_postgres_started", data_dir=str(data_dir), port=embedded.port)
        yield Database(embedded.url("consentd"), key)
    finally:
        await asyncio.to_thread(embedded.stop)
        log.info("embedded_postgres_stopped")


def _local_secret(path: Path) -> bytes:
    """The embedded mode's identifier key, made once and kept beside the data (mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return base64.b64decode(path.read_text().strip())


async def ensure_tenant(app: App, slug: str) -> Tenant:
    tenant = Tenant(uuid4(), slug, slug, ProcessingRole.PROCESSOR)
    return await app.tenants.create(tenant, utc_now())


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight calls and stop what was started."""
    async with database(settings) as db:
        if settings.migrate_on_start:
            await migrate(db.url, settings.migrations_dir)
        app = bootstrap(settings, db.url, db.secret_key)
        try:
            await ensure_tenant(app, settings.default_tenant)
            await _serve_until_signalled(app)
        finally:
            await app.aclose()


async def _serve_until_signalled(app: App) -> None:
    settings = app.settings
    browser = app.browser_app()
    server = app.server()
    port = server.bind(settings.grpc_address)
    http = HttpServer(browser, settings.shutdown_grace_seconds)
    http_port = await http.start(settings.http_address)
    await server.start()
    host = settings.grpc_address.rsplit(":", 1)[0]
    http_host = settings.http_address.rsplit(":", 1)[0]
    log.info(
        "serving",
        grpc=f"{host}:{port}",
        http=f"{http_host}:{http_port}",
        demo=f"http://{http_host}:{http_port}/demo/" if settings.demo else None,
        tenant=settings.default_tenant,
    )
    purging = (
        asyncio.create_task(purge_periodically(app, settings.purge_interval_seconds))
        if settings.purge_interval_seconds
        else None
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping", grace_seconds=settings.shutdown_grace_seconds)
    if purging is not None:
        purging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purging
    await asyncio.gather(server.stop(settings.shutdown_grace_seconds), http.stop())
    log.info("stopped")


# The first scheduled purge waits this long after start (or the interval, when shorter), so a
# service restarted more often than the interval still purges.
FIRST_PURGE_DELAY = 60.0


async def purge_periodically(app: App, interval: float) -> None:
    """Run the purge every `interval` seconds until cancelled. A failed run is logged and the
    next one tries again; a run skipped because another replica holds the lock is normal."""
    delay = min(interval, FIRST_PURGE_DELAY)
    while True:
        await asyncio.sleep(delay)
        delay = interval
        try:
            report = await app.retention.purge()
        except Exception as error:  # the server must outlive a failed purge
            log.error("purge_failed", exc_info=error)
            continue
        log.info(
            "purge",
            skipped=report.skipped,
            choices_deleted=report.choices_deleted,
            visitors_deleted=report.visitors_deleted,
            tenants=len(report.tenants),
        )


async def probe_health(address: str) -> int:
    """0 when the server at `address` answers SERVING within 5 s, else 1 (for container probes)."""
    host, port = address.rsplit(":", 1)
    if host in ("0.0.0.0", "[::]", ""):  # noqa: S104 - a wildcard listen address: probe loopback
        host = "127.0.0.1"
    async with grpc.aio.insecure_channel(f"{host}:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.aio.AioRpcError:
            return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1
