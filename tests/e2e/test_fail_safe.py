"""Hostile or stale callers get a clear refusal: a revoked key's open stream ends
UNAUTHENTICATED, malformed or duplicate credentials are refused, a value no column holds is
INVALID_ARGUMENT naming the field, and the browser port says where gRPC belongs."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, cookies_pb2

from consentd.api.streams import RECHECK_SECONDS
from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.tenancy import Scope, Tenant
from tests.conftest import Stubs, bearer


async def test_an_open_feed_ends_unauthenticated_once_its_key_is_revoked(
    channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """The README promises 5 s: the stream re-checks its key (no cache) every few seconds."""
    key, stored = await admin.issue_key(tenant.slug, [Scope.ADMIN.value], name="revoked soon")
    feed = campaign_pb2_grpc.CampaignServiceStub(channel).WatchConsentChanges(
        campaign_pb2.WatchConsentChangesRequest(from_now=True), metadata=bearer(key.token)
    )
    await asyncio.sleep(0.2)
    await admin.revoke_key(tenant.slug, stored.key_id)
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await asyncio.wait_for(_drain(feed), RECHECK_SECONDS + 10)
    assert ended.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass


@pytest.mark.parametrize(
    "metadata",
    [
        (("authorization", "Bearer  {key}"),),
        (("authorization", "Bearer {key} "),),
        (("authorization", "Bearer {key}"), ("authorization", "Bearer {key}")),
    ],
    ids=["two spaces", "trailing space", "two headers"],
)
async def test_malformed_or_duplicate_authorization_is_refused(
    stubs: Stubs, admin_key: str, metadata: tuple[tuple[str, str], ...]
) -> None:
    sent = tuple((name, value.format(key=admin_key)) for name, value in metadata)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.cookies.GetCookiePolicy(cookies_pb2.GetCookiePolicyRequest(), metadata=sent)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_revision_no_column_holds_is_invalid_argument_naming_it(stubs: Stubs) -> None:
    """PutCookiePolicy revision 2^31 was INTERNAL (int32 overflow in PostgreSQL)."""
    policy = cookies_pb2.CookiePolicy(revision=2**31)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stubs.cookies.PutCookiePolicy(
            cookies_pb2.PutCookiePolicyRequest(policy=policy), metadata=stubs.metadata
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith("policy.revision:")


async def test_an_undecodable_body_is_invalid_argument_even_before_credentials(
    channel: grpc.aio.Channel, stubs: Stubs
) -> None:
    """No credential: UNAUTHENTICATED before the body is read; with one: INVALID_ARGUMENT
    naming the field that is not UTF-8, never Python's words."""
    call = channel.unary_unary("/consent.v1.CookieService/GetCookiePolicy")
    body = b"\x0a\x02\xff\xfe"  # field 1 (a string in many requests) holding 0xFF 0xFE
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await call(body)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    put = channel.unary_unary("/consent.v1.CookieService/PutCookiePolicy")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await put(b"\x0a\x03\x0a\x01\xff", metadata=stubs.metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in (refused.value.details() or "") or "truncated" in (
        refused.value.details() or ""
    )


async def _browser(
    app: App,
    body: bytes,
    content_type: str,
    key: str,
    path: str = "/consent.v1.CookieService/GetCookiePolicy",
) -> tuple[int, Any, bytes]:
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
            (b"content-type", content_type.encode()),
            (b"authorization", f"Bearer {key}".encode()),
        ],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app.browser_app()(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), content


@pytest.mark.parametrize("body", [b"null", b"{", b"[1]", b'{"zz": 1}'])
async def test_malformed_json_on_the_browser_port_is_a_clear_invalid_argument(
    app: App, admin_key: str, body: bytes
) -> None:
    _, _, content = await _browser(app, body, "application/json", admin_key)
    answer = json.loads(content)
    assert answer["code"] == "invalid_argument", answer
    assert answer["message"].startswith("request"), answer
    assert "Error" not in answer["message"]


async def test_native_grpc_on_the_browser_port_is_told_where_grpc_belongs(
    app: App, admin_key: str
) -> None:
    _, headers, _ = await _browser(app, b"\0\0\0\0\0", "application/grpc", admin_key)
    assert headers[b"grpc-status"] == b"12"
    assert b"gRPC port" in headers[b"grpc-message"]


async def test_the_browser_port_authenticates_before_it_reads_the_body(app: App) -> None:
    """No valid credential: unauthenticated, whatever the body (it is never decoded)."""
    status, _, content = await _browser(app, b"{", "application/json", "ck_not_a_key")
    assert status == 401
    assert json.loads(content)["code"] == "unauthenticated"
    _, headers, _ = await _browser(app, b"\xff", "application/grpc-web+proto", "ck_not_a_key")
    assert headers[b"grpc-status"] == b"16"


@pytest.mark.parametrize("body", [b"{", b'{"policy": {"policyRevision": "x"}}'])
async def test_the_browser_port_checks_the_scope_and_the_tenant_before_it_reads_the_body(
    app: App, admin: AdminUseCases, tenant: Tenant, admin_key: str, body: bytes
) -> None:
    """Probe BQ: the page key (cookies:write) calling PutCookiePolicy had its body decoded and
    its errors answered (400 "not valid JSON", "unknown field"), logged as INVALID_ARGUMENT
    with no tenant: a refusal, not a parse. And a path that only leads to the method
    (`.../RecordCookieChoice/../PutCookiePolicy`) reached it."""
    issued, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="page")
    page_key = issued.token
    put = "/consent.v1.CookieService/PutCookiePolicy"
    status, _, content = await _browser(app, body, "application/json", page_key, put)
    assert (status, json.loads(content)["code"]) == (403, "permission_denied")
    other = f"/t/{uuid4()}{put}"
    status, _, content = await _browser(app, body, "application/json", admin_key, other)
    assert (status, json.loads(content)["code"]) == (401, "unauthenticated")
    around = "/consent.v1.CookieService/RecordCookieChoice/../PutCookiePolicy"
    status, _, content = await _browser(app, body, "application/json", page_key, around)
    assert (status, json.loads(content)["code"]) == (404, "unimplemented")
    # The key's own methods are read as before.
    record = "/consent.v1.CookieService/RecordCookieChoice"
    status, _, content = await _browser(app, body, "application/json", page_key, record)
    assert (status, json.loads(content)["code"]) == (400, "invalid_argument")
