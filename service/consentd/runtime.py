"""Process lifecycle of `consentd serve`: database (embedded or given), migrations, start-up
work, then serving until SIGTERM/SIGINT (consentd/serving.py); the container's health probe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.bootstrap import App, bootstrap
from consentd.clock_check import check_clock
from consentd.config import ConfigError, Settings
from consentd.key_files import check_given_keys, local_keys, local_secret
from consentd.local_tokens import LOCAL_KEY_FILE, demo_key, local_admin_key
from consentd.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError
from consentd.postgres.host import default_data_dir, parent_is_consentd, postmaster_of
from consentd.postgres.watch import created, keep_attached, keep_running
from consentd.serving import serve_until_signalled, stop_on_signals
from consentd.store import schema
from consentd.store.database import (
    READ_ONLY_STATE,
    SchemaAhead,
    ahead_message,
    migrate,
    provision_runtime_role,
    sqlstate_of,
)
from consentd.store.driver import quiet_engine
from consentd.store.runtime_role import check_runtime_role
from consentd.telemetry import Telemetry, Tracing
from consentd.wiring.store import connections_per_process

log = structlog.get_logger("consentd")
# How often serve looks whether the embedded PostgreSQL it started still runs.
POSTGRES_WATCH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Database:
    url: str  # the runtime role's
    owner_url: str | None  # the owner's: migrations and administration
    secret_key: bytes
    audit_key: bytes  # the Ed25519 seed that signs audit checkpoints
    home: Path | None = None  # the embedded mode's folder
    # Why the embedded PostgreSQL could not be kept running, once it could not.
    failures: list[str] = field(default_factory=list)
    schema_before: str | None = None  # before this open migrated it (embedded mode)


def _home(settings: Settings) -> Path:
    return settings.data_dir or default_data_dir().parent


@contextlib.asynccontextmanager
async def database(settings: Settings, processes: int = 1) -> AsyncIterator[Database]:
    """The configured database, migrated; or a private PostgreSQL started here (or already run
    by another consentd process on the same folder) and stopped here if we started it, with
    connections for `processes` server processes."""
    if settings.database_url:
        given = await _given_database(settings, settings.database_url)
        await check_clock(given.owner_url or given.url, datetime.now(UTC))  # runtime: clock only
        yield given
        return
    if not settings.embedded_postgres:
        raise ConfigError(
            "DATABASE_URL is required: CONSENTD_EMBEDDED_POSTGRES=false (as in the container "
            "image, which has no PostgreSQL)"
        )
    if settings.migration_database_url:
        # A forgotten DATABASE_URL ran serve and the admin commands on a new, empty embedded
        # database beside the real one, successfully (probe DN: writes lost to it).
        raise ConfigError(
            "CONSENTD_MIGRATION_DATABASE_URL is set but DATABASE_URL is not: set DATABASE_URL "
            "(the runtime role's URL) to use that database, or unset both for the embedded one"
        )
    async with _embedded_database(settings, processes) as db:
        await check_clock(db.owner_url or db.url, datetime.now(UTC))
        yield db


async def _given_database(settings: Settings, url: str) -> Database:
    """DATABASE_URL's (`url`), migrated when the owner's URL is given too."""
    if settings.secret_key is None:
        raise ConfigError("CONSENTD_SECRET_KEY is required when DATABASE_URL is set")
    if settings.audit_signing_key is None:
        # Never derived from anything in the database: a checkpoint must prove the chain to
        # someone who does not trust the database.
        raise ConfigError("CONSENTD_AUDIT_SIGNING_KEY is required when DATABASE_URL is set")
    owner = settings.migration_database_url
    if owner and settings.migrate_on_start:  # _checked says a schema ahead (said twice: UC)
        await _migrated(owner, settings, say=False)
    elif settings.migrate_on_start:  # serving pods run without the owner's URL (probe EB)
        log.info(
            "migrations_not_run",
            hint="no CONSENTD_MIGRATION_DATABASE_URL: `consentd migrate` runs them with it",
        )
    # One connection for the start's checks, through the runtime role.
    runtime = quiet_engine(url)
    try:
        keys = (settings.secret_key, settings.audit_signing_key, settings.audit_retired_keys)
        await _checked(runtime, keys, settings.migrations_dir)
    finally:
        await runtime.dispose()
    return Database(url, owner, settings.secret_key, settings.audit_signing_key)


async def _checked(
    runtime: AsyncEngine, keys: tuple[bytes, bytes, tuple[bytes, ...]], migrations_dir: Path | None
) -> None:
    """A given database's checks before serving: its schema, the role, the keys (the service
    secret, the audit signing seed)."""
    found = await schema.standing(runtime, migrations_dir)
    if found.behind:
        raise ConfigError(
            f"the database's schema ({found.current}) is older than this consentd's "
            f"({found.latest}): run `consentd migrate` with the owner's URL first "
            "(CONSENTD_MIGRATION_DATABASE_URL; docs/operations.md, Upgrades)"
        )
    if found.ahead and found.current is not None:  # probe EC: said only by the owner's path
        log.warning("schema_ahead", detail=ahead_message(found.current, found.latest))
    # The role first: the key check reads through it, and a restore that lost its GRANTs said
    # "the database refused: permission denied" there, naming the URLs (probe EB).
    await check_runtime_role(runtime)
    await check_given_keys(runtime, *keys)


async def _attached_or_started(embedded: EmbeddedPostgres) -> bool:
    """Attach to the cluster another consentd process runs (False), else start it (True)."""
    started = not embedded.attach(found=_orphan_found)
    if (orphan := embedded.stopped_orphan) is not None:
        log.warning("embedded_postgres_orphan_stopped", pid=orphan, killed=embedded.orphan_killed)
    if started:
        await asyncio.to_thread(embedded.start)
    elif (running := postmaster_of(embedded.data_dir)) and not parent_is_consentd(running[0]):
        hint = "a client (another serve, a psql) holds it: a start once none does replaces it"
        log.warning("embedded_postgres_leftover_in_use", pid=running[0], hint=hint)
    return started


@contextlib.asynccontextmanager
async def _embedded_database(settings: Settings, processes: int) -> AsyncIterator[Database]:
    """The private PostgreSQL in the data folder: attached to, or started, watched (restarted
    when it dies) and stopped here. Its max_connections fits `processes` servers' pools and
    ten more (migrations, an operator's psql): PostgreSQL's 100 ran out under four workers."""
    home = _home(settings)
    needed = processes * connections_per_process(settings) + 10
    given = (f"max_connections={max(100, needed)}", *settings.embedded_pg_settings)
    embedded = EmbeddedPostgres(home / "postgres", port=settings.embedded_pg_port, settings=given)
    started = await _attached_or_started(embedded)
    failures: list[str] = []
    watch = keep_running if started else keep_attached
    watching = asyncio.create_task(watch(embedded, failures, POSTGRES_WATCH_SECONDS))
    try:
        await created(embedded, "consentd")
        owner = embedded.url("consentd")
        before = await _migrated(owner, settings)
        runtime = await provision_runtime_role(
            owner, local_secret(home / "app.password", text=True).decode()
        )
        key, audit_key = await local_keys(settings, home, owner)
        log.info(
            "embedded_postgres", data_dir=str(embedded.data_dir), port=embedded.port,
            started=started,
        )  # fmt: skip
        yield Database(runtime, owner, key, audit_key, home, failures, before)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        if started or embedded.pid is not None:  # started, or taken over (keep_attached)
            # Its shutdown checkpoint gets the grace again (5 s at least); frozen or stuck, it is
            # killed then, and its next start recovers from the WAL (nothing committed is lost).
            bound = max(settings.shutdown_grace_seconds, 5.0)
            if await asyncio.to_thread(embedded.stop, bound):
                log.warning(
                    "embedded_postgres_killed", after_seconds=bound,
                    hint="it did not stop in time (frozen or stuck): its next start recovers "
                    "from its WAL; nothing committed is lost",
                )  # fmt: skip
            else:
                log.info("embedded_postgres_stopped")


def _orphan_found(pid: int) -> None:
    log.warning(
        "embedded_postgres_orphan_found", pid=pid,
        hint="a PostgreSQL a killed consentd left runs in this data dir: stopping it first "
        "(up to 30 s, then killed)",
    )  # fmt: skip


async def _migrated(owner: str, settings: Settings, *, say: bool = True) -> str | None:
    """Migrated to this release's schema, logged (probe TB); the revision before. A newer
    release's schema is served as it is (a rollback, docs/operations.md), said once (`say`)."""
    try:
        before, after = await migrate(owner, settings.migrations_dir)
    except SchemaAhead as ahead:
        if say:
            log.warning("schema_ahead", detail=ahead.message)
        return None
    if before != after:
        log.info("schema_migrated", from_revision=before or "empty", to_revision=after)
    return before


def read_local_key(settings: Settings) -> str:
    path = _home(settings) / LOCAL_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(f"no {path}: run `consentd serve` once (embedded mode) first") from None


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then drain in-flight calls and stop what was started. A
    signal while starting lets the start-up finish (each step is bounded), then stops it all."""
    stop = stop_on_signals()
    async with database(settings) as db:
        telemetry = Telemetry(Tracing.otlp(settings.otlp_endpoint))
        app = bootstrap(
            settings,
            db.url,
            db.secret_key,
            owner_url=db.owner_url,
            audit_key=db.audit_key,
            telemetry=telemetry,
        )
        app.disk = db.home
        try:
            await prepare(app, db)
            page_key = None
            if settings.demo:
                page_key = await demo_key(app, db.home, settings.default_tenant)
            await serve_until_signalled(app, page_key, stop)
        finally:
            await app.aclose()
    if db.failures:
        raise EmbeddedPostgresError(f"stopped serving: {db.failures[0]}")


async def prepare(app: App, db: Database) -> None:
    """Start-up work done once per database, before serving: the runtime role is safe, the
    default tenant exists and (embedded mode) its admin key is written. `consentd serve
    --workers N` does it in the supervisor, once, and each worker again (all idempotent)."""
    await check_runtime_role(app.engine)
    if app.admin is not None:
        try:
            await app.admin.create_tenant(app.settings.default_tenant)
        except DBAPIError as error:
            if sqlstate_of(error) != READ_ONLY_STATE:
                raise
            # A read-only database (a standby, default_transaction_read_only) serves reads,
            # health NOT_SERVING; its start with the owner's URL stopped, exit 1 (probe EC).
            log.warning("default_tenant_not_created", reason="the database is read-only")
    if db.home is not None:
        await local_admin_key(app, db.home, app.settings.default_tenant)
