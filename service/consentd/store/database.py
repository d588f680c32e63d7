"""Engine, migrations and the connection to PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from consentd.telemetry import PoolUsage

# The repository's migrations/ folder; a deployment that installs the package elsewhere sets
# CONSENTD_MIGRATIONS_DIR (read by Settings).
DEFAULT_MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


def create_engine(url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"server_settings": {"application_name": "consentd"}},
    )


def pool_usage(engine: AsyncEngine) -> PoolUsage:
    """The engine's connections now (for the metrics; read when scraped)."""
    pool: Any = engine.sync_engine.pool
    # create_engine allows as many overflow connections as the pool holds.
    return PoolUsage(pool.checkedout(), pool.checkedin(), 2 * pool.size())


def alembic_config(url: str, migrations_dir: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir or DEFAULT_MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str, migrations_dir: Path | None = None, revision: str = "head") -> None:
    """Upgrade the database to `revision`. Alembic's async env runs its own loop: use a thread."""
    await asyncio.to_thread(command.upgrade, alembic_config(url, migrations_dir), revision)


RUNTIME_ROLE = "consentd_app"


async def provision_runtime_role(owner_url: str, password: str) -> str:
    """Let the runtime role log in with `password` (embedded mode and tests, where we own the
    cluster); returns the runtime role's URL. Migrations must have created the role."""
    engine = create_async_engine(owner_url)
    try:
        async with engine.begin() as conn:
            # A password cannot be a bind parameter in ALTER ROLE; quote it as a literal.
            literal = "'" + password.replace("'", "''") + "'"
            # Never in a span (db.statement would carry the password), whatever is traced.
            with suppress_instrumentation():
                await conn.execute(sa.text(f"ALTER ROLE {RUNTIME_ROLE} LOGIN PASSWORD {literal}"))
    finally:
        await engine.dispose()
    return (
        make_url(owner_url)
        .set(username=RUNTIME_ROLE, password=password)
        .render_as_string(hide_password=False)
    )


class UnsafeRuntimeRole(RuntimeError):
    """The service was given a connection that row-level security would not hold."""


async def check_runtime_role(engine: AsyncEngine) -> None:
    """Refuse to serve as a superuser, a BYPASSRLS role, or the owner of any table."""
    query = sa.text(
        "SELECT r.rolsuper OR r.rolbypassrls AS unsafe, "
        "(SELECT count(*) FROM pg_tables t WHERE t.tableowner = current_user "
        " AND t.schemaname = 'public') AS owned "
        "FROM pg_roles r WHERE r.rolname = current_user"
    )
    async with engine.connect() as conn:
        unsafe, owned = (await conn.execute(query)).one()
    if unsafe or owned:
        raise UnsafeRuntimeRole(
            "DATABASE_URL must connect as the runtime role (e.g. consentd_app): not a superuser, "
            "not BYPASSRLS, owning no table; give migrations the owner's URL in "
            "CONSENTD_MIGRATION_DATABASE_URL"
        )
