"""Telemetry settings and the pieces of telemetry/ that need no server."""

from __future__ import annotations

import socket
import time
from uuid import uuid4

import asyncpg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from consentd.app.checks import CheckResult
from consentd.config import ConfigError, Settings
from consentd.domain.model import Decision, LawfulBasis, Reason, Verdict
from consentd.logs import add_trace_ids
from consentd.telemetry import Metrics, PoolUsage, Telemetry, Tracing


def test_metrics_on_loopback_and_no_exporter_by_default() -> None:
    """With nothing set: metrics on 127.0.0.1:9464, no trace exporter."""
    settings = Settings.from_env({})
    assert settings.metrics_address == "127.0.0.1:9464"
    assert settings.otlp_endpoint is None


@pytest.mark.parametrize("value", ["off", "OFF", "false", "none"])
def test_metrics_port_can_be_turned_off(value: str) -> None:
    """CONSENTD_METRICS_ADDRESS=off opens no metrics port."""
    assert Settings.from_env({"CONSENTD_METRICS_ADDRESS": value}).metrics_address is None


def test_metrics_address_must_be_host_and_port() -> None:
    """A metrics address without a port is refused, naming the variable."""
    with pytest.raises(ConfigError, match="CONSENTD_METRICS_ADDRESS"):
        Settings.from_env({"CONSENTD_METRICS_ADDRESS": "[::1]"})
    wide = {"CONSENTD_METRICS_ADDRESS": "[::]:9100"}
    assert Settings.from_env(wide).metrics_address == "[::]:9100"


def test_otlp_endpoint_from_the_standard_variables() -> None:
    """The traces endpoint wins over the general one; either turns export on."""
    general = "http://collector:4317"
    assert Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": general}).otlp_endpoint == general
    both = {"OTEL_EXPORTER_OTLP_ENDPOINT": general, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "x:1"}
    assert Settings.from_env(both).otlp_endpoint == "x:1"


def test_only_otlp_over_grpc() -> None:
    """An OTLP protocol other than grpc is refused rather than silently not exported."""
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        Settings.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    assert Settings.from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).otlp_endpoint is None


def test_without_exporter_spans_are_not_recorded_but_have_ids() -> None:
    """No exporter: the RPC span records nothing, asyncpg is left alone, and a log line written
    during the call still gets the span's trace and span ids."""
    telemetry = Telemetry()
    call = telemetry.rpc("/consent.v1.ConsentService/CheckConsent", {})
    try:
        assert not call.span.is_recording()
        assert not hasattr(asyncpg.Connection.fetch, "__wrapped__")
        event = add_trace_ids(None, "info", {"event": "rpc"})
        context = call.span.get_span_context()
        assert event["trace_id"] == format(context.trace_id, "032x")
        assert event["span_id"] == format(context.span_id, "016x")
        assert context.trace_id != 0
        seconds = telemetry.finish(call, "/consent.v1.ConsentService/CheckConsent", "OK", 0, "grpc")
        assert seconds >= 0
    finally:
        call.detach()
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert "trace_id" not in add_trace_ids(None, "info", {"event": "outside"})
    telemetry.close()


def test_recording_tracing_instruments_asyncpg_until_closed() -> None:
    """An exporter turns statement spans on (asyncpg wrapped); closing turns them off."""
    tracing = Tracing(InMemorySpanExporter(), batch=False)
    try:
        assert hasattr(asyncpg.Connection.fetch, "__wrapped__")
    finally:
        tracing.close()
    assert not hasattr(asyncpg.Connection.fetch, "__wrapped__")


def test_otlp_without_endpoint_exports_nothing() -> None:
    """Tracing.otlp(None) records nothing; with an endpoint it records (exporter made)."""
    assert not Tracing.otlp(None).recording
    tracing = Tracing.otlp("http://127.0.0.1:9")
    try:
        assert tracing.recording
    finally:
        tracing.close()


def test_decisions_counted_by_label_never_by_subject() -> None:
    """A batch of answers is tallied by (decision, reason); the pool collector skips a pool
    not opened yet; purge outcomes exist at 0 from the start."""
    metrics = Metrics()
    basis = LawfulBasis.CONSENT
    withdrawn = CheckResult(Verdict(Decision.DENY, Reason.WITHDRAWN), uuid4(), basis)
    granted = CheckResult(Verdict(Decision.ALLOW, Reason.GRANTED), uuid4(), basis)
    metrics.decided([withdrawn, granted, withdrawn])
    metrics.decided([granted])
    metrics.watch_pool("reads", lambda: None)
    metrics.watch_pool("writes", lambda: PoolUsage(1, 2, 6))
    metrics.purge("done", {"cookie_choices": 3})
    text = generate_latest(metrics.registry).decode()
    assert 'consentd_decisions_total{decision="deny",reason="withdrawn"} 2.0' in text
    assert 'consentd_decisions_total{decision="allow",reason="granted"} 2.0' in text
    assert 'pool="reads"' not in text
    assert 'consentd_db_pool_connections{pool="writes",state="in_use"} 1.0' in text
    assert 'consentd_db_pool_max_connections{pool="writes"} 6.0' in text
    assert 'consentd_purged_rows_total{category="cookie_choices"} 3.0' in text
    assert 'consentd_purge_runs_total{outcome="failed"} 0.0' in text


def test_service_name_is_consentd_unless_the_environment_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spans say service.name=consentd; OTEL_SERVICE_NAME, when set, wins."""
    tracing = Tracing()
    assert tracing.provider.resource.attributes["service.name"] == "consentd"
    tracing.close()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "consentd-eu-1")
    tracing = Tracing()
    assert tracing.provider.resource.attributes["service.name"] == "consentd-eu-1"
    tracing.close()


def test_closing_does_not_wait_for_a_collector_that_never_answers() -> None:
    """A collector that takes the connection and never answers held the exit ~20 s while the
    exporter retried (probe AO): close() gives up after its bound, with a warning."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        tracing = Tracing.otlp(f"http://127.0.0.1:{silent.getsockname()[1]}")
        with tracing.tracer.start_as_current_span("buffered"):
            pass
        started = time.monotonic()
        with capture_logs() as logs:
            tracing.close(seconds=0.5)
        assert time.monotonic() - started < 2.0
        assert [e["event"] for e in logs] == ["traces_not_exported"]
    finally:
        silent.close()
