"""Every RPC, on both ports, fed 2,000 hostile bodies generated from its descriptor (Hypothesis)
and a sample of random well-formed ones: never UNKNOWN or INTERNAL, never exception text, and
the hostile ones write nothing.

The native port is called with raw bytes (a generic channel method, no serializer): a generated
stub cannot send a body that does not decode, which is the point here. The browser port's ASGI
app is called in-process, as uvicorn would call it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
import structlog
from google.protobuf.descriptor import MethodDescriptor
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from consentd.api.http import BrowserApp
from consentd.api.methods import FILES
from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import TEST_SECRET, bearer, owner
from tests.e2e.fuzzing import LEAKS, hostile, hostile_json, messages

# 2,000 per RPC by default (issue 13: `make fuzz`, run by CI); `make test` runs fewer
# (CONSENTD_FUZZ_CASES).
CASES_PER_RPC = int(os.environ.get("CONSENTD_FUZZ_CASES", "2000"))
BATCH = 50
WELL_FORMED_PER_RPC = 100
METHODS = [m for f in FILES for s in f.services_by_name.values() for m in s.methods]
BROWSER_SERVICES = ("consent.v1.CookieService", "consent.v1.ConsentService")
BROWSER_METHODS = [m for m in METHODS if m.containing_service.full_name in BROWSER_SERVICES]
# What a hostile body may get: refused as invalid, or refused before it was read.
REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED}


def _cases(batches: st.SearchStrategy[list[Any]], count: int) -> list[Any]:
    """`count` values drawn by Hypothesis, BATCH at a time (one example is one batch)."""
    drawn: list[Any] = []

    @settings(
        max_examples=count // BATCH,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(batches)
    def collect(batch: list[Any]) -> None:
        drawn.extend(batch)

    collect()
    return drawn[:count] if len(drawn) >= count else drawn


def _batches(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, min_size=BATCH, max_size=BATCH)


@pytest.fixture(scope="module")
async def fuzz_app(database_url: str, owner_url: str) -> AsyncIterator[App]:
    """An app of its own without the rate limit (tens of thousands of calls in a minute), its
    hundred thousand `rpc` lines not written (warnings and errors still are)."""
    unlimited = Settings(rate_limit_per_second=1e9, rate_limit_burst=1e9)
    application = bootstrap(unlimited, database_url, TEST_SECRET, owner_url=owner_url)
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield application
    finally:
        structlog.configure(**saved)
        await application.aclose()


@pytest.fixture(scope="module")
async def fuzz_channel(fuzz_app: App) -> AsyncIterator[grpc.aio.Channel]:
    server = fuzz_app.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    await server.stop(grace=1)


@pytest.fixture
async def victim(admin: AdminUseCases) -> tuple[Tenant, str]:
    tenant = await admin.create_tenant(f"fuzz-{uuid4().hex[:12]}")
    key, _ = await admin.issue_key(tenant.slug, [Scope.ADMIN.value], name="fuzz")
    return tenant, key.token


async def _rows(app: App, tenant: Tenant) -> int:
    """Every row of the tenant, in every table that has a tenant_id."""
    async with owner(app).connect() as conn:
        tables = (
            await conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE column_name = 'tenant_id' AND table_schema = 'public'"
                )
            )
        ).scalars()
        total = 0
        for table in tables:
            query = sa.text(f'SELECT count(*) FROM "{table}" WHERE tenant_id = :t')  # noqa: S608 - catalog names
            total += (await conn.execute(query, {"t": tenant.tenant_id})).scalar_one()
    return total


async def _grpc_call(
    channel: grpc.aio.Channel,
    method: MethodDescriptor,
    body: bytes,
    key: str,
    follow: float = 10.0,
) -> tuple[grpc.StatusCode, str]:
    """The status of one call carrying `body` (raw bytes, no serializer). A response stream
    accepted is followed `follow` seconds (a feed never ends on its own)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    metadata = bearer(key)
    try:
        if method.client_streaming and method.server_streaming:
            call = channel.stream_stream(path)(iter([body]), metadata=metadata, timeout=10)
            async for _ in call:
                pass
        elif method.client_streaming:
            await channel.stream_unary(path)(iter([body]), metadata=metadata, timeout=10)
        elif method.server_streaming:
            async for _ in channel.unary_stream(path)(body, metadata=metadata, timeout=follow):
                pass
        else:
            await channel.unary_unary(path)(body, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


async def _browser_call(
    app: BrowserApp, method: MethodDescriptor, body: bytes, key: str, kind: str
) -> tuple[str, str]:
    """Connect's answer (code, message) to one POST, the ASGI app called in-process."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"content-type", f"application/{kind}".encode()),
            (b"authorization", f"Bearer {key}".encode()),
        ],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    if status == 200:
        return "ok", ""
    answer = json.loads(content)
    return str(answer.get("code")), str(answer.get("message", ""))


def _leaked(message: str) -> str | None:
    return next((leak for leak in LEAKS if leak in message), None)


async def _each(bodies: list[bytes], call: Callable[[bytes], Any]) -> list[Any]:
    answers: list[Any] = []
    for start in range(0, len(bodies), BATCH):
        answers += await asyncio.gather(*(call(b) for b in bodies[start : start + BATCH]))
    return answers


async def test_hostile_bodies_are_refused_naming_no_exception_and_write_nothing(
    fuzz_app: App, fuzz_channel: grpc.aio.Channel, victim: tuple[Tenant, str]
) -> None:
    """2,000 hostile bodies per RPC on the native port: INVALID_ARGUMENT (or PERMISSION_DENIED
    before the body was read), a message of ours, and not one row written."""
    tenant, key = victim
    before = await _rows(fuzz_app, tenant)
    for method in METHODS:
        bodies = _cases(hostile(method.input_type, BATCH), CASES_PER_RPC)
        assert len(bodies) >= CASES_PER_RPC
        answers = await _each(bodies, lambda b, m=method: _grpc_call(fuzz_channel, m, b, key))
        for body, (code, message) in zip(bodies, answers, strict=True):
            assert code in REFUSED, (method.full_name, body, code, message)
            assert _leaked(message) is None, (method.full_name, body, message)
    assert await _rows(fuzz_app, tenant) == before


async def test_hostile_browser_bodies_are_invalid_argument_in_our_words(
    fuzz_app: App, victim: tuple[Tenant, str]
) -> None:
    """2,000 hostile bodies per browser RPC (binary and JSON): invalid_argument (or refused
    before decoding), never unknown or internal, never the parser's words; nothing written."""
    tenant, key = victim
    browser = fuzz_app.browser_app()
    before = await _rows(fuzz_app, tenant)
    for method in BROWSER_METHODS:
        half = CASES_PER_RPC // 2
        binary = _cases(hostile(method.input_type, BATCH), half)
        text = _cases(hostile_json(method.input_type, BATCH), half)
        answers = await _each(
            binary, lambda b, m=method: _browser_call(browser, m, b, key, "proto")
        )
        answers += await _each(text, lambda b, m=method: _browser_call(browser, m, b, key, "json"))
        for body, (code, message) in zip(binary + text, answers, strict=True):
            assert code in ("invalid_argument", "permission_denied", "unimplemented"), (
                method.full_name,
                body,
                code,
                message,
            )
            assert _leaked(message) is None, (method.full_name, body, message)
    assert await _rows(fuzz_app, tenant) == before


async def test_random_well_formed_requests_never_fail_internally(
    fuzz_app: App, fuzz_channel: grpc.aio.Channel, victim: tuple[Tenant, str]
) -> None:
    """Random well-formed requests of every RPC: whatever the answer, never UNKNOWN or
    INTERNAL and never exception text (a value a column cannot hold is refused first)."""
    _, key = victim
    for method in METHODS:
        requests = _cases(_batches(messages(method.input_type)), WELL_FORMED_PER_RPC)
        bodies = [r.SerializeToString() for r in requests]
        answers = await _each(bodies, lambda b, m=method: _grpc_call(fuzz_channel, m, b, key, 1.0))
        for body, (code, message) in zip(bodies, answers, strict=True):
            assert code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (
                method.full_name,
                body,
                message,
            )
            assert _leaked(message) is None, (method.full_name, body, message)
