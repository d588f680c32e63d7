"""structlog, configured once by the composition root: JSON unless on a terminal."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger


def add_trace_ids(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The current span's trace and span ids (W3C hex), when a line is written inside an RPC
    or a job: every call has a valid span (telemetry.py), recorded or not."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = context.trace_id.to_bytes(16).hex()
        event["span_id"] = context.span_id.to_bytes(8).hex()
    return event


def configure_logging(level: str, fmt: str) -> None:
    """`fmt` is json, console or auto (console on a terminal, JSON otherwise)."""
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor
    factory: structlog.PrintLoggerFactory | structlog.BytesLoggerFactory
    if console:
        renderer = structlog.dev.ConsoleRenderer()
        factory = structlog.PrintLoggerFactory(sys.stderr)
    else:
        # orjson straight to bytes: half the cost of json + print for the line every RPC writes.
        renderer = structlog.processors.JSONRenderer(serializer=orjson.dumps)
        factory = structlog.BytesLoggerFactory(sys.stderr.buffer)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_trace_ids,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
