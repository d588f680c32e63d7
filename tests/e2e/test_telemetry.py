"""Traces, metrics and trace ids in logs, in process: an app whose spans go to memory."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from http.client import HTTPConnection
from typing import Any

import grpc
import pytest
import structlog
from consent.v1 import catalog_pb2_grpc, consent_pb2, consent_pb2_grpc, cookies_pb2_grpc, types_pb2
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import generate_latest

from consentd.api.http import HttpServer
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.logs import configure_logging
from consentd.telemetry import Telemetry, Tracing
from tests.conftest import TEST_SECRET, Stubs, TestClock, bearer
from tests.e2e.helpers import by_email, check, grant, put_purpose, record, target
from tests.e2e.test_browser_port import _send, auth, http

EMAIL = "Personal.Address@Example.fr"
PHONE = "+33612345678"
NATIONAL_PHONE = "0612345678"
IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (PersonalBrowser 99)"
PERSONAL = [EMAIL, EMAIL.lower(), PHONE, NATIONAL_PHONE, "612345678", IP, USER_AGENT]
RECORD = "consent.v1.ConsentService/RecordConsent"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def traced(
    database_url: str, owner_url: str, clock: TestClock, spans: InMemorySpanExporter
) -> AsyncIterator[App]:
    """An app of its own whose spans (RPCs and statements) go to `spans` as they end."""
    telemetry = Telemetry(Tracing(spans, batch=False))
    application = bootstrap(
        Settings(), database_url, TEST_SECRET, clock, owner_url=owner_url, telemetry=telemetry
    )
    try:
        yield application
    finally:
        await application.aclose()  # uninstruments asyncpg for the other tests


@pytest.fixture
async def traced_stubs(traced: App, admin_key: str) -> AsyncIterator[Stubs]:
    server = traced.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Stubs(
                consent_pb2_grpc.ConsentServiceStub(channel),
                catalog_pb2_grpc.CatalogServiceStub(channel),
                bearer(admin_key),
                cookies_pb2_grpc.CookieServiceStub(channel),
            )
    finally:
        await server.stop(grace=1)


@pytest.fixture
def json_logs() -> Iterator[None]:
    """The service's JSON log configuration, put back as it was afterwards."""
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


