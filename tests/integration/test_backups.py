"""What docs/operations.md says about backups, run for real: forced row-level security holds
against the table owner too, so pg_dump needs a role with BYPASSRLS (or a superuser)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from consentd.postgres.embedded import EmbeddedPostgres, find_bindir
from consentd.store.database import migrate
from tests.integration.helpers import as_superuser


def _tool(
    postgres: EmbeddedPostgres, name: str, user: str, password: str, *args: str
) -> subprocess.CompletedProcess[str]:
    argv = [str(find_bindir() / name), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", user]
    return subprocess.run(
        [*argv, *args],
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_only_a_bypassrls_role_dumps_the_rows_and_the_owner_restores_them(
    postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    """The schema owner's pg_dump fails on the forced policies; with --enable-row-security it
    "succeeds" with no rows at all; a BYPASSRLS role with pg_read_all_data dumps every tenant's
    rows, and that dump restores (as the owner) with the rows and FORCE in place."""
    tag = uuid4().hex[:8]
    owner, backup, db, copy = f"own_{tag}", f"bak_{tag}", f"bk_{tag}", f"rs_{tag}"
    await as_superuser(
        postgres,
        f"CREATE ROLE {owner} LOGIN PASSWORD 'owner-pw' NOSUPERUSER CREATEROLE",
        f"CREATE DATABASE {db} OWNER {owner}",
        f"CREATE DATABASE {copy} OWNER {owner}",
        f"CREATE ROLE {backup} LOGIN PASSWORD 'backup-pw' NOSUPERUSER BYPASSRLS",
        f"GRANT pg_read_all_data TO {backup}",
    )
    owner_url = f"postgresql+asyncpg://{owner}:owner-pw@127.0.0.1:{postgres.port}/{db}"
    await migrate(owner_url)
    engine = create_async_engine(owner_url)
    tenant = uuid4()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("SELECT set_config('consentd.tenant_id', :t, true)"), {"t": str(tenant)}
            )
            await conn.execute(
                sa.text("INSERT INTO tenants VALUES (:t, 'acme', 'Acme', 'controller', now())"),
                {"t": tenant},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO purposes (tenant_id, purpose_id, lawful_basis, display_name, "
                    "description, max_validity_days, created_at, updated_at) "
                    "VALUES (:t, 'newsletter', 'consent', '', '', 0, now(), now())"
                ),
                {"t": tenant},
            )
    finally:
        await engine.dispose()
    refused = _tool(postgres, "pg_dump", owner, "owner-pw", "-d", db, "-f", str(tmp_path / "o"))
    assert refused.returncode != 0
    assert "would be affected by row-level security policy" in refused.stderr
    empty = tmp_path / "empty.sql"
    filtered = _tool(
        postgres, "pg_dump", owner, "owner-pw", "-d", db, "--enable-row-security", "-f", str(empty)
    )
    assert filtered.returncode == 0
    assert f"{tenant}\tnewsletter" not in empty.read_text()  # exit 0, no tenant data
    full = tmp_path / "full.sql"
    dumped = _tool(postgres, "pg_dump", backup, "backup-pw", "-d", db, "-f", str(full))
    assert dumped.returncode == 0, dumped.stderr
    assert f"{tenant}\tnewsletter" in full.read_text()
    restored = _tool(
        postgres, "psql", owner, "owner-pw", "-d", copy, "-v", "ON_ERROR_STOP=1", "-q",
        "-f", str(full),
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    check = _tool(
        postgres, "psql", backup, "backup-pw", "-d", copy, "-At", "-c",
        "SELECT count(*), bool_and(c.relforcerowsecurity) FROM purposes, pg_class c "
        "WHERE c.relname = 'purposes'",
    )  # fmt: skip
    assert check.stdout.split() == ["1|t"], check.stdout + check.stderr
    await as_superuser(postgres, f"DROP DATABASE {db}", f"DROP DATABASE {copy}")
