"""The write lines' second baseline, the one issue 12 names: a plain asyncpg single-row durable
INSERT (the same statement pgbench runs, bench/writes.py) from one Python process on uvloop,
`clients` connections each with one INSERT in flight, for as long as the line runs.

pgbench (a C client) is the harsher baseline and stays the table's ratio; this one is what a
Python service that only INSERTs reaches on the same machine: its client side costs CPU of
the same kind the service spends (asyncpg's protocol, uvloop), so the ratio against it reads
what consentd's own design costs.

    .venv/bin/python bench/asyncpg_insert.py DSN SCRIPT_FILE CLIENTS SECONDS WARMUP
prints one JSON line: count, seconds, p50, p99 (ms), errors.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


async def _client(dsn: str, statement: str, until: float, start: float, out: list[float]) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    errors = 0
    try:
        insert = await conn.prepare(statement)
        while (now := time.monotonic()) < until:
            try:
                await insert.fetch()
            except asyncpg.PostgresError:
                errors += 1
                continue
            if now >= start:
                out.append(1000 * (time.monotonic() - now))
    finally:
        await conn.close()
    return errors


async def _run(dsn: str, statement: str, clients: int, seconds: float, warmup: float) -> dict:
    from cload import _quantiles

    start = time.monotonic() + warmup
    latencies: list[float] = []
    errors = await asyncio.gather(
        *(_client(dsn, statement, start + seconds, start, latencies) for _ in range(clients))
    )
    p50, p99 = _quantiles(latencies)
    return {"count": len(latencies), "seconds": seconds, "p50": p50, "p99": p99,
            "errors": sum(errors)}  # fmt: skip


def run(dsn: str, script: str, clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    """The figures of one run in a process of its own, with its CPU seconds as `cpu`."""
    from cload import _children_cpu

    before = _children_cpu()
    argv = [sys.executable, str(Path(__file__)), dsn, script, str(clients), str(seconds)]
    done = subprocess.run([*argv, str(warmup)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["cpu"] = _children_cpu() - before
    return result


if __name__ == "__main__":
    import uvloop

    dsn_, script_, clients_, seconds_, warmup_ = sys.argv[1:6]
    figures = uvloop.run(
        _run(dsn_, script_.strip().rstrip(";"), int(clients_), float(seconds_), float(warmup_))
    )
    print(json.dumps(figures))
