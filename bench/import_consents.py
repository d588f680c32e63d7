"""`consentd import consents` throughput: rows per second of a real import subprocess.

Starts a private PostgreSQL, makes a tenant with one purpose, writes a CSV of `--rows` grants
(one new subject each), runs `consentd import consents` on it as an operator would (the runtime
role writes, the owner finds the tenant) and prints the wall time and rows/s, process start
included. Writes of one tenant are serialised by its audit chain, so this is the import's rate.

    .venv/bin/python bench/import_consents.py --rows 5000 --batch-size 500
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from consentd.bootstrap import bootstrap
from consentd.config import Settings
from consentd.domain.model import LawfulBasis, Purpose
from consentd.domain.tenancy import Principal, Scope
from consentd.store.database import migrate, provision_runtime_role
from consentd.store.embedded import EmbeddedPostgres

SECRET = bytes(range(32))


async def _prepare(postgres: EmbeddedPostgres) -> tuple[str, str]:
    """The owner's and the runtime role's URLs of a migrated database with tenant `bench`."""
    postgres.create_database("bench")
    owner = postgres.url("bench")
    await migrate(owner)
    runtime = await provision_runtime_role(owner, "bench-password")
    app = bootstrap(Settings(), runtime, SECRET, owner_url=owner)
    try:
        assert app.admin is not None
        tenant = await app.admin.create_tenant("bench")
        who = Principal(tenant, "bench", frozenset(Scope))
        await app.catalog.put_purpose(who, Purpose("newsletter", LawfulBasis.CONSENT))
    finally:
        await app.aclose()
    return owner, runtime


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rows", type=int, default=2000)
    options.add_argument("--batch-size", type=int, default=500)
    args = options.parse_args()
    base = Path(tempfile.mkdtemp(prefix="consentd-import-bench-"))
    base.chmod(0o711)
    postgres = EmbeddedPostgres(base / "pg", ephemeral=True)
    postgres.start()
    try:
        owner, runtime = asyncio.run(_prepare(postgres))
        csv = base / "consents.csv"
        lines = (
            f"p{n}@example.com,newsletter,email,granted,2025-01-02T10:00:00Z\n"
            for n in range(args.rows)
        )
        csv.write_text("email,purpose,channel,state,recorded_at\n" + "".join(lines))
        key = base64.b64encode(SECRET).decode()
        env = {
            **os.environ,
            "DATABASE_URL": runtime,
            "CONSENTD_MIGRATION_DATABASE_URL": owner,
            "CONSENTD_SECRET_KEY": key,
            "CONSENTD_AUDIT_SIGNING_KEY": key,
            "CONSENTD_MIGRATE_ON_START": "false",
        }
        argv = [sys.executable, "-m", "consentd", "import", "consents", str(csv)]
        started = time.monotonic()
        done = subprocess.run(
            [*argv, "--tenant", "bench", "--batch-size", str(args.batch_size)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        took = time.monotonic() - started
        print(done.stdout.strip() or done.stderr.strip())
        print(
            f"rows={args.rows} batch={args.batch_size} wall={took:.1f} s "
            f"rate={args.rows / took:.0f} rows/s (process start included), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    finally:
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
