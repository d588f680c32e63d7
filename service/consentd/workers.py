"""`consentd serve --workers N`: one supervisor, N server processes on the same ports.

The supervisor owns the database: it starts the embedded PostgreSQL once (or takes
DATABASE_URL), migrates, makes the default tenant and the local admin key, then starts N
`consentd serve` children pointed at that database with CONSENTD_REUSE_PORT=true, so the kernel
spreads new connections across them (SO_REUSEPORT). A stop signal to the supervisor is passed
on to every child; it waits for them (each drains its calls within the grace; one still running
15 s past it is killed), then stops the PostgreSQL it started. A child that dies on its own is
replaced (the others serve meanwhile); one that keeps dying (five replacements within a minute)
stops the others and the supervisor exits 1 for the orchestrator (systemd, Kubernetes) to
restart the whole. Only the first child runs the scheduled retention job (the job's lock would
keep the others out anyway). Worker i serves its metrics on the metrics port + i."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Awaitable, Callable

import structlog

from consentd.bootstrap import bootstrap
from consentd.config import ConfigError, Settings
from consentd.runtime import database, prepare
from consentd.serving import stop_on_signals

log = structlog.get_logger("consentd")


def supervise(settings: Settings, workers: int) -> int:
    return asyncio.run(_supervise(settings, workers))


def _fixed_port(address: str, name: str) -> None:
    if address.rsplit(":", 1)[-1] == "0":
        raise ConfigError(f"--workers needs a fixed port in {name} (0 would give each its own)")


def _nth_port(address: str, index: int) -> str:
    host, port = address.rsplit(":", 1)
    return f"{host}:{int(port) + index}" if int(port) else address


def metrics_ports_apart(settings: Settings, workers: int = 1) -> None:
    """The metrics ports (the metrics port + 0 to N-1 with `--workers N`) clear of every other
    port set: one falling on the embedded PostgreSQL's or the process's own left it without
    metrics, said by one error line (probes KB, NA). Raises ConfigError."""
    if settings.metrics_address is None or _nth_port(settings.metrics_address, 0).endswith(":0"):
        return
    first = int(settings.metrics_address.rsplit(":", 1)[1])
    others = {
        "CONSENTD_GRPC_ADDRESS": int(settings.grpc_address.rsplit(":", 1)[1]),
        "CONSENTD_HTTP_ADDRESS": int(settings.http_address.rsplit(":", 1)[1]),
        "CONSENTD_EMBEDDED_POSTGRES_PORT": settings.embedded_pg_port or 0,
    }
    ports = (
        f"port {first} (CONSENTD_METRICS_ADDRESS)"
        if workers == 1
        else f"ports {first} to {first + workers - 1} (CONSENTD_METRICS_ADDRESS's + 0 to "
        f"{workers - 1}, one per worker)"
    )
    for name, port in others.items():
        if first <= port < first + workers:
            raise ConfigError(f"metrics would be served on {ports}: {name} uses {port}")


async def _supervise(settings: Settings, workers: int) -> int:
    _fixed_port(settings.grpc_address, "CONSENTD_GRPC_ADDRESS")
    _fixed_port(settings.http_address, "CONSENTD_HTTP_ADDRESS")
    supervised = functools.partial(_with_parent, os.getpid())
    stop = stop_on_signals()
    async with database(settings, processes=workers) as db:
        app = bootstrap(
            settings, db.url, db.secret_key, owner_url=db.owner_url, audit_key=db.audit_key
        )
        try:
            await prepare(app, db)
        finally:
            await app.aclose()
        env = {
            **os.environ,
            "DATABASE_URL": db.url,
            "CONSENTD_SECRET_KEY": base64.b64encode(db.secret_key).decode(),
            "CONSENTD_AUDIT_SIGNING_KEY": base64.b64encode(db.audit_key).decode(),
            "CONSENTD_MIGRATE_ON_START": "false",  # done above, once
            "CONSENTD_REUSE_PORT": "true",
        }
        if db.owner_url:
            env["CONSENTD_MIGRATION_DATABASE_URL"] = db.owner_url

        async def start(index: int) -> asyncio.subprocess.Process:
            child_env = dict(env)
            if index:
                child_env["CONSENTD_PURGE_INTERVAL_SECONDS"] = "0"
            if settings.metrics_address is not None:
                # Each worker's series are its own: one metrics port per worker (port + index),
                # so a scraper sees every process rather than whichever one a connection hits.
                child_env["CONSENTD_METRICS_ADDRESS"] = _nth_port(settings.metrics_address, index)
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "consentd", "serve", env=child_env, preexec_fn=supervised
            )

        children = await _start_all(workers, start, stop)
        log.info("workers_started", workers=len(children), pids=[c.pid for c in children])
        code = await _watch(children, start, stop, bound=settings.shutdown_grace_seconds + 15)
    # The embedded PostgreSQL could not be restarted: the supervisor stopped everything.
    return 1 if db.failures else code


def _with_parent(supervisor: int) -> None:
    """In the child before it runs: SIGTERM when the supervisor dies (Linux PR_SET_PDEATHSIG).
    A supervisor killed with -9 left its workers serving on the port with no database: the next
    serve stopped the PostgreSQL they used as an orphan's, and could not bind the port."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the call: go at once
        os.kill(os.getpid(), signal.SIGTERM)


