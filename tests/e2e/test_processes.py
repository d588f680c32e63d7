"""Several server processes on one database: what one writes, another answers at once; and
`consentd serve --workers N` (one embedded PostgreSQL, N processes on one port, SIGTERM to all)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from consent.v1 import catalog_pb2_grpc, consent_pb2_grpc, cookies_pb2_grpc, types_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consentd.app.admin import AdminUseCases
from consentd.config import Settings
from consentd.domain.tenancy import Tenant
from consentd.wiring.store import connections_per_process
from tests.conftest import TEST_SECRET, Stubs, bearer
from tests.e2e.helpers import ALLOW, DENY, by_email, check, grant, put_purpose, record, target
from tests.e2e.helpers import withdraw as withdraw_rpc


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _serving(port: int, child: asyncio.subprocess.Process, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            assert child.returncode is None, "the server exited before it served"
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            assert time.monotonic() < deadline, f"nothing served on {port} in {within} s"
            await asyncio.sleep(0.2)


@asynccontextmanager
async def _server(env: dict[str, str], *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consentd", "serve", *args, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield child
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()


def _stubs(channel: grpc.aio.Channel, key: str) -> Stubs:
    return Stubs(
        consent_pb2_grpc.ConsentServiceStub(channel),
        catalog_pb2_grpc.CatalogServiceStub(channel),
        bearer(key),
        cookies_pb2_grpc.CookieServiceStub(channel),
    )


async def test_two_processes_on_one_database_answer_each_others_writes_at_once(
    database_url: str, owner_url: str, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Process A records, process B's check allows at once; B withdraws, A's check denies at
    once — over interleaved rounds, subjects and targets, through the generated stubs."""
    key, _ = await admin.issue_key(tenant.slug, ["admin"], name="two processes")
    ports = [_free_port(), _free_port()]
    base = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
        "CONSENTD_SECRET_KEY": base64.b64encode(TEST_SECRET).decode(),
        "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
        "CONSENTD_MIGRATE_ON_START": "false",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_LOG_LEVEL": "warning",
    }
    envs = [
        {**base, "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{p}", "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0"}
        for p in ports
    ]
    async with _server(envs[0]) as first, _server(envs[1]) as second:
        await asyncio.gather(_serving(ports[0], first), _serving(ports[1], second))
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[0]}") as channel_a,
            grpc.aio.insecure_channel(f"127.0.0.1:{ports[1]}") as channel_b,
        ):
            a, b = _stubs(channel_a, key.token), _stubs(channel_b, key.token)
            for purpose in ("newsletter", "offers"):
                await put_purpose(a, purpose)
            for n in range(6):
                writer, reader = (a, b) if n % 2 == 0 else (b, a)
                email = f"round{n}@example.com"
                to = target("newsletter" if n % 3 else "offers", types_pb2.CHANNEL_EMAIL)
                await record(writer, types_pb2.SubjectIdentity(email=email), grant(to))
                assert (await check(reader, by_email(email), to)).decision == ALLOW
                await withdraw_rpc(reader, by_email(email), to)
                assert (await check(writer, by_email(email), to)).decision == DENY
                await record(reader, types_pb2.SubjectIdentity(email=email), grant(to))
                assert (await check(writer, by_email(email), to)).decision == ALLOW


