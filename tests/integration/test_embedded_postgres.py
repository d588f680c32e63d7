"""Integration tests for consentd.postgres.embedded: a real PostgreSQL child process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from consentd.postgres import embedded, tuning
from consentd.postgres.cluster import children_of
from consentd.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError
from consentd.store.database import provision_runtime_role

pytestmark = pytest.mark.integration


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh mkdtemp() folder the `postgres` user can traverse (we may be root)."""
    root = Path(tempfile.mkdtemp(prefix="consentd-pg-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


async def _select_one(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow("SELECT 1 AS one, current_database() AS db")
        assert row is not None
        return int(row["one"]), str(row["db"])
    finally:
        await conn.close()


def _running(pid: int) -> bool:
    """pid exists and is not a zombie (killed, its exit not yet reaped by whoever adopted it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _gone(pid: int, timeout: float = 5.0) -> bool:
    """True once os.kill(pid, 0) raises ProcessLookupError (within timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_ephemeral_cluster_serves_asyncpg_and_vanishes_on_stop(workdir: Path) -> None:
    """An ephemeral cluster answers asyncpg, and stop() kills it and removes its files."""
    pg = EmbeddedPostgres(workdir / "pg", ephemeral=True)
    started = time.monotonic()
    pg.start()
    try:
        cold = time.monotonic() - started
        pg.create_database("consentd_test")
        pg.create_database("consentd_test")  # exists already: no error
        url = pg.url("consentd_test", driver="postgresql")
        assert asyncio.run(_select_one(url)) == (1, "consentd_test")
        default_url = pg.url()
        assert default_url.startswith("postgresql+asyncpg://consentd:")
        assert default_url.endswith(f"@127.0.0.1:{pg.port}/postgres")
        pid = pg.pid
        assert pid is not None
    finally:
        pg.stop()
    print(f"cold start {cold:.2f}s")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not pg.data_dir.exists()
    assert not pg.password_file.exists()
    assert not pg.log_file.exists()
    pg.stop()  # a second stop is harmless


def test_restart_after_postmaster_sigkill(workdir: Path) -> None:
    """After a kill -9 of the postmaster, a new start() clears the stale pid and serves."""
    crashed = EmbeddedPostgres(workdir / "pg")
    crashed.start()
    pid = crashed.pid
    assert pid is not None
    password_url = crashed.url()
    os.kill(pid, signal.SIGKILL)
    assert (workdir / "pg" / "postmaster.pid").exists()
    revived = EmbeddedPostgres(workdir / "pg", ephemeral=True)
    try:
        started = time.monotonic()
        revived.start()
        warm = time.monotonic() - started
        url = revived.url(driver="postgresql")
        assert asyncio.run(_select_one(url)) == (1, "postgres")
        assert revived.url().split("@")[0] == password_url.split("@")[0]
        print(f"warm start after crash {warm:.2f}s")
    finally:
        revived.stop()
        crashed.stop()  # reaps the killed child
    assert _gone(pid)


@pytest.mark.parametrize("wakes", [True, False], ids=["stopped-by-a-signal", "stuck"])
def test_a_frozen_cluster_is_stopped_or_killed_with_its_backends_within_the_bound(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, wakes: bool
) -> None:
    """SIGSTOP on the postmaster and its children: the stop wakes them first and the cluster
    stops cleanly (probe HA: it waited the whole bound, then killed it). One that does not
    wake (stuck in I/O: here, its wake-up left out) is killed once the bound passes, every
    process of the cluster gone (a child left would hold the shared memory). Either way the
    next start recovers and serves."""
    if not wakes:
        monkeypatch.setattr(embedded, "fast_shutdown", lambda pid: os.kill(pid, signal.SIGINT))
    pg = EmbeddedPostgres(workdir / "pg")
    pg.start()
    pid = pg.pid
    assert pid is not None
    children = children_of(pid)
    assert children  # its checkpointer, writers, launchers
    # Each one: its children are in sessions of their own (a signal to the postmaster's group
    # reaches none of them; killing only that group left them frozen, holding the memory).
    for frozen in (pid, *children):
        os.kill(frozen, signal.SIGSTOP)
    try:
        started = time.monotonic()
        killed = pg.stop(timeout=1.0)  # said so (probe CB: its stop was logged as a clean one)
        took = time.monotonic() - started
        # Still frozen, a child left would never go: looked at before anything wakes them.
        time.sleep(0.5)
        left = [child for child in children if _running(child)]
    finally:
        for frozen in (pid, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(frozen, signal.SIGCONT)
    assert took < 5.0, took
    assert (killed, _gone(pid), left) == (not wakes, True, [])
    revived = EmbeddedPostgres(workdir / "pg", ephemeral=True)
    try:
        revived.start()
        assert asyncio.run(_select_one(revived.url(driver="postgresql"))) == (1, "postgres")
        assert revived.stop() is False  # a clean stop
    finally:
        revived.stop()


def test_start_is_idempotent_and_restart_keeps_data(workdir: Path) -> None:
    """start() twice keeps one server; stop()+start() keeps databases and password."""
    pg = EmbeddedPostgres(workdir / "pg")
    try:
        pg.start()
        first_pid = pg.pid
        pg.start()
        assert pg.pid == first_pid
        pg.create_database("kept")
        pg.stop()
        assert first_pid is not None
        assert _gone(first_pid)
        started = time.monotonic()
        pg.start()
        print(f"warm start {time.monotonic() - started:.2f}s")
        url = pg.url("kept", driver="postgresql")
        assert asyncio.run(_select_one(url)) == (1, "kept")
        assert oct(pg.password_file.stat().st_mode & 0o777) == "0o600"
    finally:
        pg.stop()


def test_fixed_port_in_use_reports_log_tail(workdir: Path) -> None:
    """A taken fixed port makes start() raise with the server's log, leaving no child."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        pg = EmbeddedPostgres(workdir / "pg", port=port, ephemeral=True)
        with pytest.raises(EmbeddedPostgresError, match="Address already in use"):
            pg.start()
    assert pg.pid is None
    assert not (workdir / "pg").exists()


def test_picked_port_taken_meanwhile_is_retried(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the port picked for port=None is taken before postgres binds it, start() retries."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        ports = iter([taken])
        real_free_port = embedded.free_port
        monkeypatch.setattr(embedded, "free_port", lambda: next(ports, None) or real_free_port())
        with EmbeddedPostgres(workdir / "pg", ephemeral=True) as pg:
            assert pg.port != taken
            assert asyncio.run(_select_one(pg.url(driver="postgresql")))[0] == 1


def test_initdb_failure_raises_and_spares_foreign_dir(workdir: Path) -> None:
    """initdb on a non-empty non-cluster dir raises with its stderr; stop() keeps the dir."""
    foreign = workdir / "pg"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    pg = EmbeddedPostgres(foreign, ephemeral=True)
    with pytest.raises(EmbeddedPostgresError, match=r"initdb .* failed: .*not empty"):
        pg.start()
    assert (foreign / "precious.txt").read_text() == "keep me"


def test_bad_database_name_is_rejected(workdir: Path) -> None:
    """create_database() refuses names outside ^[a-z_][a-z0-9_]{0,62}$ before any SQL."""
    pg = EmbeddedPostgres(workdir / "pg", port=1)
    for name in ("Upper", "x; DROP DATABASE postgres", "1abc", "a" * 64, ""):
        with pytest.raises(EmbeddedPostgresError, match="bad database name"):
            pg.create_database(name)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the data dir to postgres")
def test_root_reports_untraversable_parent(workdir: Path) -> None:
    """As root, a parent the postgres user cannot traverse gives an actionable error."""
    workdir.chmod(0o700)
    pg = EmbeddedPostgres(workdir / "pg", ephemeral=True)
    with pytest.raises(EmbeddedPostgresError, match="chmod o\\+x"):
        pg.start()


async def _shown(url: str, *names: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return [str(await conn.fetchval(f"SHOW {name}")) for name in names]
    finally:
        await conn.close()


def _sizes(pg: EmbeddedPostgres) -> list[str]:
    """shared_buffers, max_wal_size and work_mem of `pg` once started (then stopped)."""
    try:
        pg.start()
        url = pg.url(driver="postgresql")
        return asyncio.run(_shown(url, "shared_buffers", "max_wal_size", "work_mem"))
    finally:
        pg.stop()


def test_a_durable_cluster_is_sized_to_the_memory_and_takes_the_settings_given(
    workdir: Path,
) -> None:
    """A durable cluster runs with tuning.py's sizing of this machine's memory, then the
    settings given (which win over the sizing)."""
    given = ("work_mem=7MB", "max_wal_size=3GB")
    pg = EmbeddedPostgres(workdir / "pg", settings=given)
    buffers, _ = tuning.sized(tuning.available_memory())
    shown = _sizes(pg)
    expected = buffers.removeprefix("shared_buffers=")
    expected = "1GB" if expected == "1024MB" else expected
    assert shown == [expected, "3GB", "7MB"]


def test_a_size_the_kernel_refuses_starts_with_postgresqls_defaults(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shared memory the kernel will not map (here 4 TB of buffers) is not a dead start: the
    cluster starts again without the sizing, the settings given still applied."""
    monkeypatch.setattr(embedded, "sized", lambda *_: ("shared_buffers=4TB", "max_wal_size=4GB"))
    pg = EmbeddedPostgres(workdir / "pg", settings=("work_mem=7MB",))
    shown = _sizes(pg)
    assert shown == ["128MB", "1GB", "7MB"]
    assert pg.settings == ("work_mem=7MB",)


async def test_commands_starting_at_once_all_let_the_runtime_role_in(
    owner_url: str, database_url: str
) -> None:
    """Probe GE: every embedded-mode command sets the runtime role's password at start; six at
    once failed one run in 18 with "tuple concurrently updated" (and the statement, password
    included, went to PostgreSQL's log). They take their turn now. (The password is the one
    the test session's runtime role has: nothing changes for the other tests.)"""
    password = make_url(database_url).password
    assert password is not None
    for _ in range(5):
        urls = await asyncio.gather(
            *(provision_runtime_role(owner_url, password) for _ in range(8))
        )
        assert set(urls) == {urls[0]}
