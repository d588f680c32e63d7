"""structlog, configured once by the composition root: JSON unless on a terminal."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from typing import Any, BinaryIO

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger


def add_trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The current span's trace and span ids (W3C hex), when a line is written inside an RPC
    or a job: every call has a valid span (telemetry/tracing.py), recorded or not."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = context.trace_id.to_bytes(16).hex()
        event["span_id"] = context.span_id.to_bytes(8).hex()
    return event


@functools.lru_cache(maxsize=4)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def add_timestamp(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """`timestamp`: UTC, ISO 8601 with microseconds and a Z, as structlog's TimeStamper; the
    text of the second is formatted once per second (TimeStamper formats a datetime for every
    line: a fifth of the cost of the line every RPC writes)."""
    now = time.time()
    whole = int(now)
    event["timestamp"] = f"{_second(whole)}.{int((now - whole) * 1_000_000):06d}Z"
    return event


class _Direct:
    """Where configure_logging sends JSON lines when INFO is written, and its renderer."""

    stream: BinaryIO | None = None
    renderer: object = None


_DIRECT = _Direct()


def rpc_line(**fields: Any) -> None:
    """The line every RPC writes: what `log.info("rpc", **fields)` writes. Under the service's
    own JSON configuration it is rendered here, the same processors called directly (structlog's
    bound-logger chain around them cost as much again: ~4 % of a check under load); through
    structlog otherwise (console, a level above INFO, tests that capture or reconfigure logs).
    Raises OSError or ValueError when the sink is broken."""
    stream = _DIRECT.stream
    if stream is not None:
        processors = structlog.get_config()["processors"]
        if processors and processors[-1] is _DIRECT.renderer:
            fields["event"] = "rpc"
            fields["level"] = "info"
            add_trace_ids(None, "info", fields)
            add_timestamp(None, "info", fields)
            stream.write(orjson.dumps(fields) + b"\n")
            stream.flush()
            return
    # A fresh proxy each time (off the hot path): one cached under an earlier configuration
    # kept writing there, past a later one (structlog's capture_logs in tests saw nothing).
    structlog.get_logger("consentd.rpc").info("rpc", **fields)


def _colours() -> bool:
    """Colour on a terminal unless NO_COLOR is set (no-color.org) or TERM is dumb (probe XB)."""
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def configure_logging(level: str, fmt: str) -> None:
    """`fmt` is json, console or auto (console on a terminal, JSON otherwise)."""
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor
    factory: structlog.PrintLoggerFactory | structlog.BytesLoggerFactory
    if console:
        renderer = structlog.dev.ConsoleRenderer(colors=_colours())
        factory = structlog.PrintLoggerFactory(sys.stderr)
    else:
        # orjson straight to bytes: half the cost of json + print for the line every RPC writes.
        # Keys that are not plain str (an enum, SQLAlchemy's quoted_name) are written as text:
        # orjson refused them, and the line's caller raised (the scheduled purge died of it).
        renderer = structlog.processors.JSONRenderer(
            serializer=orjson.dumps, option=orjson.OPT_NON_STR_KEYS
        )
        factory = structlog.BytesLoggerFactory(sys.stderr.buffer)
    threshold = logging.getLevelNamesMapping()[level.upper()]
    direct = not console and threshold <= logging.INFO
    _DIRECT.stream, _DIRECT.renderer = (sys.stderr.buffer, renderer) if direct else (None, None)
    _route_standard_logging(threshold, console)
    structlog.configure(
        # (No contextvars merging: nothing binds any; the call's ids come from its span.)
        processors=[
            structlog.processors.add_log_level,
            add_trace_ids,
            add_timestamp,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )


def _route_standard_logging(threshold: int, console: bool) -> None:
    """What libraries log through the standard library (asyncio, uvicorn, grpc, OpenTelemetry's
    "Failed to detach context") is rendered as our own lines: in JSON mode, JSON on every line,
    a traceback inside its event (`exception`), never printed raw. Uncaught exceptions too."""
    shared: list[structlog.typing.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_trace_ids,
        add_timestamp,
    ]
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=_colours())
        if console
        else structlog.processors.JSONRenderer(serializer=_json_text)
    )
    handler = _CurrentStderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    # Libraries' own INFO lines (uvicorn's start and stop, alembic's context) were never
    # written: warnings and errors are what an operator needs from them.
    root.setLevel(max(threshold, logging.WARNING))
    # uvicorn warns once per malformed request or Upgrade header: a client could fill the logs.
    # Its errors (an exception in the app) are still written.
    logging.getLogger("uvicorn.error").setLevel(max(threshold, logging.ERROR))
    for name, prefixes in _DEMOTED.items():
        library = logging.getLogger(name)
        if not any(isinstance(f, _Demoted) for f in library.filters):
            library.addFilter(_Demoted(prefixes))
    if not console:
        sys.excepthook = _log_uncaught


# Libraries' errors that say nothing an operator can act on (logger, start of the message):
# - grpc's "ExecuteBatchError raised in core by servicer method [...]": an answer a stream could
#   not send because its client cancelled or the server is stopping, with a traceback (200
#   watchers cancelling wrote 196); the call's own `rpc` line says how it ended;
# - asyncpg's "Resetting connection with an active transaction" (through asyncio's exception
#   handler): a read cancelled by its client or deadline returned its connection mid-way, and
#   the pool rolls it back (a probe counted 163 error lines for as many cancelled calls);
# - grpc's "Invalid encoding on b'...'", with a traceback: a caller's metadata value that is not
#   UTF-8 (the call is answered all the same); anyone, without a key, wrote one per call (probe
#   AD);
# - asyncpg's "Failed to restore the pool connection floor; retrying" and SQLAlchemy's
#   "Exception closing/terminating connection", each with a traceback, every second or so while
#   the database is gone (probe BB): the health probe's `database_lost` and
#   `pool_close_timed_out` say it once.
_DEMOTED = {
    "grpc._cython.cygrpc": (
        "ExecuteBatchError raised in core by servicer method",
        "Invalid encoding on",
    ),
    "asyncio": ("Resetting connection with an active transaction",),
    "asyncpg.pool": ("Failed to restore the pool connection floor",),
    "sqlalchemy.pool.impl.AsyncAdaptedQueuePool": (
        "Exception closing connection",
        "Exception terminating connection",
    ),
}


class _Demoted(logging.Filter):
    """Written at DEBUG only: one of _DEMOTED's messages."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith(self._prefixes):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is when a line is written (tests swap it; a handler holding
    the stream of its creation would write to a closed one)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _json_text(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def _log_uncaught(kind: type[BaseException], error: BaseException, tb: Any) -> None:
    logging.getLogger("consentd").critical("uncaught", exc_info=(kind, error, tb))
