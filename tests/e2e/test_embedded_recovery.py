"""`consentd serve` keeps its embedded PostgreSQL running: a killed postmaster is reaped and
restarted on its port, one that cannot be restarted makes serve exit 1, and the orphan postmaster
of a killed serve is stopped and replaced by the next serve (postgres/watch.py `keep_running`,
postgres/embedded.py `attach`). Real processes, real signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from consentd.postgres.cluster import children_of
from consentd.postgres.host import find_bindir, server_user
from tests.e2e.faults import signal_all
from tests.e2e.test_processes import _collect, _folder, _free_port, _running, _server, _serving


def _env(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_METRICS_ADDRESS": "off",
        "CONSENTD_LOG_FORMAT": "json",
    }


def _postmaster(data: Path) -> tuple[int, int]:
    """The pid and port in the embedded cluster's postmaster.pid."""
    lines = (data / "postgres" / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), int(lines[3])


def _grpc_port(env: dict[str, str]) -> int:
    return int(env["CONSENTD_GRPC_ADDRESS"].rsplit(":", 1)[1])


async def _new_postmaster(data: Path, old: int, within: float = 30) -> tuple[int, int]:
    for _ in range(int(within / 0.1)):
        try:
            pid, port = _postmaster(data)
        except (FileNotFoundError, IndexError, ValueError):
            pid, port = old, 0
        if pid != old and _running({pid}):
            return pid, port
        await asyncio.sleep(0.1)
    raise AssertionError(f"no new postmaster in {within} s")


async def test_a_killed_postmaster_is_reaped_and_restarted_on_its_port() -> None:
    data = _folder()
    env = _env(data)
    try:
        async with _server(env) as serve:
            await _serving(_grpc_port(env), serve)
            old, port = _postmaster(data)
            os.kill(old, signal.SIGKILL)
            new, new_port = await _new_postmaster(data, old)
            assert new_port == port, "the pools' URL names the old port"
            await _serving(_grpc_port(env), serve)
            assert _running({old}) == [], "the killed postmaster is left a zombie"
            serve.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(serve.wait(), 60) == 0
        assert _running({new}) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_a_postmaster_killed_with_its_children_frozen_is_restarted() -> None:
    """The postmaster killed while its children are stuck (stopped here; in the field a backend
    in uninterruptible I/O): they hold its shared memory, every restart failed ("pre-existing
    shared memory block ... is still in use", 301 times), serve exited 1, and the next serve
    failed at once (probe BB). The leftovers are killed and the cluster restarted."""
    data = _folder()
    env = _env(data)
    frozen: list[int] = []
    try:
        async with _server(env) as serve:
            await _serving(_grpc_port(env), serve)
            old, port = _postmaster(data)
            frozen = children_of(old)
            assert frozen, "a running postmaster has children"
            for child in frozen:
                os.kill(child, signal.SIGSTOP)
            os.kill(old, signal.SIGKILL)
            new, new_port = await _new_postmaster(data, old)
            assert new_port == port
            await _serving(_grpc_port(env), serve)
            assert _running(set(frozen)) == [], "the frozen children were left running"
            serve.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(serve.wait(), 60) == 0
        assert _running({new}) == []
    finally:
        for child in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        shutil.rmtree(data, ignore_errors=True)


