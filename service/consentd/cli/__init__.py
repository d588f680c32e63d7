"""The `consentd` command line: parser.py (with parser_*.py) declares the commands, the modules
beside it run them."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

import structlog

from consentd.cli.parser import parser
from consentd.config import ConfigError, Settings, UnsafeRuntimeRole
from consentd.config_names import Reading
from consentd.domain.errors import ConsentError, FailedPrecondition
from consentd.logs import configure_logging
from consentd.postgres.host import EmbeddedPostgresError

__all__ = ["main"]

T = TypeVar("T")


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "health":  # the container probe, every 10 s: grpc alone, not the app
        from consentd.cli.health import probe_health  # noqa: PLC0415

        return asyncio.run(probe_health(args.address or settings.grpc_address))
    if args.command == "serve":  # its metrics ports clear of its others, before anything starts
        from consentd.workers import metrics_ports_apart  # noqa: PLC0415

        metrics_ports_apart(settings, args.workers)
    return _run(args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:  # noqa: PLR0911 - one per command
    from consentd.cli.admin import admin_action, proof_work, purge, run_migrations, with_app  # noqa: PLC0415
    from consentd.runtime import read_local_key, serve  # noqa: PLC0415
    from consentd.wiring.use_cases import known_region  # noqa: PLC0415

    known_region(settings.phone_region)
    if args.command == "serve":
        if args.workers > 1:
            from consentd.workers import supervise  # noqa: PLC0415 - only this path needs it

            return supervise(settings, args.workers)
        with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
            runner.run(serve(settings))
    elif args.command == "local-key":
        print(read_local_key(settings))
    elif args.command == "migrate":
        _command(run_migrations(settings))
    elif args.command == "purge":
        return _command(with_app(_settings_for(args, settings), purge, "the purge lists tenants"))
    elif args.command in ("audit", "retention", "breach"):
        work = proof_work(args)
        return _command(with_app(_settings_for(args, settings), work, "this command lists tenants"))
    elif args.command == "export":
        from consentd.cli.exporting import export_suppressions  # noqa: PLC0415

        return _command(
            with_app(settings, lambda app: export_suppressions(app, args), "it finds the tenant")
        )
    elif args.command == "webhooks":
        from consentd.cli.webhooks import webhooks  # noqa: PLC0415

        return _command(with_app(settings, lambda app: webhooks(app, args), "it finds the tenant"))
    elif args.command == "preference-link":
        from consentd.cli.preference_link import preference_link  # noqa: PLC0415

        return _command(
            with_app(settings, lambda app: preference_link(app, args), "it finds the tenant")
        )
    elif args.command == "import":
        from consentd.cli.importing import import_consents  # noqa: PLC0415

        return _command(
            with_app(settings, lambda app: import_consents(app, args), "it finds the tenant")
        )
    else:
        return _command(with_app(settings, admin_action(args), "for admin commands"))
    return 0


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop unless CONSENTD_EVENT_LOOP=asyncio: its loop costs grpc.aio and asyncpg less CPU
    per call (see bench/campaign.py)."""
    if settings.event_loop == "asyncio":
        return None
    import uvloop  # noqa: PLC0415 - only the server needs it, and only when chosen

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


_TERMINATED: list[int] = []
_COMMAND: list[asyncio.Task[Any]] = []  # the running command's task


