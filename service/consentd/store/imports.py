"""Checkpoints of `consentd import consents` (table consent_imports, migration 0007)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.app.ports.imports import ImportCheckpoint
from consentd.store.tables import consent_imports

_I = consent_imports


async def claim(
    conn: AsyncConnection,
    tenant_id: UUID,
    digest: str,
    *,
    name: str,
    rows: int,
    now: datetime,
) -> ImportCheckpoint:
    """The file's checkpoint (created at line 1, the header, when new), locked until the
    transaction ends: a second import of the same file waits instead of writing the same rows."""
    await conn.execute(
        insert(_I)
        .values(
            tenant_id=tenant_id,
            file_sha256=digest,
            file_name=name,
            rows_total=rows,
            last_line=1,
            imported=0,
            superseded=0,
            started_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    row = (
        await conn.execute(
            sa.select(_I.c.last_line, _I.c.imported, _I.c.superseded, _I.c.completed_at)
            .where(_I.c.tenant_id == tenant_id, _I.c.file_sha256 == digest)
            .with_for_update()
        )
    ).one()
    return ImportCheckpoint(row.last_line, row.imported, row.superseded, row.completed_at)


async def advance(
    conn: AsyncConnection,
    tenant_id: UUID,
    digest: str,
    checkpoint: ImportCheckpoint,
    now: datetime,
) -> None:
    """Move the file's checkpoint, in the transaction that wrote the rows it counts."""
    await conn.execute(
        sa.update(_I)
        .where(_I.c.tenant_id == tenant_id, _I.c.file_sha256 == digest)
        .values(
            last_line=checkpoint.last_line,
            imported=checkpoint.imported,
            superseded=checkpoint.superseded,
            completed_at=checkpoint.completed_at,
            updated_at=now,
        )
    )


# What an import fills, and the suppression list, the checks and `audit verify` read (the log's
# entries too: verify's plans took 198 s for a tenant the statistics did not know; probe RB).
ANALYZED = (
    "subjects",
    "subject_identifiers",
    "subject_keys",
    "contact_point_holdings",
    "consent_events",
    "current_consents",
    "consent_changes",
    "audit_entries",
)


async def refresh_statistics(owner: AsyncEngine) -> None:
    """Fresh planner statistics for the tables a tenant's people fill (as the owner: ANALYZE
    needs it), after an import or before `audit verify`: right after 30,000 rows the
    suppression list's query ran on stale ones and timed out for a minute and a half, until
    autovacuum's analyze came round."""
    async with owner.connect() as conn:
        await conn.execute(sa.text(f"ANALYZE {', '.join(ANALYZED)}"))
        await conn.commit()
