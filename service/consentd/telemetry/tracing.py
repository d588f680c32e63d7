"""Traces: one SERVER span per RPC (started by the one interceptor, api/interceptors.py, and the
browser port's gate) and one CLIENT span per database statement (asyncpg's instrumentation:
every statement, SQLAlchemy's included, reaches PostgreSQL through asyncpg). With no exporter
configured nothing is recorded: an RPC's span is a non-recording one that still carries ids —
the caller's trace id when it sent `traceparent`, else a fresh one — so every log line of a
call names its trace; asyncpg is not instrumented at all.

No personal data in a span: RPC spans carry the method, the status code, the tenant's slug and
the request id; never the request, the peer address or an exception's text. Statement spans
carry the SQL text with its $n placeholders, never the bound values (capture_parameters off).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from random import getrandbits
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = structlog.get_logger("consentd.telemetry")
TRACEPARENT = "traceparent"
# How long close() waits for the spans still buffered to be exported.
CLOSE_SECONDS = 2.0
_PROPAGATOR = TraceContextTextMapPropagator()


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
            self.provider = TracerProvider(
                sampler=ALWAYS_OFF, resource=resource, shutdown_on_exit=False
            )
        else:
            # The sampler is the SDK's default or OTEL_TRACES_SAMPLER's.
            # Shut down by close() only, within its bound: the SDK's own at exit waited for a
            # collector that does not answer.
            self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
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

    def close(self, seconds: float = CLOSE_SECONDS) -> None:
        """Stop instrumenting statements and export what is buffered, for `seconds` at most: a
        collector that does not answer had the exporter retry for 20 s after `stopped` (probe
        AO), and an orchestrator waiting on the exit kills the process meanwhile."""
        if self.recording:
            AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        closing = threading.Thread(target=self.provider.shutdown, name="traces", daemon=True)
        closing.start()
        closing.join(seconds)
        if closing.is_alive():
            log.warning("traces_not_exported", seconds=seconds)


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