def _command(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, the command's task known to SIGTERM's handler."""

    async def tracked() -> T:
        _COMMAND[:] = [task] if (task := asyncio.current_task()) else []
        if _TERMINATED:  # SIGTERM came while the command was starting
            main.close()
            raise asyncio.CancelledError
        return await main

    return asyncio.run(tracked())


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM to a command (serve has its own): ended as Ctrl-C ends it, what it started
    stopped (a job runner's SIGTERM left the embedded PostgreSQL of an import running; probe
    BM), by Ctrl-C's own way: the command's task is cancelled and its cleanup runs.
    KeyboardInterrupt raised here, at whatever line ran, was lost in the loop's callbacks (the
    import went on to the end), crashed the process, or broke a database connection and was
    told as the database gone (probe XB); a SIGINT raised instead was ignored by a command
    started in the background, which inherits SIGINT ignored (probe YA). Outside a command's
    loop, the command's task is cancelled as it starts; after it, the command ends as it
    would. Raised at once only a second time: a KeyboardInterrupt raised while Python ran a
    string of code (a dataclass being made, as modules load) made the process end by SIGINT
    (-2) after it said "terminated" (the interpreter remembers it went through there)."""
    _TERMINATED.append(signum)
    if len(_TERMINATED) > 1:
        raise KeyboardInterrupt
    task = _COMMAND[0] if _COMMAND else None
    if task is None or task.done():
        return
    task.cancel()
    task.get_loop().call_soon_threadsafe(lambda: None)  # wakes a loop waiting in select()


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a tenant's name on an ASCII-only output (XB)
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    args = parser().parse_args(argv)
    if args.command != "serve":
        signal.signal(signal.SIGTERM, _terminated)
    try:
        if sys.stdout is None and args.command not in _SILENT:  # started with >&- (probe YE)
            raise FailedPrecondition(_NO_OUTPUT)
        env = Reading(os.environ)
        settings = Settings.from_env(env)
        configure_logging(settings.log_level, settings.log_format)
        for name, meant in env.unread():  # the name only: its value may be a secret
            structlog.get_logger("consentd").warning("setting_unknown", name=name, meant=meant)
        return _dispatch(args, settings)
    except (ConfigError, UnsafeRuntimeRole) as error:
        print(f"consentd: configuration error: {error}", file=sys.stderr)
        return 2
    except ConsentError as error:
        print(f"consentd: {error.message}", file=sys.stderr)
        return 1
    except EmbeddedPostgresError as error:
        print(f"consentd: embedded PostgreSQL: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError) as stopped:  # Ctrl-C, SIGTERM: what
        if isinstance(stopped, asyncio.CancelledError) and not _TERMINATED:  # was committed
            raise  # stays (an import resumes)
        print(f"consentd: {'terminated' if _TERMINATED else 'interrupted'}", file=sys.stderr)
        return 143 if _TERMINATED else 130
    except Exception as error:
        said = _unreachable(error)
        if said is None:
            raise  # a defect: its traceback (logs.py writes it as one JSON line)
        print(f"consentd: {said}", file=sys.stderr)
        return 1


# Commands whose exit status says it all: the others write their answer to stdout, and with
# it closed they did their work and exited 0 with the answer lost (a webhook's secret).
_SILENT = ("serve", "health", "migrate")
_NO_OUTPUT = (
    "standard output is closed (>&-): this command's answer would go nowhere; give it a file "
    "or a pipe (> /dev/null to drop it)"
)


_DATABASE_HINT = (
    "check DATABASE_URL and CONSENTD_MIGRATION_DATABASE_URL: host, port, user, password, "
    "database; or the embedded PostgreSQL's log in CONSENTD_DATA_DIR"
)


def _settings_for(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings a command runs with: the purge's batch size when given (from 1); for a
    breach report, statements of up to 10 minutes (it reads a tenant's tables whole: 9 s at
    412,000 subjects, past the 5 s ceiling of a call, and it failed each time; probe YE)."""
    if args.command == "purge" and args.batch_size is not None:
        return replace(settings, purge_batch_size=args.batch_size)
    if args.command == "breach":
        return replace(settings, db_timeout_seconds=max(settings.db_timeout_seconds, 600))
    return settings


_SLOW = (
    "the database is busy or the query slow; run the command again (an export or import "
    "resumes), or give it longer (CONSENTD_DB_TIMEOUT_SECONDS, seconds a statement may take)"
)


def _unreachable(error: BaseException) -> str | None:
    """What to tell an operator of a database that cannot be reached or refuses the connection
    (a refused port, a wrong password, a missing database) or of a file the host refuses (a
    read-only data folder): its first line, never the URL. None for anything else."""
    seen: BaseException | None = error
    while seen is not None:
        if (said := _not_the_database(seen)) is not None:
            return said
        if isinstance(seen, ssl.SSLError):  # it is consentd refusing the server (probe EC)
            line = str(seen).splitlines()[0] if str(seen) else type(seen).__name__
            return (
                f"the database's TLS certificate or a TLS file was refused: {line} (check "
                "sslrootcert, sslcert, sslkey in DATABASE_URL and CONSENTD_MIGRATION_DATABASE_URL"
                ", or PGSSLROOTCERT)"
            )
        module = type(seen).__module__
        if isinstance(seen, OSError) or module.startswith("asyncpg"):
            line = str(seen).splitlines()[0] if str(seen) else type(seen).__name__
            where = "the database" if module.startswith("asyncpg") else "the host"
            # A host name that does not resolve read "the host refused" (probe EB).
            if (
                isinstance(seen, ConnectionError | TimeoutError | socket.gaierror)
                or "onnect" in line
            ):
                where = "the database"
            elif isinstance(seen, OSError) and seen.filename:
                # Which folder, and where it comes from: a read-only data folder said only
                # "the host refused: [Errno 30] ..." (probe W).
                return (
                    f"the host refused {seen.filename}: {seen.strerror or line} (consentd "
                    "writes there: check CONSENTD_DATA_DIR, or the path given)"
                )
            if where == "the host":
                return f"the host refused: {line}"
            # Which settings to look at (probe DN: "[Errno 111] Connection refused" alone).
            return f"the database refused: {line} ({_DATABASE_HINT})"
        seen = seen.__cause__ or getattr(seen, "orig", None)
    return None


def _not_the_database(seen: BaseException) -> str | None:
    """What only looks like a database failure: a purged tenant (its guard's SQLSTATE; every
    command on one said "the database refused ... check DATABASE_URL", probe GE), the command's
    output closed (`| head`; a BrokenPipeError is a ConnectionError, probe GJ)."""
    from consentd.store.database import (  # noqa: PLC0415 - only errors pay for it
        PURGED_STATE,
        timed_out_state,
    )

    if getattr(seen, "sqlstate", None) == PURGED_STATE:
        return f"{str(seen).splitlines()[0]}: its contract ended, nothing more is kept"
    # A timeout read "the database refused ... check DATABASE_URL", a database that ran (RB).
    if timed_out_state(seen) is not None:
        return f"a statement outlived CONSENTD_DB_TIMEOUT_SECONDS: {_SLOW}"
    if isinstance(seen, TimeoutError):  # a statement, or a connection that never opened
        return (
            f"the database did not answer in time: a statement ({_SLOW}), or the connection "
            f"({_DATABASE_HINT})"
        )
    if isinstance(seen, BrokenPipeError):
        return "the output was closed before the command finished writing"
    return None
