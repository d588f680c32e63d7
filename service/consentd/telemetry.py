"""Traces and metrics of one process, built by the composition root.

Traces: one SERVER span per RPC (started by the one interceptor, api/interceptors.py, and the
browser port's gate) and one CLIENT span per database statement (asyncpg's instrumentation:
every statement, SQLAlchemy's included, reaches PostgreSQL through asyncpg). With no exporter
configured nothing is recorded: spans are the SDK's non-recording ones (always-off sampler),
which still carry a trace id — the caller's when it sent `traceparent`, else a fresh one — so
every log line of a call names its trace. Statement spans are only made when spans are exported.

No personal data in a span: RPC spans carry the method, the status code, the tenant's slug and
the request id; never the request, the peer address or an exception's text. Statement spans
carry the SQL text with its $n placeholders, never the bound values (capture_parameters off).

Metrics: prometheus_client counters and histograms in a registry of the process, served as
Prometheus text on the metrics port (serve_metrics). Labels are methods, codes, decisions,
reasons, pool and category names: never a subject, an identifier or an address.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from consent.v1 import consent_pb2
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

# Seconds; from a cached check (~0.5 ms) to a slow export page.
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TRACEPARENT = "traceparent"
PURGE_OUTCOMES = ("done", "locked_out", "failed")
_PROPAGATOR = TraceContextTextMapPropagator()


class PoolUsage(NamedTuple):
    """Connections of one database pool: checked out, idle in the pool, and the most it opens."""

    in_use: int
    idle: int
    limit: int


class _Pools(Collector):
    """Pool gauges, read when scraped: nothing on the request path."""

    def __init__(self) -> None:
        self.pools: dict[str, Callable[[], PoolUsage | None]] = {}

    def collect(self) -> Iterable[Metric]:
        used = GaugeMetricFamily(
            "consentd_db_pool_connections",
            "Database connections of a pool, by state (in_use, idle)",
            labels=["pool", "state"],
        )
        limit = GaugeMetricFamily(
            "consentd_db_pool_max_connections",
            "The most connections a pool opens",
            labels=["pool"],
        )
        for name, read in self.pools.items():
            usage = read()
            if usage is None:  # not opened yet
                continue
            used.add_metric([name, "in_use"], usage.in_use)
            used.add_metric([name, "idle"], usage.idle)
            limit.add_metric([name], usage.limit)
        return [used, limit]


def _names(enum: Any, prefix: str) -> dict[int, str]:
    return {value: name.removeprefix(prefix).lower() for name, value in enum.items()}


_DECISIONS = _names(consent_pb2.Decision, "DECISION_")
_REASONS = _names(consent_pb2.Reason, "REASON_")


class Metrics:
    """The process's series, in a registry of their own (a test process may hold several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpc_duration = Histogram(
            "consentd_rpc_duration_seconds",
            "Time to answer an RPC (or to end a stream), by method and status code",
            ["method", "code"],
            buckets=RPC_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "consentd_decisions",
            "Check answers by decision (allow, deny) and reason (granted, withdrawn, ...)",
            ["decision", "reason"],
            registry=self.registry,
        )
        self.purge_runs = Counter(
            "consentd_purge_runs",
            "Scheduled retention runs, by outcome (done, locked_out, failed)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in PURGE_OUTCOMES:  # present at 0 from the start, for rate()
            self.purge_runs.labels(outcome)
        self.purged = Counter(
            "consentd_purged_rows",
            "Rows deleted by scheduled retention runs, by category",
            ["category"],
            registry=self.registry,
        )
        self._pools = _Pools()
        self.registry.register(self._pools)
        # CPU, memory, open files and the Python version, as every Prometheus client serves.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self._durations: dict[tuple[str, str], Any] = {}
        self._decided: dict[tuple[int, int], Any] = {}

    def watch_pool(self, name: str, read: Callable[[], PoolUsage | None]) -> None:
        self._pools.pools[name] = read

    def rpc(self, method: str, code: str, seconds: float) -> None:
        child = self._durations.get((method, code))
        if child is None:
            child = self._durations[method, code] = self.rpc_duration.labels(method, code)
        child.observe(seconds)

    def decided(self, decision: int, reason: int, count: int = 1) -> None:
        child = self._decided.get((decision, reason))
        if child is None:
            labels = (_DECISIONS.get(decision, "unknown"), _REASONS.get(reason, "unknown"))
            child = self._decided[decision, reason] = self.decisions.labels(*labels)
        child.inc(count)

    def purge(self, outcome: str, deleted: Mapping[str, int] | None = None) -> None:
        self.purge_runs.labels(outcome).inc()
        for category, rows in (deleted or {}).items():
            self.purged.labels(category).inc(rows)

    def observer(self, method: str) -> Callable[[Any], None] | None:
        """What counts the decisions in a response of `method`; None for a method that decides
        nothing (most: they pay nothing)."""
        if method == "/consent.v1.ConsentService/CheckConsent":
            return lambda response: self.decided(response.decision, response.reason)
        if method in (
            "/consent.v1.CampaignService/BatchCheckConsent",
            "/consent.v1.CampaignService/StreamCheckConsent",
        ):
            return self._answers
        return None

    def _answers(self, response: Any) -> None:
        tally: dict[tuple[int, int], int] = {}
        for answer in response.answers:
            key = (answer.decision, answer.reason)
            tally[key] = tally.get(key, 0) + 1
        for (decision, reason), count in tally.items():
            if decision:  # a malformed recipient's answer decides nothing
                self.decided(decision, reason, count)


class Tracing:
    """The tracer of the process. `exporter` None: nothing recorded (see the module docstring);
    `batch` False exports each span as it ends (tests)."""

    def __init__(self, exporter: SpanExporter | None = None, *, batch: bool = True) -> None:
        resource = Resource.create({SERVICE_NAME: "consentd"})
        self.recording = exporter is not None
        if exporter is None:
            self.provider = TracerProvider(sampler=ALWAYS_OFF, resource=resource)
        else:
            # The sampler is the SDK's default or OTEL_TRACES_SAMPLER's.
            self.provider = TracerProvider(resource=resource)
            processor: SpanProcessor
            if batch:
                processor = BatchSpanProcessor(exporter)
            else:
                from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: PLC0415

                processor = SimpleSpanProcessor(exporter)
            self.provider.add_span_processor(processor)
            # Process-wide (it patches asyncpg's classes): one recording Tracing at a time.
            instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
            instrumentor.instrument(tracer_provider=self.provider)
        self.tracer = self.provider.get_tracer("consentd")

    @classmethod
    def otlp(cls, endpoint: str | None) -> Tracing:
        """Spans to an OTLP/gRPC collector at `endpoint`; None: no exporter."""
        if endpoint is None:
            return cls()
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return cls(OTLPSpanExporter(endpoint=endpoint))

    def close(self) -> None:
        """Export what is buffered and stop instrumenting statements."""
        if self.recording:
            AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        self.provider.shutdown()


class Rpc:
    """The span and timing of one call, current (so statement spans and log lines are its
    children) from construction until finish()."""

    __slots__ = ("_token", "span", "started")

    def __init__(self, tracer: trace.Tracer, name: str, carrier: Mapping[str, str]) -> None:
        parent = _PROPAGATOR.extract(carrier) if TRACEPARENT in carrier else None
        self.span = tracer.start_span(
            name,
            parent,
            kind=SpanKind.SERVER,
            record_exception=False,
            set_status_on_exception=False,
        )
        self._token = otel_context.attach(trace.set_span_in_context(self.span, parent))
        self.started = time.perf_counter()

    def end(self, code: str, attributes: Mapping[str, Any]) -> float:
        """End the span with the status `code` (a gRPC code name); the call's duration in
        seconds. Leaves the span current: call detach() after the last log line."""
        seconds = time.perf_counter() - self.started
        span = self.span
        if span.is_recording():
            span.set_attributes(attributes)
            if code != "OK":
                span.set_status(Status(StatusCode.ERROR, code))
        span.end()
        return seconds

    def detach(self) -> None:
        otel_context.detach(self._token)


class Telemetry:
    """What the RPC layer and the jobs report to."""

    def __init__(self, tracing: Tracing | None = None, metrics: Metrics | None = None) -> None:
        self.tracing = tracing or Tracing()
        self.metrics = metrics or Metrics()
        self._attributes: dict[str, dict[str, Any]] = {}

    def rpc(self, method: str, carrier: Mapping[str, str]) -> Rpc:
        """Start the span of `method` ("/package.Service/Method"), child of the caller's
        `traceparent` when `carrier` (the call's metadata or headers) has one."""
        return Rpc(self.tracing.tracer, method[1:], carrier)

    def finish(
        self, call: Rpc, method: str, code: str, status: int, protocol: str, **extra: str
    ) -> float:
        """End the call's span and observe its duration; returns the duration in seconds."""
        attributes = self._attributes.get(method)
        if attributes is None:
            service, _, name = method[1:].rpartition("/")
            attributes = self._attributes[method] = {
                "rpc.service": service,
                "rpc.method": name,
            }
        if call.span.is_recording():
            attributes = {
                **attributes,
                "rpc.system": protocol,
                "rpc.grpc.status_code": status,
                **{f"consentd.{k}": v for k, v in extra.items()},
            }
        seconds = call.end(code, attributes)
        self.metrics.rpc(method, code, seconds)
        return seconds

    def close(self) -> None:
        self.tracing.close()


class MetricsServer:
    """Prometheus text on http://<address>/metrics, from a thread of prometheus_client's."""

    def __init__(self, registry: CollectorRegistry, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._server, self._thread = start_http_server(
            int(port), addr=host.strip("[]"), registry=registry
        )
        self.port: int = self._server.server_port

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