PR_SET_PDEATHSIG = 1


# A worker that dies on its own is replaced, up to this many times in a window; past that (a
# crash loop: a worker that cannot start) every worker is stopped and the supervisor exits 1.
REPLACEMENTS = 5
REPLACEMENT_WINDOW_SECONDS = 60.0
# A worker's exit code for a configuration error (cli.main: a port taken, a bad setting): no
# replacement would start either, so every worker is stopped and the supervisor exits with it.
CONFIGURATION_ERROR = 2


async def _start_all(
    workers: int,
    start: Callable[[int], Awaitable[asyncio.subprocess.Process]],
    stop: asyncio.Event,
) -> list[asyncio.subprocess.Process]:
    """The workers, started one by one until SIGTERM or one refuses its configuration (exit 2:
    the next ones would too); _watch then stops those started. All were started before the
    signal or an exit was looked at: 100,000 of them, each exiting 2 (port taken), SIGTERM
    ignored for ten minutes (probe W)."""
    children: list[asyncio.subprocess.Process] = []
    for index in range(workers):
        if stop.is_set() or any(c.returncode == CONFIGURATION_ERROR for c in children):
            break
        children.append(await start(index))
        await asyncio.sleep(0)  # let the child watcher note an exit, the signal handler a stop
    return children


async def _watch(
    children: list[asyncio.subprocess.Process],
    start: Callable[[int], Awaitable[asyncio.subprocess.Process]],
    stop: asyncio.Event,
    *,
    bound: float,
) -> int:
    """Until SIGTERM, replacing a child that dies on its own (its port's other workers serve
    meanwhile: one killed worker stopped the whole service); then SIGTERM to every child, and
    SIGKILL to one still running `bound` seconds later (frozen or stuck: the supervisor waited
    for it for ever, PostgreSQL with it; probe VF). 1 after a crash loop, 2 when a child
    refused its configuration, else 0."""
    loop = asyncio.get_running_loop()
    exits = [asyncio.create_task(c.wait()) for c in children]
    stopping = asyncio.create_task(stop.wait())
    replaced: list[float] = []
    looping = refused = False
    while not stop.is_set() and not looping and not refused:
        await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        for index, ended in enumerate(exits):
            if stop.is_set() or not ended.done():
                continue
            gone = children[index]
            log.error("worker_exited", pid=gone.pid, code=gone.returncode, index=index)
            if gone.returncode == CONFIGURATION_ERROR:
                refused = True
                break
            now = loop.time()
            replaced = [t for t in replaced if now - t < REPLACEMENT_WINDOW_SECONDS]
            if len(replaced) >= REPLACEMENTS:
                log.error("workers_crash_looping", replaced=len(replaced))
                looping = True
                break
            replaced.append(now)
            children[index] = await start(index)
            exits[index] = asyncio.create_task(children[index].wait())
            log.warning("worker_replaced", index=index, pid=children[index].pid)
    codes = await _stopped(children, exits, bound)
    stopping.cancel()
    log.info("workers_stopped", codes=list(codes))
    return CONFIGURATION_ERROR if refused else 1 if looping else 0


async def _stopped(
    children: list[asyncio.subprocess.Process], exits: list[asyncio.Task[int]], bound: float
) -> list[int]:
    """SIGTERM to every child still running, SIGKILL to one still running `bound` seconds
    later; their exit codes."""
    for child in children:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
    _, late = await asyncio.wait(exits, timeout=bound)
    for index, waiting in enumerate(exits):
        if waiting in late:
            log.warning("worker_killed", pid=children[index].pid, after_seconds=bound)
            with contextlib.suppress(ProcessLookupError):
                children[index].kill()
    return list(await asyncio.gather(*exits))
