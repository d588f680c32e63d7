"""The log configuration's lines: the RPC line written directly is the line structlog writes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext
from structlog.testing import capture_logs

import consentd
from consentd.logs import configure_logging, rpc_line
from consentd.store.connections import create_engine
from consentd.store.driver import quiet_engine

FIELDS = {
    "method": "/consent.v1.ConsentService/CheckConsent",
    "code": "OK",
    "duration_ms": 1.25,
    "tenant": "acme",
    "request_id": "0123456789abcdef00000001",
}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.usefixtures("restore_logging")
def test_the_direct_rpc_line_is_the_line_structlog_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under the JSON configuration, rpc_line() writes the same keys, in the same order, with the
    same values (the call's trace and span ids included) as log.info("rpc", ...) through
    structlog; only the timestamps differ, both UTC ISO 8601 with microseconds."""
    configure_logging("info", "json")
    structlog.configure(cache_logger_on_first_use=False)
    capsys.readouterr()
    span = NonRecordingSpan(SpanContext(0xABC, 0xDEF, False))
    with trace.use_span(span):
        rpc_line(**FIELDS)
        structlog.get_logger("consentd.rpc").info("rpc", **FIELDS)
    direct, through = _lines(capsys.readouterr().err)
    assert list(direct) == list(through)
    stamps = direct.pop("timestamp"), through.pop("timestamp")
    assert (
        direct
        == through
        == {
            **FIELDS,
            "event": "rpc",
            "level": "info",
            "trace_id": f"{0xABC:032x}",
            "span_id": f"{0xDEF:016x}",
        }
    )
    for stamp in stamps:
        assert isinstance(stamp, str)
        assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0)
        assert len(stamp) == len("2026-11-30T16:33:12.868933Z")


@pytest.mark.usefixtures("restore_logging")
def test_rpc_line_goes_through_structlog_when_logs_are_captured_or_filtered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tests that capture logs see the line; above INFO it is not written at all."""
    configure_logging("info", "json")
    with capture_logs() as entries:
        rpc_line(**FIELDS)
    assert entries == [{**FIELDS, "event": "rpc", "log_level": "info"}]

    configure_logging("warning", "json")  # rpc_line's logger never keeps an earlier one
    capsys.readouterr()
    rpc_line(**FIELDS)
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("restore_logging")
def test_library_errors_and_tracebacks_are_json_lines_in_json_mode(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What libraries log through the standard library (OpenTelemetry's "Failed to detach
    context" with its traceback, asyncio's errors) is one JSON object per line, the traceback
    inside it; their INFO chatter is not written."""
    configure_logging("info", "json")
    capsys.readouterr()
    try:
        raise ValueError("<Token> was created in a different Context")
    except ValueError:
        logging.getLogger("opentelemetry.context").exception("Failed to detach context")
    logging.getLogger("uvicorn.error").info("Finished server process [1]")
    logging.getLogger("asyncio").error("Task exception was never retrieved")
    lines = capsys.readouterr().err.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == [
        "Failed to detach context",
        "Task exception was never retrieved",
    ]
    assert "ValueError" in events[0]["exception"]
    assert events[0]["level"] == "error"
    assert events[0]["logger"] == "opentelemetry.context"


@pytest.mark.usefixtures("restore_logging")
def test_an_answer_a_gone_client_could_not_get_is_not_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """grpc logs every stream answer it could not send to a client that cancelled as an error
    with a traceback (196 lines for 200 cancelled watchers): not written at INFO; grpc's other
    errors are."""
    configure_logging("info", "json")
    capsys.readouterr()
    core = logging.getLogger("grpc._cython.cygrpc")
    try:
        raise RuntimeError('Failed "execute_batch"')
    except RuntimeError:
        core.exception("ExecuteBatchError raised in core by servicer method [%s]", "/a.B/C")
        # Probe AD: a metadata value that is not UTF-8, from a caller without a key.
        core.exception("Invalid encoding on %s", b"\xff\x00\x01")
    core.error("Unexpected [%s] raised by servicer method [%s]", "KeyError", "/a.B/C")
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["event"] for e in events] == [
        "Unexpected [KeyError] raised by servicer method [/a.B/C]"
    ]


@pytest.mark.usefixtures("restore_logging")
async def test_a_cancelled_reads_connection_reset_is_not_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """asyncpg tells asyncio's exception handler when a connection comes back to its pool inside
    a transaction (a read cancelled by its client): 163 error lines for as many cancelled calls
    in a probe, for a rollback the pool does itself. Not written at INFO; the loop's other
    errors are."""
    configure_logging("info", "json")
    capsys.readouterr()
    loop = asyncio.get_running_loop()
    loop.call_exception_handler(
        {"message": "Resetting connection with an active transaction <asyncpg.Connection>"}
    )
    loop.call_exception_handler({"message": "Task was destroyed but it is pending!"})
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["event"] for e in events] == ["Task was destroyed but it is pending!"]


@pytest.mark.usefixtures("restore_logging")
def test_a_lost_databases_pool_noise_is_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    """While the database is gone, asyncpg's pool retried its floor every second or so and
    SQLAlchemy failed to close connections, each a warning or error with a traceback (probe
    BB); the health probe says it once. Other lines of those loggers are written."""
    configure_logging("info", "json")
    capsys.readouterr()
    pool = logging.getLogger("asyncpg.pool")
    sqlalchemy_pool = logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
    try:
        raise ConnectionRefusedError("gone")
    except ConnectionRefusedError:
        pool.warning("Failed to restore the pool connection floor; retrying", exc_info=True)
        sqlalchemy_pool.error("Exception closing connection %r", "<conn>", exc_info=True)
        sqlalchemy_pool.error("Exception terminating connection %r", "<conn>", exc_info=True)
    pool.warning("something else")
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["event"] for e in events] == ["something else"]


def test_no_engine_prints_its_statements_values() -> None:
    """Probe DW: a write failing through SQLAlchemy logged `[parameters: (...)]`: its replay
    answer, the caller's key id, the idempotency key. Every engine hides them: the pools', and
    the one-off ones (start checks, migrations, clock); none is made any other way."""
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    for engine in (create_engine(url, 1), quiet_engine(url)):
        assert engine.sync_engine.hide_parameters
    service = Path(consentd.__file__).parent
    makers = [
        str(path.relative_to(service))
        for path in service.rglob("*.py")
        if "create_async_engine(" in path.read_text(encoding="utf-8")
    ]
    assert makers == ["store/driver.py"]
