"""Runs a client example (Go, Java, Node, Python) as a child process against the test server:
its address and the tenant's API key go in the environment, its output comes back as lines."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from consentd.store.tables import consent_events
from tests.conftest import owner

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 120  # seconds: a cold Java build of the generated classes takes about 30 s
# What every example prints on the way: record, ALLOW, withdraw, DENY.
FLOW = (
    "recorded subject=",
    "check after record: DECISION_ALLOW",
    "withdrawn",
    "check after withdraw: DECISION_DENY",
)


def require(tool: str) -> str:
    """The tool's path; a missing toolchain fails (never skips): `make setup` installs it."""
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is missing: run `make setup` (tools/ensure-client-toolchains)")
    return found


async def run(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    """argv's stdout; fails the test with its output when it exits non-zero or hangs."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{argv[0]} ran longer than {RUN_TIMEOUT} s")
    text = out.decode()
    assert process.returncode == 0, f"{argv} exited {process.returncode}:\n{text}\n{err.decode()}"
    return text


async def run_example(argv: list[str], grpc_port: int, api_key: str) -> list[str]:
    """Runs the example against the server; asserts it walked record, ALLOW, withdraw, DENY."""
    env = {"CONSENTD_ADDR": f"127.0.0.1:{grpc_port}", "CONSENTD_API_KEY": api_key}
    lines = (await run(*argv, env=env)).splitlines()
    steps = [next((line for line in lines if line.startswith(step)), None) for step in FLOW]
    assert None not in steps, lines
    assert [lines.index(step) for step in steps if step] == sorted(
        lines.index(step) for step in steps if step
    ), lines
    return lines


async def stored_states(app: App, tenant: Tenant, lines: list[str]) -> list[str]:
    """The states of the events stored for the subject the example printed, in this tenant."""
    subject = uuid.UUID(lines[0].split("subject=")[1].split()[0])
    async with owner(app).connect() as connection:
        rows = await connection.execute(
            sa.select(consent_events.c.state).where(
                consent_events.c.tenant_id == tenant.tenant_id,
                consent_events.c.subject_id == subject,
            )
        )
        return sorted(rows.scalars())