def _finished(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(spans.get_finished_spans())


async def _server_spans(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    """The SERVER spans, once there is one: the caller may read its status before the server
    has ended the call's span (a loaded machine showed it)."""
    for _ in range(100):
        if found := [s for s in _finished(spans) if s.kind == SpanKind.SERVER]:
            return found
        await asyncio.sleep(0.05)
    return []


def _everything_recorded(spans: list[ReadableSpan]) -> str:
    """Every name, attribute, event and status text of the spans, as one string."""
    parts: list[Any] = []
    for span in spans:
        parts += [span.name, dict(span.attributes or {}), span.status.description]
        parts += [(event.name, dict(event.attributes or {})) for event in span.events]
        parts += [dict(link.attributes or {}) for link in span.links]
    return repr(parts)


async def _record_with_personal_data(stubs: Stubs) -> None:
    await put_purpose(stubs, "newsletter")
    evidence = types_pb2.Evidence(ip_address=IP, user_agent=USER_AGENT, reference="form-1")
    identity = types_pb2.SubjectIdentity(email=EMAIL, phone=PHONE)
    await record(stubs, identity, grant(target("newsletter")), evidence=evidence)


@pytest.mark.usefixtures("json_logs")
async def test_a_trace_of_record_consent_holds_no_personal_data(
    traced_stubs: Stubs, spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    """RecordConsent with an email, a phone and an IP address: its server span has the
    statements as children in the same trace, and no span attribute, event or status nor any
    log line carries the email, the phone or the IP address in any of their forms."""
    configure_logging("info", "json")
    structlog.configure(cache_logger_on_first_use=False)
    capsys.readouterr()
    spans.clear()
    await _record_with_personal_data(traced_stubs)
    await check(traced_stubs, types_pb2.SubjectRef(email=EMAIL), target("newsletter"))
    with pytest.raises(grpc.aio.AioRpcError):
        await check(traced_stubs, types_pb2.SubjectRef(phone=NATIONAL_PHONE), target("nope"))
    logs = capsys.readouterr().err
    finished = _finished(spans)

    (rpc,) = [s for s in finished if s.name == RECORD]
    assert rpc.kind == SpanKind.SERVER
    assert rpc.attributes is not None
    assert rpc.attributes["rpc.grpc.status_code"] == 0
    assert rpc.attributes["rpc.method"] == "RecordConsent"
    assert rpc.context is not None
    trace_id = rpc.context.trace_id
    children = [s for s in finished if s.parent and s.parent.span_id == rpc.context.span_id]
    statements = [s for s in children if s.kind == SpanKind.CLIENT]
    assert len(statements) >= 2, [s.name for s in children]
    assert all(s.context is not None and s.context.trace_id == trace_id for s in statements)
    assert all((s.attributes or {}).get("db.system") == "postgresql" for s in statements)
    assert not any("db.statement.parameters" in (s.attributes or {}) for s in finished)

    recorded = _everything_recorded(finished)
    for value in PERSONAL:
        assert value not in recorded, f"personal data {value!r} in a span"
        assert value not in logs, f"personal data {value!r} in the logs"
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    (line,) = [e for e in lines if e.get("event") == "rpc" and e["method"] == f"/{RECORD}"]
    assert line["trace_id"] == format(trace_id, "032x")
    assert line["span_id"] == format(rpc.context.span_id, "016x")


async def test_failed_rpc_span_has_the_code_and_no_message(
    traced_stubs: Stubs, spans: InMemorySpanExporter
) -> None:
    """A refused call's span is an error with its gRPC code and status number, never the
    error message (which may quote the request)."""
    spans.clear()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await check(traced_stubs, types_pb2.SubjectRef(email=EMAIL), target("no-such-purpose"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    (span,) = await _server_spans(spans)
    assert span.status.description == "NOT_FOUND"
    assert (span.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert not span.events


async def test_a_callers_traceparent_is_the_parent_of_the_rpc_span(
    traced_stubs: Stubs, spans: InMemorySpanExporter
) -> None:
    """A call that carries W3C `traceparent` metadata is traced in the caller's trace."""
    spans.clear()
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    metadata = (*traced_stubs.metadata, ("traceparent", f"00-{trace_id}-{parent}-01"))
    request = consent_pb2.CheckConsentRequest(
        subject=types_pb2.SubjectRef(email="someone@example.fr"), target=target("newsletter")
    )
    await put_purpose(traced_stubs, "newsletter")
    await traced_stubs.consent.CheckConsent(request, metadata=metadata)
    (span,) = [s for s in await _server_spans(spans) if s.name.endswith("/CheckConsent")]
    assert span.context is not None
    assert span.parent is not None
    assert format(span.context.trace_id, "032x") == trace_id
    assert format(span.parent.span_id, "016x") == parent


async def test_metrics_count_rpcs_and_decisions(traced: App, traced_stubs: Stubs) -> None:
    """The registry has the RPC's duration by method and code, the decisions by reason, and
    the pools' connections. Reading a person's consents decides nothing: GetSubjectConsents
    (which says what checks would answer) counted a decision per row (probe HF)."""
    await put_purpose(traced_stubs, "newsletter")
    await check(traced_stubs, types_pb2.SubjectRef(email="nobody@example.fr"), target("newsletter"))
    granted = types_pb2.SubjectIdentity(email="granted@example.fr")
    await record(traced_stubs, granted, grant(target("newsletter")))
    await traced_stubs.consent.GetSubjectConsents(
        consent_pb2.GetSubjectConsentsRequest(subject=by_email("granted@example.fr")),
        metadata=traced_stubs.metadata,
    )
    text = generate_latest(traced.telemetry.metrics.registry).decode()
    assert 'consentd_decisions_total{decision="allow"' not in text
    method = "/consent.v1.ConsentService/CheckConsent"
    assert f'consentd_rpc_duration_seconds_count{{code="OK",method="{method}"}} 1.0' in text
    assert 'consentd_decisions_total{decision="deny",reason="no_record"} 1.0' in text
    assert 'consentd_db_pool_connections{pool="writes",state="idle"}' in text
    assert 'consentd_db_pool_max_connections{pool="reads"} 10.0' in text


async def test_browser_port_calls_have_spans_and_durations(
    traced: App, admin_key: str, spans: InMemorySpanExporter
) -> None:
    """A CheckConsent over Connect (the browser port) is a server span of rpc.system
    connect_rpc with its status, and its duration counts in the same series as gRPC's."""
    server = HttpServer(traced.browser_app(), grace=1)
    port = await server.start("127.0.0.1:0")
    try:
        spans.clear()
        body = {"subject": {"email": "visitor@example.fr"}, "target": {"purpose": "nope"}}
        status, _, _ = await http(
            port, "/consent.v1.ConsentService/CheckConsent", body, auth(admin_key)
        )
    finally:
        await server.stop()
    assert status == 400  # INVALID_ARGUMENT: no channel in the target
    (span,) = [s for s in _finished(spans) if s.kind == SpanKind.SERVER]
    assert span.name == "consent.v1.ConsentService/CheckConsent"
    assert (span.attributes or {})["rpc.system"] == "connect_rpc"
    assert (span.attributes or {})["rpc.grpc.status_code"] == 3
    text = generate_latest(traced.telemetry.metrics.registry).decode()
    assert 'code="INVALID_ARGUMENT",method="/consent.v1.ConsentService/CheckConsent"' in text


@pytest.mark.usefixtures("json_logs")
async def test_browser_port_refusals_before_the_gate_are_counted(
    traced: App, admin_key: str
) -> None:
    """On the browser port, a call without a valid credential and a body that does not decode
    were refused before the gate ran: no `rpc` sample, no duration, invisible to monitoring
    ("every RPC of both ports"; the gRPC port counted both). Each is counted with its code; a
    made-up method is counted as `unknown`, not as a label of its own, with a key or without
    (with one, connectrpc's own 404 was not counted), and so are a tenant's slug where its id
    goes and a second Origin header (probe YB)."""
    server = HttpServer(traced.browser_app(), grace=1)
    port = await server.start("127.0.0.1:0")
    check = "/consent.v1.ConsentService/CheckConsent"
    made_up_path = "/consent.v1.ConsentService/NoSuchMethod"
    try:
        refused = await http(port, check, {"subject": {}}, {"Authorization": "Bearer junk"})
        made_up = await http(port, made_up_path, {}, {})
        keyed = await http(port, made_up_path, {}, auth(admin_key))
        elsewhere = await http(port, "/consent.v1.AuditService/VerifyAuditChain", {}, {})
        slug = await http(port, f"/t/acme{check}", {}, auth(admin_key))
        origins = await asyncio.to_thread(_two_origins, port, check)
        status, _, _ = await asyncio.to_thread(
            _send,
            f"http://127.0.0.1:{port}{check}",
            b"{not json",
            {"Content-Type": "application/json", **auth(admin_key)},
            "POST",
        )
    finally:
        await server.stop()
    assert (refused[0], made_up[0], keyed[0], elsewhere[0]) == (401, 404, 404, 501)
    assert (slug[0], origins, status) == (400, 400, 400)
    text = generate_latest(traced.telemetry.metrics.registry).decode()
    assert f'code="UNAUTHENTICATED",method="{check}"' in text
    assert _counted(text, "UNIMPLEMENTED", "unknown") == 2
    assert _counted(text, "INVALID_ARGUMENT", check) == 3  # the body, the slug, two origins
    served_elsewhere = 'code="UNIMPLEMENTED",method="/consent.v1.AuditService/VerifyAuditChain"'
    assert served_elsewhere in text
    assert "NoSuchMethod" not in text


def _two_origins(port: int, path: str) -> int:
    """The status of a POST carrying Origin twice (as a proxy appending one sends it)."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", path)
        for origin in ("https://a.example", "https://b.example"):
            connection.putheader("Origin", origin)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", "2")
        connection.endheaders(b"{}")
        return connection.getresponse().status
    finally:
        connection.close()


def _counted(text: str, code: str, method: str) -> float:
    """The calls of this code and method in the duration histogram's count."""
    label = f'code="{code}",method="{method}"'
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("consentd_rpc_duration_seconds_count") and label in line
    )


@pytest.mark.usefixtures("json_logs")
async def test_grpc_calls_to_no_method_are_counted_as_unknown(traced: App, admin_key: str) -> None:
    """A stale client calling a method or service the contract does not have got UNIMPLEMENTED
    on the gRPC port and was never counted (the browser port counted it; probe BD): counted as
    `unknown` with its code, never under its made-up name."""
    server = traced.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            for path in ("/consent.v1.Nope/Foo", "/consent.v1.ConsentService/Nope", "/x/y"):
                call = channel.unary_unary(path)(b"", metadata=bearer(admin_key))
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call
                assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await server.stop(grace=1)
    text = generate_latest(traced.telemetry.metrics.registry).decode()
    counted = [
        line
        for line in text.splitlines()
        if line.startswith("consentd_rpc_duration_seconds_count")
        and 'code="UNIMPLEMENTED",method="unknown"' in line
    ]
    assert len(counted) == 1, text
    assert counted[0].endswith(" 3.0"), counted
    assert "Nope" not in text


async def test_an_idle_process_exports_no_trace_of_its_polls(
    traced: App, traced_stubs: Stubs, spans: InMemorySpanExporter
) -> None:
    """Probe HF: an idle process exported 8 traces a second, one span each: the health probe's
    round trip and the audit sequencer's poll of the queues. Neither is traced; a sweep that
    finds nothing leaves nothing."""
    spans.clear()
    for _ in range(3):
        await traced.sequencer.sweep()
    await asyncio.sleep(1.2)  # the health probe runs twice a second while the server serves
    statements = [
        str((s.attributes or {}).get("db.statement", "")) for s in spans.get_finished_spans()
    ]
    assert not [s for s in statements if "consentd_queued_tenants" in s], statements
    assert not [s for s in statements if "transaction_read_only" in s], statements
