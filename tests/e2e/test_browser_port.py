"""The browser port: Connect JSON (POST and GET) and gRPC-Web reach the same use cases as native
gRPC; errors carry the same codes; CORS follows each tenant's allowed origins; the tenant comes
from the path prefix or the header."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any
from uuid import uuid4

import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.protocol import ProtocolType
from consent.v1 import cookies_pb2 as pb
from consent.v1.cookies_connect import CookieServiceClient

from consentd.app.auth import TENANT_HEADER
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs

SHOP = "https://shop.example.fr"
Reply = tuple[int, dict[str, str], bytes]


def _send(url: str, body: bytes | None, headers: dict[str, str], method: str) -> Reply:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - loopback test URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


async def http(
    port: int,
    path: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> Reply:
    """One HTTP/1.1 call from a thread, so the in-process server keeps serving."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})}
    url = f"http://127.0.0.1:{port}{path}"
    return await asyncio.to_thread(_send, url, data, sent, method)


def record_body(visitor_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "visitorId": visitor_id,
        "method": "COOKIE_CHOICE_METHOD_ACCEPT_ALL",
        "policyRevision": 1,
        **extra,
    }


async def allow_origin(stubs: Stubs, *origins: str) -> None:
    policy = pb.CookiePolicy(allowed_origins=origins)
    await stubs.cookies.PutCookiePolicy(
        pb.PutCookiePolicyRequest(policy=policy), metadata=stubs.metadata
    )


async def test_connect_json_post_then_native_grpc_read(
    http_port: int, stubs: Stubs, tenant: Tenant
) -> None:
    """A choice recorded with Connect JSON is read back over native gRPC, with the user agent
    and IP of the HTTP request hashed in (the page sent neither)."""
    visitor_id = uuid4().hex
    status, _, body = await http(
        http_port,
        f"/t/{tenant.slug}/consent.v1.CookieService/RecordCookieChoice",
        record_body(visitor_id, pageUrl="https://shop.example.fr/panier"),
        {"User-Agent": "TestBrowser/1.0"},
    )
    assert status == 200, body
    answer = json.loads(body)
    assert answer["status"] == "COOKIE_CHOICE_STATUS_VALID"
    assert answer["consentMode"]["analytics_storage"] == "granted"
    native = await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )
    assert native.choice.choice_id == answer["choice"]["choiceId"]
    assert native.status == pb.COOKIE_CHOICE_STATUS_VALID


async def test_native_grpc_write_then_connect_get_read(http_port: int, stubs: Stubs) -> None:
    """A choice recorded over native gRPC is read with a Connect GET (a read-only method) naming
    the tenant by header."""
    visitor_id = uuid4().hex
    await stubs.cookies.RecordCookieChoice(
        pb.RecordCookieChoiceRequest(
            visitor_id=visitor_id,
            method=pb.COOKIE_CHOICE_METHOD_REFUSE_ALL,
            policy_revision=1,
        ),
        metadata=stubs.metadata,
    )
    query = urllib.parse.urlencode(
        {"connect": "v1", "encoding": "json", "message": json.dumps({"visitorId": visitor_id})}
    )
    slug = dict(stubs.metadata)[TENANT_HEADER]
    status, _, body = await http(
        http_port,
        f"/consent.v1.CookieService/GetCookieChoice?{query}",
        headers={TENANT_HEADER: slug},
        method="GET",
    )
    assert status == 200, body
    read = json.loads(body)
    assert read["choice"]["grantedCategories"] == ["necessary"]
    assert read["consentMode"]["ad_storage"] == "denied"


async def test_grpc_web_through_the_connect_python_client(http_port: int, tenant: Tenant) -> None:
    """gRPC-Web (binary) records and reads on the same port; an invalid request comes back as
    INVALID_ARGUMENT with the field in the message."""
    client = CookieServiceClient(
        f"http://127.0.0.1:{http_port}/t/{tenant.slug}", protocol=ProtocolType.GRPC_WEB
    )
    visitor_id = uuid4().hex
    request = pb.RecordCookieChoiceRequest(
        visitor_id=visitor_id, method=pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL, policy_revision=1
    )
    recorded = await client.record_cookie_choice(request)
    read = await client.get_cookie_choice(pb.GetCookieChoiceRequest(visitor_id=visitor_id))
    assert read.choice.choice_id == recorded.choice.choice_id
    bad = pb.RecordCookieChoiceRequest(
        visitor_id=visitor_id,
        method=pb.COOKIE_CHOICE_METHOD_CUSTOM,
        policy_revision=1,
        granted_categories=["tracking"],
    )
    with pytest.raises(ConnectError) as raised:
        await client.record_cookie_choice(bad)
    assert raised.value.code is Code.INVALID_ARGUMENT
    assert "granted_categories[0]" in raised.value.message
    assert raised.value.details[0].type_name == "google.rpc.BadRequest"


async def test_invalid_json_request_names_the_field_and_stores_nothing(
    http_port: int, tenant: Tenant, stubs: Stubs
) -> None:
    """A malformed TCF string over Connect JSON: 400 invalid_argument naming tcf_string."""
    visitor_id = uuid4().hex
    status, _, body = await http(
        http_port,
        f"/t/{tenant.slug}/consent.v1.CookieService/RecordCookieChoice",
        record_body(visitor_id, tcfString="CO+broken"),
    )
    assert status == 400
    error = json.loads(body)
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith("tcf_string:")
    native = await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )
    assert native.status == pb.COOKIE_CHOICE_STATUS_NONE


