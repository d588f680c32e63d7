"""The campaign benchmark's import line: `consentd import consents` of a generated file of new
grants (a new file each round) against a plain COPY of the same file into a table of its
columns. The import process's CPU is reported in the server column; its peak RSS (memory stays
flat however long the file) and the rate of its rows once started and checked in the line's
label."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from writes import best, email, measure


def import_line(c: Any) -> None:
    """Import a file of --import-rows new grants (a new file each round) vs COPY of it."""
    rows = c.args.import_rows

    def ours(round_: int) -> dict[str, Any]:
        path = c.base / f"import{round_}.csv"
        write_csv(path, rows, 5_000_000_000 + round_ * rows)
        return import_file(c, path)

    def base(round_: int) -> dict[str, Any]:
        return copy_file(c, c.base / f"import{round_}.csv")

    imported, copied = best(c, ours, base)
    label = (
        f"import consents, {rows:,} rows (peak RSS {imported['rss_mb']:.0f} MB; "
        f"{imported['phase_rate']:,.0f} rows/s once started and the file checked)"
    )
    c.add(label, imported, copied, "rows/s")


# --------------------------------------------------------------------------------------------


def write_csv(path: Path, rows: int, first: int) -> None:
    with path.open("w") as out:
        out.write("email,purpose,channel,state,recorded_at\n")
        for n in range(first, first + rows):
            out.write(f"{email(n)},newsletter,email,granted,2025-01-02T10:00:00Z\n")


def import_file(c: Any, path: Path) -> dict[str, Any]:
    """`consentd import consents` as an operator runs it; its CPU is the server column, its
    peak RSS is reported in `rss_mb`."""
    import base64

    env = {
        **os.environ,
        "DATABASE_URL": c.url,
        "CONSENTD_MIGRATION_DATABASE_URL": c.owner_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(c.secret).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(c.secret).decode(),
        "CONSENTD_MIGRATE_ON_START": "false",
    }
    argv = [sys.executable, "-m", "consentd", "import", "consents", str(path)]
    if c.args.import_batch:
        argv += ["--batch-size", str(c.args.import_batch)]
    argv.append("--tenant")
    rows = sum(1 for _ in path.open()) - 1
    outcome: dict[str, Any] = {}

    def run() -> dict[str, Any]:
        started = time.perf_counter()
        with (c.base / "import.err").open("w+b") as err:
            proc = subprocess.Popen(
                [*argv, c.tenant_slug], env=env, stdout=subprocess.DEVNULL, stderr=err
            )
            _, status, usage = os.wait4(proc.pid, 0)
            if status != 0:  # say why: a refused run is not a figure
                err.seek(0)
                print(err.read()[-2000:].decode(errors="replace"), file=sys.stderr)
            err.seek(0)
            outcome["phase_rate"] = _phase_rate(err.read().decode(errors="replace"))
        took = time.perf_counter() - started
        outcome["rss_mb"] = usage.ru_maxrss / 1024
        errors = 0 if status == 0 else rows
        cpu = usage.ru_utime + usage.ru_stime
        return {"count": rows, "seconds": took, "p50": 0.0, "p99": 0.0, "errors": errors,
                "cpu": 0.0, "server_seconds": cpu}  # fmt: skip

    return {**measure(c, run, lag=False), **outcome}


def _phase_rate(stderr: str) -> float:
    """The rate the command's own progress line ends on: its rows over the time from the end of
    the check pass to the end (log integrated), without the interpreter's start, the app's
    bootstrap and the check pass, which the figure of the whole command includes."""
    rates = re.findall(r"\(([0-9.]+) rows/s", stderr)
    return float(rates[-1]) if rates else 0.0


def copy_file(c: Any, path: Path) -> dict[str, Any]:
    """A plain COPY of the same CSV into a table of its columns (as text), one transaction."""
    import asyncpg

    dsn = c.owner_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    rows = sum(1 for _ in path.open()) - 1

    async def copy() -> float:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS plain_import (email text, purpose text, "
                "channel text, state text, recorded_at text)"
            )
            started = time.perf_counter()
            await conn.copy_to_table("plain_import", source=str(path), format="csv", header=True)
            return time.perf_counter() - started
        finally:
            await conn.close()

    def run() -> dict[str, Any]:
        took = asyncio.run(copy())
        return {"count": rows, "seconds": took, "p50": 0.0, "p99": 0.0, "errors": 0, "cpu": 0.0}

    return measure(c, run, lag=False)
