"""Watching the embedded PostgreSQL: the one serve started is restarted on its port when it
exits on its own (once there is room, on a full disk), and serve stopped (exit 1) when it
cannot be; the one another consentd
process started (serve attached to it) is started here when that process stops it. And its
database made, by a psql that a signal stops at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading

import structlog

from consentd.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError
from consentd.postgres.host import pid_alive, postmaster_pid

log = structlog.get_logger("consentd.postgres")


async def keep_running(embedded: EmbeddedPostgres, failures: list[str], every: float) -> None:
    """Restart the embedded PostgreSQL on its port when it exits on its own (killed, crashed):
    the pools reconnect, and readiness says NOT_SERVING only meanwhile. When it cannot be
    restarted, the reason goes to `failures` and the process stops itself (serve then exits 1),
    so that a supervisor starts it afresh rather than a live process serving no database."""
    while True:
        await asyncio.sleep(every)
        status = embedded.exit_status
        if status is None:
            continue
        # 0: stopped on request (a DBA's `pg_ctl stop|restart`), not a crash (probe JE).
        (log.warning if status == 0 else log.error)("embedded_postgres_exited", status=status)
        failed = await _restart(embedded)
        if failed == ATTACHED:  # another consentd process started it meanwhile: watch that one
            log.warning("embedded_postgres_attached", pid=postmaster_pid(embedded.data_dir))
            await keep_attached(embedded, failures, every)
            return
        if failed is not None:
            failures.append(failed)
            log.error("embedded_postgres_restart_failed", error=failed)
            os.kill(os.getpid(), signal.SIGTERM)
            return


async def _restart(embedded: EmbeddedPostgres) -> str | None:
    """Restart it, RESTART_ATTEMPTS times at most; on a full disk, for as long as it stays
    full: a supervisor restarting serve meets the same disk (probe DB: PostgreSQL stopped on a
    full disk, three tries failed and serve exited, to crash-loop), so serve stays up, not
    serving, and starts it once there is room; when another postmaster runs in the data dir,
    attaches to it (ATTACHED) if another consentd process runs it, else stops it and starts
    again. None once it serves, else why not."""
    attempt = 0
    while True:
        failed = await _restarted(embedded)
        if failed is None:
            log.warning("embedded_postgres_restarted", port=embedded.port)
            return None
        if IN_USE in failed:
            # Another postmaster runs in the data dir: a DBA's `pg_ctl restart` (serve exited 1
            # while its database answered, and left that one running; probe HA). One of
            # another consentd process is attached to; any other is stopped, as at start, and
            # this one started at once (its data, config and port are the same).
            # Its clients are this serve's own pools, reconnected: not a reason to keep it.
            if await asyncio.to_thread(embedded.attach, _found, False):
                return ATTACHED
            attempt += 1  # stopped just now: started again at once, its "in use" not said
            if attempt < RESTART_ATTEMPTS:
                continue
        elif NO_ROOM in failed:
            if attempt % DISK_SAID_EVERY == 0:
                log.warning("embedded_postgres_waiting_for_disk", error=failed)
            attempt += 1
            await asyncio.sleep(DISK_PAUSE_SECONDS)
            continue
        attempt += 1
        if attempt >= RESTART_ATTEMPTS:
            return failed
        # Killed again during its recovery, or a resource freed meanwhile: once more.
        log.warning("embedded_postgres_restart_retried", error=failed, attempt=attempt)
        await asyncio.sleep(RESTART_PAUSE_SECONDS)


async def keep_attached(embedded: EmbeddedPostgres, failures: list[str], every: float) -> None:
    """Serve attached to the cluster another consentd process runs in its data dir (an import,
    another serve): when that process stops it, start it here on the same port and watch it
    as keep_running does; attach again when yet another process started it first; else stop
    (exit 1). A serve attached to an import's cluster stayed NOT_SERVING for good after it."""
    owner = postmaster_pid(embedded.data_dir)
    while True:
        await asyncio.sleep(every)
        if owner is not None and pid_alive(owner, embedded.data_dir):
            continue
        log.warning("embedded_postgres_owner_stopped", pid=owner)
        failed = await _restarted(embedded)
        if failed is None:
            log.warning("embedded_postgres_taken_over", port=embedded.port)
            await keep_running(embedded, failures, every)
            return
        if embedded.attach():
            owner = postmaster_pid(embedded.data_dir)
            continue
        failures.append(failed)
        log.error("embedded_postgres_restart_failed", error=failed)
        os.kill(os.getpid(), signal.SIGTERM)
        return


# What _restart answers when another consentd process's cluster runs in the data dir.
ATTACHED = "attached"
# What a start says when a postmaster still runs in the data dir (host.remove_stale_pid).
IN_USE = " is in use by postgres pid "


def _found(pid: int) -> None:
    log.warning("embedded_postgres_orphan_found", pid=pid)


# A restart that fails is tried again (killed again while recovering, a full disk freed) before
# serve gives up and exits 1.
RESTART_ATTEMPTS = 3
RESTART_PAUSE_SECONDS = 2.0
# A start refused for want of room (PostgreSQL's own words, strerror(ENOSPC)) is tried again
# every DISK_PAUSE_SECONDS, said once a minute.
NO_ROOM = "No space left on device"
DISK_PAUSE_SECONDS = 5.0
DISK_SAID_EVERY = 12


async def _restarted(embedded: EmbeddedPostgres) -> str | None:
    """Restart it; None once it serves, else why not (its headline)."""
    restarting = asyncio.ensure_future(asyncio.to_thread(embedded.restart))
    try:
        await asyncio.shield(restarting)
    except asyncio.CancelledError:
        # Not stopped half-way: the caller stops it next, after the restart is over.
        with contextlib.suppress(Exception):
            await restarting
        raise
    except EmbeddedPostgresError as error:
        return _headline(str(error))
    return None


# What the log says to a connection attempt while the server starts or stops: not the cause.
_CONNECTION_ANSWERS = ("not yet accepting connections", "is starting up", "is shutting down")


def _headline(error: str) -> str:
    """An embedded PostgreSQL error's first line, with the line of its log that says why: the
    first PANIC, else the first FATAL that is not an answer to a connection attempt (a full
    disk said "not yet accepting connections"), else the first FATAL. The rest of the log may
    quote data."""
    lines = error.splitlines() or [""]
    fatal = [line for line in lines[1:] if "FATAL" in line]
    cause = [line for line in fatal if not any(a in line for a in _CONNECTION_ANSWERS)]
    panic = [line for line in lines[1:] if "PANIC" in line]
    return f"{lines[0]} {(panic or cause or fatal or [''])[0]}".strip()


async def created(embedded: EmbeddedPostgres, name: str) -> None:
    """The database made unless it exists; its psql killed when this is cancelled (a CLI
    command's SIGTERM waited for the thread: psql's 10 s on a frozen cluster; probe PA)."""
    stop = threading.Event()
    try:
        await asyncio.to_thread(embedded.create_database, name, stop)
    except asyncio.CancelledError:
        stop.set()
        raise
