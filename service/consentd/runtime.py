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
    audit_key: bytes


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, or a private PostgreSQL started (and stopped) here."""
    if settings.database_url:
        if settings.secret_key is None:
            raise ConfigError("CONSENTD_SECRET_KEY is required when DATABASE_URL is set")
        if settings.audit_signing_key is None:
            raise ConfigError("CONSENTD_AUDIT_SIGNING_KEY is required when DATABASE_URL is set")
        yield Database(settings.database_url, settings.secret_key, settings.audit_signing_key)
        return
    data_dir = settings.data_dir / "postgres" if settings.data_dir else default_data_dir()
    embedded = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(embedded.start)
    try:
        await asyncio.to_thread(embedded.create_database, "consentd")
        key = settings.secret_key or _local_secret(data_dir.parent / "secret.key")
        audit_key = settings.audit_signing_key or _local_secret(
            data_dir.parent / "audit-signing.key"
        )
        log.info("embedded_postgres_started", data_dir=str(data_dir), port=embedded.port)
        yield Database(embedded.url("consentd"), key, audit_key)
    finally:
        await asyncio.to_thread(embedded.stop)
        log.info("embedded_postgres_stopped")


def _local_secret(path: Path) -> bytes:
    """An embedded mode's key (the identifier secret, the audit signing seed), made once and
    kept beside the data (mode 0600). 32 random bytes, base64."""
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
        app = bootstrap(settings, db.url, db.secret_key, audit_key=db.audit_key)
        try:
            await ensure_tenant(app, settings.default_tenant)
            await _serve_until_signalled(app)
        finally:
            await app.aclose()


async def _serve_until_signalled(app: App) -> None:
    server = app.server()
    port = server.bind(app.settings.grpc_address)
    await server.start()
    host = app.settings.grpc_address.rsplit(":", 1)[0]
    log.info("serving", grpc=f"{host}:{port}", tenant=app.settings.default_tenant)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping", grace_seconds=app.settings.shutdown_grace_seconds)
    await server.stop(app.settings.shutdown_grace_seconds)
    log.info("stopped")


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