async def test_oversized_body_is_refused(http_port: int, tenant: Tenant) -> None:
    """A request body over 64 KiB is refused before it is decoded."""
    status, _, body = await http(
        http_port,
        f"/t/{tenant.slug}/consent.v1.CookieService/RecordCookieChoice",
        record_body(uuid4().hex, userAgent="x" * 70_000),
    )
    assert status in (400, 413, 429), body
    assert json.loads(body)["code"] == "resource_exhausted"


async def test_preflight_answers_only_the_tenants_origins(
    http_port: int, tenant: Tenant, stubs: Stubs
) -> None:
    """OPTIONS from an allowed origin under /t/<slug>/: 204 with CORS headers; from another
    origin, or for another tenant: 403 without them."""
    await allow_origin(stubs, SHOP)
    path = f"/t/{tenant.slug}/consent.v1.CookieService/RecordCookieChoice"
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,connect-protocol-version,x-evil",
    }
    status, headers, _ = await http(
        http_port, path, headers={"Origin": SHOP, **asked}, method="OPTIONS"
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == SHOP
    assert headers["access-control-allow-headers"] == "content-type, connect-protocol-version"
    for origin, where in (("https://evil.example", path), (SHOP, "/t/nosuchtenant" + path[-48:])):
        status, headers, _ = await http(
            http_port, where, headers={"Origin": origin, **asked}, method="OPTIONS"
        )
        assert status == 403
        assert "access-control-allow-origin" not in headers


async def test_cross_origin_calls_are_checked_before_anything_runs(
    http_port: int, tenant: Tenant, stubs: Stubs
) -> None:
    """An allowed origin gets its answer with Access-Control-Allow-Origin; another origin is
    403 permission_denied and nothing is stored; the same origin as the page needs no entry."""
    await allow_origin(stubs, SHOP)
    path = f"/t/{tenant.slug}/consent.v1.CookieService/RecordCookieChoice"
    ok_visitor, evil_visitor = uuid4().hex, uuid4().hex
    status, headers, _ = await http(http_port, path, record_body(ok_visitor), {"Origin": SHOP})
    assert status == 200
    assert headers["access-control-allow-origin"] == SHOP
    assert "grpc-status-details-bin" in headers["access-control-expose-headers"]
    status, headers, body = await http(
        http_port, path, record_body(evil_visitor), {"Origin": "https://evil.example"}
    )
    assert (status, json.loads(body)["code"]) == (403, "permission_denied")
    assert "access-control-allow-origin" not in headers
    native = await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=evil_visitor), metadata=stubs.metadata
    )
    assert native.status == pb.COOKIE_CHOICE_STATUS_NONE
    same = {"Origin": f"http://127.0.0.1:{http_port}"}
    status, headers, _ = await http(http_port, path, record_body(uuid4().hex), same)
    assert status == 200
    assert "access-control-allow-origin" not in headers


async def test_tenant_from_path_or_header_never_both_different(
    http_port: int, tenant: Tenant
) -> None:
    """Unknown tenant, or a path and a header naming two tenants: 401 unauthenticated."""
    body = {"visitorId": uuid4().hex}
    path = "/consent.v1.CookieService/GetCookieChoice"
    unknown = await http(http_port, "/t/nosuchtenant" + path, body)
    mismatch = await http(http_port, f"/t/{tenant.slug}{path}", body, {TENANT_HEADER: "local"})
    for status, _, reply in (unknown, mismatch):
        assert (status, json.loads(reply)["code"]) == (401, "unauthenticated")
    status, _, _ = await http(http_port, path, body, {TENANT_HEADER: tenant.slug})
    assert status == 200


async def test_consent_writes_stay_on_native_grpc(http_port: int, tenant: Tenant) -> None:
    """ConsentService reads answer on the browser port; its writes are unimplemented there."""
    base = f"/t/{tenant.slug}/consent.v1.ConsentService"
    target = {
        "purpose": "newsletter",
        "channel": "CHANNEL_EMAIL",
        "scope": "PARTY_SCOPE_FIRST_PARTY",
    }
    check = {"subject": {"email": "a@example.fr"}, "target": target}
    status, _, body = await http(http_port, f"{base}/CheckConsent", check)
    assert (status, json.loads(body)["code"]) == (404, "not_found")
    status, _, body = await http(http_port, f"{base}/RecordConsent", {})
    assert json.loads(body)["code"] == "unimplemented"


async def test_demo_page_and_unknown_paths(http_port: int) -> None:
    """The demo page and its bundle are served; / redirects to it; anything else is 404."""
    status, headers, body = await http(http_port, "/demo/", method="GET")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"banner.js" in body
    status, headers, body = await http(http_port, "/demo/banner.js", method="GET")
    assert (status, headers["content-type"].split(";")[0]) == (200, "text/javascript")
    for path in ("/demo/../pyproject.toml", "/etc/passwd", "/demo/src/banner.ts"):
        assert (await http(http_port, path, method="GET"))[0] == 404
