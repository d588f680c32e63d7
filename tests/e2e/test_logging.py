"""Logs: one line per RPC with what an operator needs, and never a subject's personal data."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import uuid4

import grpc
import pytest
import structlog
from consent.v1 import consent_pb2, consent_pb2_grpc, types_pb2
from structlog.testing import capture_logs

from consentd.api.call_lines import PER_SECOND
from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Tenant
from consentd.logs import configure_logging
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import check, grant, put_purpose, record, target
from tests.e2e.test_browser_port import auth, http, prefix, record_body

EMAIL = "Personal.Address@Example.fr"
PHONE = "+33612345678"
NATIONAL_PHONE = "0612345678"
IP = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (PersonalBrowser 99)"
PERSONAL = [EMAIL, EMAIL.lower(), PHONE, NATIONAL_PHONE, "612345678", IP, USER_AGENT]


async def _calls_with_personal_data(stubs: Stubs) -> list[str]:
    """A record, two checks and two failures that all carry personal data; their methods."""
    await put_purpose(stubs, "newsletter")
    evidence = types_pb2.Evidence(ip_address=IP, user_agent=USER_AGENT, reference="form-1")
    identity = types_pb2.SubjectIdentity(email=EMAIL, phone=PHONE)
    await record(stubs, identity, grant(target("newsletter")), evidence=evidence)
    await check(stubs, types_pb2.SubjectRef(email=EMAIL), target("newsletter"))
    await check(stubs, types_pb2.SubjectRef(phone=NATIONAL_PHONE), target("newsletter"))
    with pytest.raises(grpc.aio.AioRpcError):
        await check(stubs, types_pb2.SubjectRef(email=EMAIL), target("unknown"))
    with pytest.raises(grpc.aio.AioRpcError):
        await record(
            stubs,
            identity,
            grant(target("newsletter", types_pb2.CHANNEL_UNSPECIFIED)),
            evidence=evidence,
        )
    service = "/consent.v1.ConsentService/"
    return [
        "/consent.v1.CatalogService/PutPurpose",
        f"{service}RecordConsent",
        f"{service}CheckConsent",
        f"{service}CheckConsent",
        f"{service}CheckConsent",
        f"{service}RecordConsent",
    ]


def _assert_rpc_lines(
    entries: Sequence[Mapping[str, Any]], methods: list[str], tenant: Tenant
) -> None:
    # This tenant's lines: a stream an earlier test cancelled logs its line a little later.
    # (A line of these calls without the tenant would be missing from the list: it fails.)
    rpc = [e for e in entries if e.get("event") == "rpc" and e.get("tenant") == tenant.slug]
    assert [e["method"] for e in rpc] == methods
    codes = [e["code"] for e in rpc]
    assert codes == ["OK", "OK", "OK", "OK", "NOT_FOUND", "INVALID_ARGUMENT"]
    for entry in rpc:
        assert entry["tenant"] == tenant.slug
        assert isinstance(entry["duration_ms"], float)
        assert entry["duration_ms"] >= 0
        assert entry["request_id"]


def _assert_no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, f"personal data {value!r} in the logs"


async def test_one_rpc_line_per_call_without_personal_data(stubs: Stubs, tenant: Tenant) -> None:
    """Every RPC logs exactly one `rpc` event with method, code, duration_ms and tenant, and no
    email, phone, IP address or user agent appears in any event."""
    with capture_logs() as entries:
        methods = await _calls_with_personal_data(stubs)
        # A call's line is written as it ends on the server, which may be just after its
        # answer reached the client (a loaded CI machine missed the last one).
        for _ in range(250):
            if sum(
                e.get("event") == "rpc" and e.get("tenant") == tenant.slug for e in entries
            ) >= len(methods):
                break
            await asyncio.sleep(0.02)
    _assert_rpc_lines(entries, methods, tenant)
    _assert_no_personal_data(repr(entries))


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back the structlog configuration a test changes."""
    saved = structlog.get_config()
    try:
        yield
    finally:
        structlog.configure(**saved)


