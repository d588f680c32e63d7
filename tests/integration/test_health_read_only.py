"""Health follows whether the database takes writes: a read-only one (a standby, or
default_transaction_read_only) is NOT_SERVING, so the replica leaves the balancer, while its
calls are still served (checks answer); it said SERVING while every write answered UNAVAILABLE
(probe AM)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from structlog.testing import capture_logs

from consentd.api import outages
from consentd.api.health import NOT_SERVING, SERVING, Health, Reachability, follow_database
from consentd.postgres.embedded import EmbeddedPostgres
from consentd.store import probe as probes
from consentd.store.probe import DISK_FULL, READ_ONLY, DatabaseProbe


async def _followed(url: str, disk: Path | None = None) -> tuple[int, Reachability, list[str]]:
    """Health after following the database for a second; the reachability; the events."""
    health, reached = Health(()), Reachability()
    probe = DatabaseProbe(url, 2.0, disk=disk)
    with capture_logs() as logs:
        task = asyncio.create_task(follow_database(health, probe, reached))
        await asyncio.sleep(1.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await probe.close()
    return health.status, reached, [e["event"] for e in logs]


@contextlib.asynccontextmanager
async def _one_connection_role(postgres: EmbeddedPostgres) -> AsyncIterator[tuple[Any, str, str]]:
    """A role allowed one connection (the probe's): the superuser's connection and its URL."""
    role = f"one_{uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.url("postgres", driver="postgresql"))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw' CONNECTION LIMIT 1")
        url = postgres.url("postgres").replace(
            postgres.url("postgres").split("@")[0], f"postgresql+asyncpg://{role}:pw"
        )
        yield admin, role, url
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()


async def test_a_read_only_database_is_not_serving_but_reached(postgres: EmbeddedPostgres) -> None:
    name = f"ro_{uuid4().hex[:8]}"
    postgres.create_database(name)
    admin = await asyncpg.connect(postgres.url("postgres", driver="postgresql"))
    try:
        await admin.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    finally:
        await admin.close()
    probe = DatabaseProbe(postgres.url(name), 2.0)
    try:
        assert await probe() == READ_ONLY
    finally:
        await probe.close()
    status, reached, events = await _followed(postgres.url(name))
    assert status == NOT_SERVING
    reached.check()  # not lost: calls are not refused at the gate, checks still answer
    assert events == ["database_read_only"]  # once, not at every probe

    writable_status, _, writable_events = await _followed(postgres.url("postgres"))
    assert writable_status == SERVING
    assert writable_events == ["database_reachable"]


async def test_an_embedded_database_whose_disk_is_full_is_not_serving_but_reached(
    postgres: EmbeddedPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe BJ: the embedded database's disk filled up; every call failed and health said
    SERVING. Below LOW_DISK_BYTES free on its folder (here: the threshold raised above what
    the folder's disk has free) it is NOT_SERVING, calls still let through (checks on pooled
    connections answer); SERVING again once there is room."""
    free = shutil.disk_usage(tmp_path).free
    monkeypatch.setattr(probes, "LOW_DISK_BYTES", free + 2**30)
    probe = DatabaseProbe(postgres.url("postgres"), 2.0, disk=tmp_path)
    try:
        assert await probe() == DISK_FULL
    finally:
        await probe.close()
    status, reached, events = await _followed(postgres.url("postgres"), tmp_path)
    assert status == NOT_SERVING
    reached.check()
    assert events == ["database_disk_full"]
    monkeypatch.setattr(probes, "LOW_DISK_BYTES", 32 * 1024 * 1024)
    status, _, events = await _followed(postgres.url("postgres"), tmp_path)
    assert (status, events) == (SERVING, ["database_reachable"])


async def test_calls_failing_while_no_new_connection_opens_is_not_serving(
    postgres: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe BP: every connection slot taken (or a postmaster that accepts nothing) while the
    probe's own connection answered: calls failed 5 s each, or UNAVAILABLE 53300, and health
    said SERVING. When calls fail for the database, a new connection is tried: NOT_SERVING
    while none opens (here: a role allowed one connection, the probe's), the gate still lets
    calls through; SERVING once one opens. Without failing calls none is tried."""
    monkeypatch.setattr(outages, "_failed_at", [float("-inf")])  # another test's call failed
    async with _one_connection_role(postgres) as (admin, role, url):
        status, _, events = await _followed(url)
        assert (status, events) == (SERVING, ["database_reachable"])  # nothing failed
        outages.outage_answer(ConnectionResetError("a call's connection was closed"))
        status, reached, events = await _followed(url)
        assert (status, events) == (NOT_SERVING, ["database_refuses_connections"])
        reached.check()  # not lost: the pools' connections may still serve
        await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT 5")
        outages.outage_answer(ConnectionResetError("a call's connection was closed"))
        status, _, events = await _followed(url)
        assert (status, events) == (SERVING, ["database_reachable"])


async def test_calls_meeting_a_file_the_database_cannot_use_is_not_serving(
    postgres: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe DW: its data files made unreadable to PostgreSQL, every write failed (INTERNAL
    then) while health said SERVING: its probe reads no file. A call that met the database
    short of a resource (class 53, 58; a file it may not open) makes it NOT_SERVING, reached;
    SERVING once no call met it lately."""
    monkeypatch.setattr(outages, "_failed_at", [float("-inf")])
    monkeypatch.setattr(outages, "_short_at", [float("-inf")])
    denied = asyncpg.exceptions.InsufficientPrivilegeError(
        'could not open file "base/16384/16537_vm": Permission denied'
    )
    outages.outage_answer(denied)
    status, reached, events = await _followed(postgres.url("postgres"))
    # A set: another app of this test process follows its database too, and reads the same
    # shortage (it is the process's).
    assert (status, set(events)) == (NOT_SERVING, {"database_short_of_resources"})
    reached.check()
    monkeypatch.setattr(outages, "_short_at", [float("-inf")])
    status, _, events = await _followed(postgres.url("postgres"))
    assert (status, set(events)) == (SERVING, {"database_reachable"})


async def test_refusing_connections_ends_once_calls_are_served_again(
    postgres: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe DY: at a role's connection limit, the pools holding every slot it may use, a burst
    of calls failed and health went NOT_SERVING, and stayed so for good while every later call
    was served: each probe tried a new connection, refused by that same limit. It is SERVING
    again once no call failed lately, though a new connection still cannot open."""
    monkeypatch.setattr(outages, "_failed_at", [float("-inf")])
    monkeypatch.setattr(outages, "_short_at", [float("-inf")])
    async with _one_connection_role(postgres) as (_, _, url):
        health, probe = Health(()), DatabaseProbe(url, 2.0)
        task = asyncio.create_task(follow_database(health, probe, Reachability()))
        try:
            await asyncio.sleep(0.6)
            outages.outage_answer(ConnectionResetError("a call's connection was closed"))
            await asyncio.sleep(1.0)
            assert health.status == NOT_SERVING
            monkeypatch.setattr(outages, "_failed_at", [float("-inf")])  # calls served since
            await asyncio.sleep(1.0)
            assert health.status == SERVING
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await probe.close()


async def test_a_probe_refused_a_connection_slot_says_its_sqlstate(
    postgres: EmbeddedPostgres,
) -> None:
    """Probe IA: every slot taken read as a generic `database_lost`; the warning names the
    SQLSTATE (53300), what the operator has to fix."""
    async with _one_connection_role(postgres) as (admin, role, url):
        await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT 0")
        health, probe = Health(()), DatabaseProbe(url, 2.0)
        with capture_logs() as logs:
            task = asyncio.create_task(follow_database(health, probe, Reachability()))
            await asyncio.sleep(1.0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await probe.close()
    assert health.status == NOT_SERVING
    lost = [e for e in logs if e["event"] == "database_lost"]
    assert [e["sqlstate"] for e in lost] == ["53300"]
