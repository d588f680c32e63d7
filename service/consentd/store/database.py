"""Engine, migrations and the connection to PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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


def alembic_config(url: str, migrations_dir: Path | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir or DEFAULT_MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str, migrations_dir: Path | None = None, revision: str = "head") -> None:
    """Upgrade the database to `revision`. Alembic's async env runs its own loop: use a thread."""
    await asyncio.to_thread(command.upgrade, alembic_config(url, migrations_dir), revision)