async def test_serve_with_workers_starts_one_postgres_and_stops_everything_on_sigterm() -> None:
    """`consentd serve --workers 2`: one embedded PostgreSQL, two servers on one gRPC port
    (each logs `serving`), a worker killed replaced, and SIGTERM to the supervisor stops both
    and the PostgreSQL."""
    data = _folder()
    port, http_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
        "CONSENTD_LOG_FORMAT": "json",
        "CONSENTD_DB_POOL_SIZE": "20",
    }
    try:
        async with _server(env, "--workers", "2") as supervisor:
            assert supervisor.stderr is not None
            lines: list[str] = []
            reading = asyncio.create_task(_collect(supervisor.stderr, lines))
            await _serving(port, supervisor, within=90)
            pids = {supervisor.pid}
            assert (data / "local-admin.key").exists()
            for _ in range(450):  # both workers log `serving` before the stop; 90 s at most
                if sum('"event":"serving"' in line for line in lines) == 2:
                    break
                await asyncio.sleep(0.2)
            workers = _children(supervisor.pid)
            assert len(workers) == 2, (workers, lines[-20:])
            pids.update(workers)
            # Room for both workers' pools: four ran out of PostgreSQL's 100 connections.
            pools = connections_per_process(Settings(db_pool_size=20))
            assert _max_connections(data) == 2 * pools + 10 > 100
            # A worker killed is replaced; the other serves meanwhile (one killed worker
            # stopped the whole service).
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
            for _ in range(450):
                if sum('"event":"serving"' in line for line in lines) == 3:
                    break
                assert supervisor.returncode is None, lines[-20:]
                await asyncio.sleep(0.2)
            assert any('"event":"worker_replaced"' in line for line in lines)
            workers = _children(supervisor.pid)
            assert len(workers) == 2, (workers, lines[-20:])
            assert killed not in workers
            await _serving(port, supervisor, within=10)
            pids.update(workers)
            supervisor.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(supervisor.wait(), 60) == 0
            await asyncio.wait_for(reading, 30)
            log = "".join(lines)
        assert log.count('"event":"serving"') == 3, log[-2000:]
        assert '"codes":[0,0]' in log, "a worker did not stop cleanly"
        assert '"event":"embedded_postgres_stopped"' in log
        assert _running(pids) == []
        assert _running_with(str(data)) == [], "a process still uses the data folder"
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_a_frozen_worker_is_killed_once_past_the_grace_and_everything_stops() -> None:
    """Probe VF: a worker frozen (SIGSTOP; any worker stuck where its stop never runs) kept the
    supervisor waiting for ever after SIGTERM, a second SIGTERM or SIGINT too, its PostgreSQL
    with it. It is killed 15 s past the grace (`worker_killed`), then everything stops."""
    data = _folder()
    port = _free_port()
    env = {**_embedded_env(data, port), "CONSENTD_SHUTDOWN_GRACE_SECONDS": "1"}
    try:
        async with _server(env, "--workers", "2") as supervisor:
            assert supervisor.stderr is not None
            lines: list[str] = []
            reading = asyncio.create_task(_collect(supervisor.stderr, lines))
            await _serving(port, supervisor, within=90)
            for _ in range(450):
                if sum('"event":"serving"' in line for line in lines) == 2:
                    break
                await asyncio.sleep(0.2)
            workers = _children(supervisor.pid)
            assert len(workers) == 2, (workers, lines[-20:])
            os.kill(workers[0], signal.SIGSTOP)
            supervisor.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(supervisor.wait(), 60) == 0
            await asyncio.wait_for(reading, 30)
            log = "".join(lines)
        assert '"event":"worker_killed"' in log, log[-2000:]
        assert '"event":"embedded_postgres_stopped"' in log
        assert _running({supervisor.pid, *workers}) == []
        assert _running_with(str(data)) == [], "a process still uses the data folder"
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_a_serve_attached_to_another_process_postgres_takes_it_over_when_it_stops() -> None:
    """A second `serve` on one data dir (or one started while an import ran the embedded
    PostgreSQL) attaches to the cluster the other process started; when that process stopped
    it, the attached serve stayed NOT_SERVING for good, never restarting it nor exiting. Now it
    starts the cluster itself on the same port and serves again; its SIGTERM stops it."""
    data = _folder()
    first, second = _free_port(), _free_port()

    def env(port: int) -> dict[str, str]:
        return _embedded_env(data, port)

    try:
        async with _server(env(first)) as owner:
            await _serving(first, owner, within=90)
            async with _server(env(second)) as attached:
                assert attached.stderr is not None
                lines: list[str] = []
                reading = asyncio.create_task(_collect(attached.stderr, lines))
                await _serving(second, attached)
                owner.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(owner.wait(), 60) == 0
                for _ in range(150):  # taken over within a few seconds; 30 s at most
                    if any('"event":"embedded_postgres_taken_over"' in line for line in lines):
                        break
                    assert attached.returncode is None, lines[-20:]
                    await asyncio.sleep(0.2)
                await _serving(second, attached, within=30)
                attached.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(attached.wait(), 60) == 0
                await asyncio.wait_for(reading, 30)
        log = "".join(lines)
        assert '"started":false' in log
        assert '"event":"embedded_postgres_stopped"' in log
        assert _running_with(str(data)) == [], "a process still uses the data folder"
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_a_command_leaves_alone_a_postgres_an_attached_serve_uses() -> None:
    """Probe JB: serve A started the embedded PostgreSQL and serve B attached to it; A killed
    with -9 left it running (init's child) while B served on it. An admin command took it for
    an orphan a killed consentd left and stopped it under B (its calls UNAVAILABLE), then told
    the operator to kill the one B started again. The command now uses it, and B serves on."""
    data = _folder()
    first, second = _free_port(), _free_port()

    def env(port: int) -> dict[str, str]:
        return _embedded_env(data, port)

    try:
        async with _server(env(first)) as owner:
            await _serving(first, owner, within=90)
            async with _server(env(second)) as attached:
                await _serving(second, attached)
                postmaster = (data / "postgres" / "postmaster.pid").read_text().split()[0]
                owner.kill()
                await owner.wait()
                code, out = await asyncio.to_thread(_consentd, env(0), "tenants", "list")
                assert code == 0, out
                assert "orphan" not in out
                assert (data / "postgres" / "postmaster.pid").read_text().split()[0] == postmaster
                assert _running([int(postmaster)]) == [int(postmaster)]
                await _serving(second, attached, within=5)
    finally:
        for pid in _running_with(str(data)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(data, ignore_errors=True)


async def test_sighup_drains_and_stops_the_postgres_it_started() -> None:
    """A terminal closed on a foreground `serve` sends SIGHUP: it died at once (exit 129, no
    `stopping`) and left its PostgreSQL running, orphaned. SIGHUP now stops it as SIGTERM does."""
    data = _folder()
    port = _free_port()
    env = _embedded_env(data, port)
    try:
        async with _server(env) as served:
            assert served.stderr is not None
            await _serving(port, served, within=90)
            served.send_signal(signal.SIGHUP)
            assert await asyncio.wait_for(served.wait(), 60) == 0
            log = (await served.stderr.read()).decode()
        assert '"event":"stopping"' in log
        assert '"event":"embedded_postgres_stopped"' in log
        assert _running_with(str(data)) == [], "a process still uses the data folder"
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_workers_stop_with_a_supervisor_killed_and_a_new_serve_takes_over() -> None:
    """`serve --workers 2`, its supervisor killed with -9: the workers kept serving on the port
    with no supervisor; the next serve stopped the PostgreSQL they used (an orphan's) and could
    not bind the port: NOT_SERVING until someone killed them by hand. The workers now stop with
    their supervisor, and the next serve serves."""
    data = _folder()
    port = _free_port()
    env = _embedded_env(data, port)
    try:
        async with _server(env, "--workers", "2") as supervisor:
            await _serving(port, supervisor, within=90)
            for _ in range(150):
                workers = _children(supervisor.pid)
                if len(workers) == 2:
                    break
                await asyncio.sleep(0.2)
            assert len(workers) == 2
            supervisor.send_signal(signal.SIGKILL)
            await supervisor.wait()
            for _ in range(300):  # they drain and stop; 60 s at most
                if not _running(set(workers)):
                    break
                await asyncio.sleep(0.2)
            assert _running(set(workers)) == [], "the workers outlived their supervisor"
        async with _server(env) as again:
            await _serving(port, again, within=90)
            again.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(again.wait(), 60) == 0
        assert _running_with(str(data)) == [], "a process still uses the data folder"
    finally:
        for pid in _running_with(str(data)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(data, ignore_errors=True)


def _embedded_env(data: Path, port: int) -> dict[str, str]:
    """A serve (or command) on the embedded PostgreSQL in `data`, gRPC on `port`."""
    return {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_METRICS_ADDRESS": "off",
        "CONSENTD_LOG_FORMAT": "json",
    }


def _folder() -> Path:
    data = Path(tempfile.mkdtemp(prefix="consentd-workers-"))
    data.chmod(0o711)
    return data


async def _collect(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode(errors="replace"))


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _running(pids: set[int]) -> list[int]:
    """Those of `pids` alive and not zombies."""
    alive = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
                alive.append(pid)
        except FileNotFoundError:
            continue
    return alive


def _max_connections(data: Path) -> int:
    """The max_connections the embedded PostgreSQL in `data` was started with (its -c)."""
    for pid in _running_with(str(data)):
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            given = [a.split("=", 1)[1] for a in argv if a.startswith("max_connections=")]
            if given and "postgres" in argv[0]:
                return int(given[-1])
    raise AssertionError("no embedded PostgreSQL with max_connections running")


def _running_with(text: str) -> list[int]:
    """Processes whose command line mentions `text` (the embedded PostgreSQL's data folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _consentd(env: dict[str, str], *args: str) -> tuple[int, str]:
    import subprocess  # noqa: PLC0415 - these two tests alone run the CLI synchronously

    done = subprocess.run(
        [sys.executable, "-m", "consentd", *args],
        env={k: v for k, v in env.items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_container_mode_refuses_to_start_without_a_database_url() -> None:
    """With CONSENTD_EMBEDDED_POSTGRES=false (the image's setting), `serve` without
    DATABASE_URL is a configuration error (exit 2) naming DATABASE_URL, not an attempt to start
    PostgreSQL."""
    env = {**os.environ, "CONSENTD_EMBEDDED_POSTGRES": "false"}
    code, output = _consentd(env, "serve")
    assert code == 2, output
    assert "DATABASE_URL is required" in output


def test_an_unknown_phone_region_stops_serve_before_postgresql_starts() -> None:
    """CONSENTD_PHONE_REGION=ZZ (the shape of a region) was refused only once the embedded
    PostgreSQL had been initialised, started and stopped again (probe BD): now at once."""
    data = _folder()
    env = {**os.environ, "CONSENTD_DATA_DIR": str(data), "CONSENTD_PHONE_REGION": "ZZ"}
    try:
        code, output = _consentd(env, "serve")
        started = (data / "postgres").exists()
    finally:
        shutil.rmtree(data, ignore_errors=True)
    assert code == 2, output
    assert "CONSENTD_PHONE_REGION 'ZZ' is no region" in output
    assert not started, output


@pytest.mark.parametrize(
    ("variable", "workers"),
    [
        ("CONSENTD_HTTP_ADDRESS", ()),
        ("CONSENTD_GRPC_ADDRESS", ()),
        ("CONSENTD_GRPC_ADDRESS", ("--workers", "2")),
    ],
)
def test_a_taken_port_is_a_configuration_error_not_a_traceback(
    variable: str, workers: tuple[str, ...]
) -> None:
    """The browser or the gRPC port already taken: `serve` says which address and variable
    (exit 2), and stops the PostgreSQL it started; it used to die on an uncaught traceback
    (grpc's RuntimeError for the gRPC port, found by a probe). With workers, the first one
    refused stops them all at once (each was replaced five times, then the supervisor exited 1
    as from a crash loop)."""
    data = _folder()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {
            **os.environ,
            "CONSENTD_DATA_DIR": str(data),
            "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{_free_port()}",
            "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
            "CONSENTD_METRICS_ADDRESS": "off",
            variable: address,
        }
        try:
            code, output = _consentd(env, "serve", *workers)
        finally:
            running = _running_with(str(data))
            shutil.rmtree(data, ignore_errors=True)
    assert code == 2, output
    assert f"cannot listen on {address} ({variable})" in output
    assert "Traceback" not in output
    assert "worker_replaced" not in output
    assert running == []


def test_migrate_needs_only_the_owner_url(owner_url: str) -> None:
    """The migration Job's environment: the owner's URL and nothing else (no runtime URL, no
    keys) is enough for `consentd migrate`."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSENTD_")},
        "CONSENTD_EMBEDDED_POSTGRES": "false",
        "CONSENTD_MIGRATION_DATABASE_URL": owner_url,
    }
    code, output = _consentd(env, "migrate")
    assert code == 0, output
    assert "database at the latest schema" in output
    # Run again, it says it had nothing to do (probe EB: one line whatever it applied).
    code, again = _consentd(env, "migrate")
    assert code == 0, again
    assert "): nothing to migrate" in again


def test_migrate_in_embedded_mode_says_what_the_open_applied() -> None:
    """Probe TB: an embedded data folder is migrated by whatever command opens it, so
    `consentd migrate` found it at the latest schema and said "nothing to migrate" right after
    applying every migration, and no log line said a migration ran. It says what the open
    applied, logged `schema_migrated`; run again, nothing."""
    data = _folder()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSENTD_")},
        "CONSENTD_DATA_DIR": str(data),
    }
    try:
        code, output = _consentd(env, "migrate")
        again = _consentd(env, "migrate")
    finally:
        running = _running_with(str(data))
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0, output
    assert "database at the latest schema: migrated from empty to " in output
    assert "schema_migrated" in output
    assert again[0] == 0, again[1]
    assert "): nothing to migrate" in again[1]
    assert "schema_migrated" not in again[1]
    assert running == []


def test_a_data_folder_the_host_refuses_is_one_line_naming_it(tmp_path: Path) -> None:
    """A data folder that cannot be made (here under a file; read-only or immutable alike) said
    only "the host refused: [Errno ...]" (probe W): the line names the path and the variable."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {
        **os.environ,
        "CONSENTD_DATA_DIR": str(blocker / "data"),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_METRICS_ADDRESS": "off",
    }
    code, output = _consentd(env, "serve")
    assert code == 1, output
    assert "Traceback" not in output
    assert f"the host refused {blocker / 'data'}" in output, output
    assert "CONSENTD_DATA_DIR" in output, output