async def test_a_dbas_pg_ctl_restart_is_taken_over_not_fatal() -> None:
    """A DBA's `pg_ctl restart -m fast` on the embedded cluster: its postmaster (not serve's
    child) held the data dir, every restart of serve's failed "in use", and serve exited 1
    with its database answering, leaving that one running (probe HA). It is stopped as an
    orphan is at start, serve's own starts on the same port, and serve keeps serving."""
    data = _folder()
    env = _env(data)
    log = data / "pg_ctl.log"
    try:
        async with _server(env) as serve:
            await _serving(_grpc_port(env), serve)
            old, port = _postmaster(data)
            pg_ctl = str(find_bindir() / "pg_ctl")
            argv = [pg_ctl, "restart", "-m", "fast", "-D", str(data / "postgres"), "-l", str(log)]
            user = server_user()
            if user is not None:  # as root, the cluster's user runs it, as serve's own
                log.touch()
                os.chown(log, user.pw_uid, user.pw_gid)
                argv = ["runuser", "-u", user.pw_name, "--", *argv]
            dba = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await asyncio.wait_for(dba.wait(), 60)
            new, new_port = await _new_postmaster(data, old)
            assert new_port == port
            for _ in range(150):  # serve notices, stops the DBA's, starts its own
                await asyncio.sleep(0.1)
                assert serve.returncode is None, "serve exited"
                current, _ = (
                    _postmaster(data) if (data / "postgres/postmaster.pid").exists() else (new, 0)
                )
                if current not in (old, new) and _running({current}):
                    break
            else:
                raise AssertionError("serve did not take the cluster over")
            await _serving(_grpc_port(env), serve)
            assert _running({new}) == [], "the DBA's postmaster was left running"
            serve.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(serve.wait(), 60) == 0
        assert _running({current}) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_a_postmaster_that_cannot_restart_makes_serve_exit_1() -> None:
    """Its port is taken while serve is stopped: the restart fails, serve says why and exits 1
    (a supervisor restarts it), rather than living on with no database."""
    data = _folder()
    env = _env(data)
    try:
        async with _server(env) as serve:
            assert serve.stderr is not None
            lines: list[str] = []
            reading = asyncio.create_task(_collect(serve.stderr, lines))
            await _serving(_grpc_port(env), serve)
            pid, port = _postmaster(data)
            serve.send_signal(signal.SIGSTOP)
            try:
                os.kill(pid, signal.SIGKILL)
                taken = await _take_port(port)
            finally:
                serve.send_signal(signal.SIGCONT)
            with taken:
                assert await asyncio.wait_for(serve.wait(), 60) == 1
            await asyncio.wait_for(reading, 10)
        log = "".join(lines)
        assert '"event":"embedded_postgres_restart_failed"' in log
        assert "consentd: embedded PostgreSQL: stopped serving" in log
        assert '"event":"uncaught"' not in log
        assert _running({pid}) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def _take_port(port: int) -> socket.socket:
    taker = socket.socket()
    taker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for _ in range(200):
        try:
            taker.bind(("127.0.0.1", port))
            taker.listen()
            return taker
        except OSError:
            await asyncio.sleep(0.05)
    taker.close()
    raise AssertionError(f"port {port} stayed taken")


