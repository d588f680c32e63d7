"""Traces and metrics of one process, built by the composition root.

Traces: one SERVER span per RPC (started by the one interceptor, api/interceptors.py, and the
browser port's gate) and one CLIENT span per database statement (asyncpg's instrumentation:
every statement, SQLAlchemy's included, reaches PostgreSQL through asyncpg). With no exporter
configured nothing is recorded: an RPC's span is a non-recording one that still carries ids —
the caller's trace id when it sent `traceparent`, else a fresh one — so every log line of a
call names its trace; asyncpg is not instrumented at all.

No personal data in a span: RPC spans carry the method, the status code, the tenant's slug and
the request id; never the request, the peer address or an exception's text. Statement spans
carry the SQL text with its $n placeholders, never the bound values (capture_parameters off).

Metrics: prometheus_client counters and collectors in a registry of the process, served as
Prometheus text on the metrics port (MetricsServer). Labels are methods, codes, decisions,
reasons, pool and category names: never a subject, an identifier or an address.
"""

from __future__ import annotations

import contextlib
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import accumulate
from random import getrandbits
from typing import Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import (
    CollectorRegistry,
    Counter,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from consentd.app.checks import CheckResult
from consentd.domain.model import Decision, Reason

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


class _Durations(Collector):
    """consentd_rpc_duration_seconds: a histogram by method and code, observed on every RPC.

    prometheus_client's Histogram takes a lock per bucket and per sum (~2.5 us an observation
    on this machine); here an observation is a bisect and two additions on the event loop's
    thread (~0.5 us). The scrape (another thread) copies the counts first, so each scrape is
    consistent with itself: cumulative buckets, +Inf equal to _count."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], list[float]] = {}  # bucket counts..., then the sum

    def observe(self, method: str, code: str, seconds: float) -> None:
        series = self._series.get((method, code))
        if series is None:
            series = self._series[method, code] = [0.0] * (len(RPC_BUCKETS) + 2)
        series[bisect_left(RPC_BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(
            "consentd_rpc_duration_seconds",
            "Time to answer an RPC (or to end a stream), by method and status code",
            labels=["method", "code"],
        )
        bounds = [*(str(bound) for bound in RPC_BUCKETS), "+Inf"]
        for (method, code), series in list(self._series.items()):
            counts = list(series)
            cumulative = list(accumulate(counts[:-1]))
            family.add_metric(
                [method, code], list(zip(bounds, cumulative, strict=True)), counts[-1]
            )
        return [family]


class Metrics:
    """The process's series, in a registry of their own (a test process may hold several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rpc_duration = _Durations()
        self.registry.register(self.rpc_duration)
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
        self._decided: dict[Reason, Any] = {}

    def watch_pool(self, name: str, read: Callable[[], PoolUsage | None]) -> None:
        self._pools.pools[name] = read

    def rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpc_duration.observe(method, code, seconds)

    def decided(self, results: Sequence[CheckResult]) -> None:
        """Count check answers by decision and reason: every check is decided in a batch
        (app/checks.py; unary checks are coalesced into batches too)."""
        # Keyed by reason alone (one enum hash an answer): a reason belongs to one decision.
        tally: dict[Reason, int] = {}
        decision_of: dict[Reason, Decision] = {}
        for result in results:
            reason = result.verdict.reason
            count = tally.get(reason)
            if count is None:
                decision_of[reason] = result.verdict.decision
                count = 0
            tally[reason] = count + 1
        for reason, count in tally.items():
            child = self._decided.get(reason)
            if child is None:
                labels = (decision_of[reason].value, reason.value)
                child = self._decided[reason] = self.decisions.labels(*labels)
            child.inc(count)

    def purge(self, outcome: str, deleted: Mapping[str, int] | None = None) -> None:
        self.purge_runs.labels(outcome).inc()
        for category, rows in (deleted or {}).items():
            self.purged.labels(category).inc(rows)


class Tracing:
    """The tracer of the process. `exporter` None: nothing recorded (see the module docstring);
    `batch` False exports each span as it ends (tests)."""

    def __init__(self, exporter: SpanExporter | None = None, *, batch: bool = True) -> None:
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES as the SDK reads them; "consentd" when
        # they name no service.
        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: "consentd"}))
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
    children) from construction until detach()."""

    __slots__ = ("_token", "span", "started")

    def __init__(self, tracing: Tracing, name: str, carrier: Mapping[str, str]) -> None:
        parent = _PROPAGATOR.extract(carrier) if TRACEPARENT in carrier else None
        if tracing.recording:
            self.span = tracing.tracer.start_span(
                name,
                parent,
                kind=SpanKind.SERVER,
                record_exception=False,
                set_status_on_exception=False,
            )
        else:
            # What the SDK's always-off sampler gives, without its cost (~10 us a call): ids
            # for the logs, in the caller's trace when it sent one, and nothing recorded.
            caller = trace.get_current_span(parent).get_span_context() if parent else None
            trace_id = caller.trace_id if caller and caller.is_valid else getrandbits(128) or 1
            self.span = NonRecordingSpan(SpanContext(trace_id, getrandbits(64) or 1, False))
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
        """Make the caller's context current again. A stream the client cancelled is finished
        in another context than the one that attached: nothing to restore there (OpenTelemetry's
        own detach would log an error, "Failed to detach context", for every such stream)."""
        token: Any = self._token
        with contextlib.suppress(ValueError, RuntimeError):
            token.var.reset(token)


class Telemetry:
    """What the RPC layer and the jobs report to."""

    def __init__(self, tracing: Tracing | None = None, metrics: Metrics | None = None) -> None:
        self.tracing = tracing or Tracing()
        self.metrics = metrics or Metrics()
        self._attributes: dict[str, dict[str, Any]] = {}

    def rpc(self, method: str, carrier: Mapping[str, str]) -> Rpc:
        """Start the span of `method` ("/package.Service/Method"), child of the caller's
        `traceparent` when `carrier` (the call's metadata or headers) has one."""
        return Rpc(self.tracing, method[1:], carrier)

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
