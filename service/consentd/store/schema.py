"""Whether the database's schema is the one this code needs, read through the runtime role:
serving pods are not given the owner's URL and run no migration (migration 0051 lets the runtime
role read the revision)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.store.database import alembic_config

_REVISION = sa.text("SELECT version_num FROM alembic_version")


@dataclass(frozen=True)
class Standing:
    """The database's revision beside this code's latest. `current` None: not readable by the
    runtime role (a schema before 0051, whose older functions the key check finds missing
    instead: store/key_check.py) or never migrated."""

    current: str | None
    latest: str | None
    known: bool  # a revision this code's migrations hold

    @property
    def behind(self) -> bool:
        return self.known and self.current != self.latest

    @property
    def ahead(self) -> bool:
        """A newer release's revision (a rollback: served as it is, `schema_ahead`)."""
        return self.current is not None and not self.known


async def standing(engine: AsyncEngine, migrations_dir: Path | None = None) -> Standing:
    scripts = ScriptDirectory.from_config(alembic_config("", migrations_dir))
    latest = scripts.get_current_head()
    try:
        async with engine.connect() as conn:
            current = (await conn.execute(_REVISION)).scalar()
    except sa.exc.DBAPIError:
        return Standing(None, latest, known=False)
    if current is None:
        return Standing(None, latest, known=False)
    try:
        scripts.get_revision(current)
    except CommandError:
        return Standing(current, latest, known=False)
    return Standing(current, latest, known=True)