async def test_the_orphan_postmaster_of_a_killed_serve_is_replaced_and_stopped() -> None:
    """kill -9 of serve leaves its postmaster running (adopted by init); the next serve stops
    it, starts its own, and stops that one on SIGTERM: nothing keeps running the data folder."""
    data = _folder()
    env = _env(data)
    try:
        async with _server(env) as killed:
            await _serving(_grpc_port(env), killed)
            orphan, _ = _postmaster(data)
            killed.kill()
            await killed.wait()
        assert _running({orphan}) == [orphan]
        async with _server(env) as serve:
            await _serving(_grpc_port(env), serve)
            assert _running({orphan}) == []
            own, _ = _postmaster(data)
            serve.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(serve.wait(), 60) == 0
        assert _running({own}) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_sigterm_with_the_embedded_postgres_frozen_exits_within_its_bounds() -> None:
    """SIGTERM while the embedded PostgreSQL is frozen (SIGSTOP, postmaster and children):
    the drain takes the grace, then the cluster is woken (SIGCONT) and stopped, and serve
    exits; the next serve starts it. It waited 30 s, and a frozen cluster's children never
    went; then it waited the stop's whole bound and killed it (probe HA)."""
    data = _folder()
    env = {**_env(data), "CONSENTD_SHUTDOWN_GRACE_SECONDS": "2"}
    try:
        async with _server(env) as serve:
            await _serving(_grpc_port(env), serve)
            pid, _ = _postmaster(data)
            os.killpg(pid, signal.SIGSTOP)  # its own session: the postmaster and every child
            try:
                serve.send_signal(signal.SIGTERM)
                started = time.monotonic()
                code = await asyncio.wait_for(serve.wait(), 60)
                took = time.monotonic() - started
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGCONT)
        print(f"serve exited {took:.2f} s after SIGTERM")
        assert code == 0
        assert serve.stderr is not None
        said = (await serve.stderr.read()).decode(errors="replace")
        # Woken (SIGCONT) and stopped, not waited on for its whole bound then killed (probe HA).
        assert "embedded_postgres_stopped" in said
        assert "embedded_postgres_killed" not in said
        # Drain, pools, the stop's bound, the exit, and slack for a loaded CI machine: the point
        # is that serve ends, not how fast.
        assert took < 2 + 1 + 5 + 3 + 4, took
        assert _running({pid}) == []
        async with _server(env) as again:
            await _serving(_grpc_port(env), again)
            again.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(again.wait(), 60) == 0
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_sigterm_while_starting_stops_the_postgres_it_started() -> None:
    """SIGTERM while serve starts its embedded PostgreSQL (the postmaster up, the database not
    ready yet): the start-up finishes, nothing is served, PostgreSQL is stopped, exit 0. The
    signal's default action killed serve at once and left the postmaster running."""
    data = _folder()
    env = _env(data)
    try:
        async with _server(env) as serve:
            pid_file = data / "postgres" / "postmaster.pid"
            for _ in range(600):
                if pid_file.exists() and pid_file.read_text().count("\n") >= 3:
                    break
                await asyncio.sleep(0.05)
            pid, _ = _postmaster(data)
            serve.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(serve.wait(), 60) == 0
        assert _running({pid}) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def test_sigterm_to_a_command_stops_the_postgres_it_started() -> None:
    """Probe BM: SIGTERM to a command that started the embedded PostgreSQL (an import stopped
    by a job runner) exited at once and left the postmaster running. It ends as Ctrl-C does:
    "terminated", exit 143, PostgreSQL stopped."""
    data = _folder()
    env = _env(data)
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "consentd", "migrate", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            pid_file = data / "postgres" / "postmaster.pid"
            for _ in range(1200):
                if pid_file.exists() and pid_file.read_text().count("\n") >= 3:
                    break
                await asyncio.sleep(0.05)
            pid, _ = _postmaster(data)
            child.send_signal(signal.SIGTERM)
            assert child.stderr is not None
            said = (await asyncio.wait_for(child.stderr.read(), 60)).decode()
            code = await asyncio.wait_for(child.wait(), 60)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert code in (0, 143), said  # 0: it had finished already
        if code == 143:
            assert "consentd: terminated" in said
        for _ in range(100):
            if not _running({pid}):
                break
            await asyncio.sleep(0.1)
        assert _running({pid}) == []
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _ignoring_sigint() -> None:
    """As a shell's `&` or a job runner starts a command: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def test_a_command_on_a_frozen_cluster_stops_at_once_on_sigterm() -> None:
    """A CLI command run while the embedded PostgreSQL is frozen waits for it in a psql (up to
    its 10 s connection timeout); SIGTERM ended the command only once that psql gave up, 4 to
    8 s later (probe PA). The psql is killed with the command: "terminated", 143, at once."""
    data = _folder()
    env = _env(data)
    frozen: list[int] = []
    try:
        async with _server(env) as serve:
            await _serving(_grpc_port(env), serve)
            postmaster, _ = _postmaster(data)
            frozen = [postmaster, *children_of(postmaster)]
            signal_all(frozen, signal.SIGSTOP)
            command = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "consentd", "tenants", "list", env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                preexec_fn=_ignoring_sigint,
            )  # fmt: skip
            await asyncio.sleep(3)  # past its start-up: waiting on the frozen cluster
            assert command.returncode is None, "the command ended before its SIGTERM"
            signalled = time.monotonic()
            command.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(command.communicate(), 15)
            took = time.monotonic() - signalled
            signal_all(frozen, signal.SIGCONT)
            frozen = []
            assert command.returncode == 143, err.decode()
            assert err.decode().strip().splitlines()[-1] == "consentd: terminated"
            assert took < 2, f"{took:.1f} s after SIGTERM"
            serve.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(serve.wait(), 60) == 0
    finally:
        signal_all(frozen, signal.SIGCONT)
        shutil.rmtree(data, ignore_errors=True)