@pytest.mark.usefixtures("restore_logging")
async def test_json_lines_on_stderr_without_personal_data(
    stubs: Stubs, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the service's JSON configuration, stderr holds one JSON object per line, one `rpc`
    line per call, and none of the personal data the requests carried."""
    # Configured here, not in a fixture: sys.stderr is only the captured one during the call.
    configure_logging("info", "json")
    # No cached loggers, so none keeps writing to this test's stderr once it is closed.
    structlog.configure(cache_logger_on_first_use=False)
    capsys.readouterr()
    methods = await _calls_with_personal_data(stubs)
    # A call's line is written once its answer went out: the client may read the answer first
    # (on a busy machine the last line came after the read, and the test failed).
    err = ""
    for _ in range(50):
        err += capsys.readouterr().err
        if err.count(f'"tenant":"{tenant.slug}"') >= len(methods):
            break
        await asyncio.sleep(0.05)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    _assert_rpc_lines(lines, methods, tenant)
    assert all(line["level"] == "info" and "timestamp" in line for line in lines)
    _assert_no_personal_data(err)


@pytest.mark.usefixtures("restore_logging")
async def test_broken_log_sink_never_changes_the_answer(stubs: Stubs) -> None:
    """With the log file closed under the logger, calls still answer OK or their own error code,
    never UNKNOWN: a write may be committed before its log line fails."""
    sink = io.StringIO()
    sink.close()
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sink), cache_logger_on_first_use=False
    )
    await put_purpose(stubs, "newsletter")
    recorded = await record(
        stubs, types_pb2.SubjectIdentity(email="sink@example.fr"), grant(target("newsletter"))
    )
    assert recorded.events[0].state == types_pb2.CONSENT_STATE_GRANTED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await check(stubs, types_pb2.SubjectRef(email="sink@example.fr"), target("unknown"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_call_out_of_the_keys_scopes_names_its_tenant(
    channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """A known key calling a method its scopes do not allow: the `rpc` line says
    PERMISSION_DENIED and whose key it was (it said tenant "": probe AO)."""
    key, _ = await admin.issue_key(tenant.slug, ["consent:check"], name="campaigns")
    history = consent_pb2_grpc.ConsentServiceStub(channel).ListConsentHistory
    with capture_logs() as entries:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await history(consent_pb2.ListConsentHistoryRequest(), metadata=bearer(key.token))
        # The line is written as the call ends on the server, which may be just after the
        # client read its answer (this test failed 1 run in a few on a loaded machine).
        for _ in range(200):
            if any(e.get("event") == "rpc" for e in entries):
                break
            await asyncio.sleep(0.01)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    (line,) = [e for e in entries if e.get("event") == "rpc"]
    assert (line["code"], line["tenant"]) == ("PERMISSION_DENIED", tenant.slug)


async def test_a_flood_of_refused_calls_writes_a_count_not_a_line_each(
    channel: grpc.aio.Channel,
) -> None:
    """Probe DD: one connection's calls without credentials wrote a line each, 9,000 a second
    (17 MB of log in 10 s). At most PER_SECOND lines a second per such code; the rest are
    counted in one `rpc_lines_dropped` line, written at the first call after their second."""
    consent = consent_pb2_grpc.ConsentServiceStub(channel)
    request = consent_pb2.CheckConsentRequest(
        subject=types_pb2.SubjectRef(email="flood@example.fr"), target=target("newsletter")
    )
    flood = 3 * PER_SECOND

    async def refused() -> None:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await consent.CheckConsent(request)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED

    with capture_logs() as entries:
        await asyncio.gather(*(refused() for _ in range(flood)))
        await asyncio.sleep(1.1)
        await refused()  # the next second's first call says what the last one dropped
        await asyncio.sleep(0.2)
    lines = [e for e in entries if e.get("event") == "rpc" and e["code"] == "UNAUTHENTICATED"]
    # (Another code's count may come too: one an earlier test of this process dropped.)
    dropped = [
        e
        for e in entries
        if e.get("event") == "rpc_lines_dropped" and e["code"] == "UNAUTHENTICATED"
    ]
    assert len(lines) < flood
    assert dropped
    assert len(lines) + sum(e["count"] for e in dropped) == flood + 1


async def test_a_flood_of_unknown_methods_without_a_key_writes_a_count_not_a_line_each(
    channel: grpc.aio.Channel,
) -> None:
    """Probe HF: 4,600 calls of a method that does not exist, without a credential, wrote 4,600
    lines (UNIMPLEMENTED was outside the budget, as PERMISSION_DENIED with a page's public key
    was). Every code but OK has it."""
    unknown = channel.unary_unary(
        "/consent.v1.NopeService/Nothing",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    flood = 3 * PER_SECOND

    async def refused() -> None:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await unknown(b"")
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED

    with capture_logs() as entries:
        await asyncio.gather(*(refused() for _ in range(flood)))
        await asyncio.sleep(1.1)
        await refused()
        await asyncio.sleep(0.2)
    lines = [e for e in entries if e.get("event") == "rpc" and e["code"] == "UNIMPLEMENTED"]
    dropped = [e for e in entries if e.get("event") == "rpc_lines_dropped"]
    assert len(lines) < flood
    assert {e["code"] for e in dropped} == {"UNIMPLEMENTED"}
    assert len(lines) + sum(e["count"] for e in dropped) == flood + 1


@pytest.mark.parametrize(
    ("method", "origin"),
    [
        ("ConsentService/RecordConsent", ""),
        ("ConsentService/RecordConsent", "https://not-allowed.example"),
        ("CookieService/RecordCookieChoice", "https://not-allowed.example"),
    ],
)
async def test_a_browser_call_out_of_the_keys_scopes_names_its_tenant(
    http_port: int, admin: AdminUseCases, tenant: Tenant, method: str, origin: str
) -> None:
    """The same on the browser port, with a page's public key calling a system's method, or from
    an origin the tenant does not allow: the line said tenant "" (probe HF), so an operator
    could not tell whose public key was misused."""
    key, _ = await admin.issue_key(tenant.slug, ["cookies:write"], name="banner")
    path = f"{prefix(tenant)}/consent.v1.{method}"
    headers = auth(key.token, **({"Origin": origin} if origin else {}))
    body = record_body(uuid4().hex)
    with capture_logs() as entries:
        status, _, _ = await http(http_port, path, body, headers)
        for _ in range(500):  # 5 s: a loaded full run missed 2 s once
            if any(e.get("event") == "rpc" for e in entries):
                break
            await asyncio.sleep(0.01)
    assert status == 403
    (line,) = [e for e in entries if e.get("event") == "rpc"]
    assert (line["code"], line["tenant"]) == ("PERMISSION_DENIED", tenant.slug)
