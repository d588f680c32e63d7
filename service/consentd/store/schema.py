"""Whether the database's schema is the one this code needs, read through the runtime role:
serving pods are not given the owner's URL and run no migration (migration 0051 lets the runtime
role read the revision)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.store.database import alembic_config

_REVISION = sa.text("SELECT version_num FROM alembic_version")


async def behind(engine: AsyncEngine, migrations_dir: Path | None = None) -> tuple[str, str] | None:
    """(the database's revision, this code's latest) when the database stands at an earlier
    revision this code knows; None at the latest, at one it does not know (a newer release's:
    `schema_ahead`), or when the runtime role may not read it (a schema before 0051, whose
    older functions the key check finds missing instead: store/key_check.py)."""
    try:
        async with engine.connect() as conn:
            current = (await conn.execute(_REVISION)).scalar()
    except sa.exc.DBAPIError:
        return None
    scripts = ScriptDirectory.from_config(alembic_config("", migrations_dir))
    latest = scripts.get_current_head()
    if current is None or latest is None or current == latest:
        return None
    try:
        scripts.get_revision(current)
    except CommandError:
        return None
    return current, latest
