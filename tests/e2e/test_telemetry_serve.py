"""Observability of a real `consentd serve`: /metrics over HTTP, spans to an OTLP collector,
trace ids in its JSON log lines, and no personal data in any of them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from consent.v1 import catalog_pb2, catalog_pb2_grpc, consent_pb2, consent_pb2_grpc, types_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.conftest import bearer
from tests.e2e.test_telemetry import EMAIL, IP, NATIONAL_PHONE, PERSONAL, PHONE, USER_AGENT

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
CHECK = "/consent.v1.ConsentService/CheckConsent"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP/gRPC trace collector that keeps what it is sent."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, int]]:
    kept = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(kept, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield kept, port
    finally:
        await server.stop(grace=None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _healthy(port: int, child: asyncio.subprocess.Process, stderr: Path) -> None:
    deadline = time.monotonic() + 60
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            assert child.returncode is None, stderr.read_text()  # noqa: ASYNC240 - it ended
            assert time.monotonic() < deadline, "consentd serve did not become healthy in 60 s"
            try:
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                return
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.3)


async def _calls(port: int, key: str) -> None:
    """A purpose, a RecordConsent with an email, a phone and an IP, and a CheckConsent that
    carries the caller's traceparent."""
    target = types_pb2.ConsentTarget(
        purpose="newsletter",
        channel=types_pb2.CHANNEL_EMAIL,
        scope=types_pb2.PARTY_SCOPE_FIRST_PARTY,
    )
    metadata = bearer(key)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        consent = consent_pb2_grpc.ConsentServiceStub(channel)
        purpose = catalog_pb2.Purpose(
            purpose_id="newsletter", lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT
        )
        await catalog.PutPurpose(catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=metadata)
        await consent.RecordConsent(
            consent_pb2.RecordConsentRequest(
                subject=types_pb2.SubjectIdentity(email=EMAIL, phone=PHONE),
                choices=[
                    consent_pb2.ConsentChoice(target=target, state=types_pb2.CONSENT_STATE_GRANTED)
                ],
                source=types_pb2.SOURCE_PORTAL,
                evidence=types_pb2.Evidence(ip_address=IP, user_agent=USER_AGENT),
            ),
            metadata=metadata,
        )
        traced = (*metadata, ("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"))
        answer = await consent.CheckConsent(
            consent_pb2.CheckConsentRequest(
                subject=types_pb2.SubjectRef(phone=NATIONAL_PHONE), target=target
            ),
            metadata=traced,
        )
        assert answer.decision == consent_pb2.DECISION_ALLOW


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain")
        text: str = reply.read().decode()
        return text


async def _scrape_until(port: int, wanted: re.Pattern[str]) -> str:
    """/metrics, read again until `wanted` is in it (the first purge runs ~1 s after start)."""
    deadline = time.monotonic() + 30
    while True:
        text = await asyncio.to_thread(_scrape, port)
        if wanted.search(text) or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.3)


def _local_key(env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "consentd", "local-key"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()


async def test_serve_exposes_metrics_spans_and_trace_ids(
    collector: tuple[Collector, int],
) -> None:
    """`consentd serve` with CONSENTD_METRICS_ADDRESS and OTEL_EXPORTER_OTLP_ENDPOINT: /metrics
    has the RPC histogram by method and code, decisions by reason, pool gauges and purge
    counters; the collector receives the RPC spans with their statements as children; the
    caller's trace id is in the check's log line; no personal data anywhere."""
    kept, collector_port = collector
    data = Path(tempfile.mkdtemp(prefix="consentd-telemetry-"))
    data.chmod(0o711)  # noqa: ASYNC240 - as root, PostgreSQL runs as `postgres` and traverses it
    port, metrics_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "CONSENTD_DATA_DIR": str(data),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": f"127.0.0.1:{_free_port()}",
        "CONSENTD_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
        "CONSENTD_LOG_FORMAT": "json",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "2",
        "CONSENTD_DB_POOL_SIZE": "3",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    stderr = data / "stderr.log"
    purged = re.compile(r'consentd_purge_runs_total\{outcome="done"\} [1-9]')
    with open(stderr, "w") as sink:  # noqa: ASYNC230 - a file handed to the child
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "consentd", "serve", env=env, stderr=sink
        )
    try:
        await _healthy(port, child, stderr)
        await _calls(port, await asyncio.to_thread(_local_key, env))
        text = await _scrape_until(metrics_port, purged)
        child.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(child.wait(), 60) == 0
        err = stderr.read_text()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        shutil.rmtree(data, ignore_errors=True)

    method = f'method="{CHECK}"'
    # One CheckConsent, timed: counted, whatever its bucket (the first call of a fresh serve on a
    # loaded CI machine may take longer than 0.5 s).
    assert f'consentd_rpc_duration_seconds_count{{code="OK",{method}}} 1.0' in text
    assert f'consentd_rpc_duration_seconds_bucket{{code="OK",le="+Inf",{method}}} 1.0' in text
    assert 'consentd_decisions_total{decision="allow",reason="granted"} 1.0' in text
    # Any value: the purge scheduled every 2 s may hold a writing connection at scrape time.
    assert re.search(r'consentd_db_pool_connections\{pool="writes",state="in_use"\} \d', text)
    assert 'consentd_db_pool_max_connections{pool="reads"}' in text
    # The writers' pool holds 2 x CONSENTD_DB_POOL_SIZE without overflow: it read 12, twice its
    # limit, so a full pool showed half used.
    assert 'consentd_db_pool_max_connections{pool="writes"} 6.0' in text
    assert purged.search(text)
    assert "consentd_purged_rows_total" in text
    assert "process_cpu_seconds_total" in text
    # Health as a series (probe DB: a database gone showed only in the rpc codes).
    assert re.search(r"^consentd_serving 1\.0$", text, re.M), text
    stalled = re.search(r"^consentd_audit_sequencer_stalled_seconds (\S+)$", text, re.M)
    assert stalled is not None
    assert float(stalled.group(1)) < 30  # swept every second here

    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (check_line,) = [e for e in lines if e.get("event") == "rpc" and e["method"] == CHECK]
    assert check_line["trace_id"] == TRACE_ID
    assert any(e.get("event") == "purge" and len(e.get("trace_id", "")) == 32 for e in lines)

    spans = kept.spans()
    (check_span,) = [s for s in spans if s.name == CHECK[1:]]
    assert check_span.trace_id.hex() == TRACE_ID
    assert check_span.parent_span_id.hex() == PARENT_ID
    (record_span,) = [s for s in spans if s.name.endswith("/RecordConsent")]
    statements = [s for s in spans if s.parent_span_id == record_span.span_id]
    assert statements
    assert all(s.trace_id == record_span.trace_id for s in statements)
    assert any(s.name == "retention.run" for s in spans)

    exported = b"".join(request.SerializeToString() for request in kept.requests)
    for value in PERSONAL:
        assert value.encode() not in exported, f"personal data {value!r} in an exported span"
        assert value not in err, f"personal data {value!r} in the logs"
