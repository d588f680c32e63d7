"""The browser port: Connect JSON (POST and GET) and gRPC-Web reach the same use cases as native
gRPC behind the same Gate (API key, scopes, unknown fields, idempotency); errors carry the same
codes; CORS follows each tenant's allowed origins under `/t/<tenant id>/`; a key sent from another
origin must be a publishable cookies:write key."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import grpc
import pytest
import sqlalchemy as sa
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.protocol import ProtocolType
from consent.v1 import cookies_pb2 as pb
from consent.v1 import rights_pb2, rights_pb2_grpc, types_pb2
from consent.v1.cookies_connect import CookieServiceClient

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.config import ConfigError
from consentd.domain.cookies import truncate_ip
from consentd.domain.identifiers import IdentifierHasher
from consentd.domain.tenancy import Scope, Tenant
from consentd.local_tokens import DEMO_KEY_FILE, demo_key
from consentd.store.tables import cookie_choices
from tests.conftest import TEST_SECRET, Stubs, owner
from tests.e2e.helpers import ALLOW, DENY, check, put_purpose
from tests.e2e.helpers import target as target_of

SHOP = "https://shop.example.fr"
Reply = tuple[int, dict[str, str], bytes]


@pytest.fixture
async def page_key(admin: AdminUseCases, tenant: Tenant) -> str:
    """The publishable key a web page of the test tenant carries: cookies:write and nothing else."""
    key, _ = await admin.issue_key(tenant.slug, [Scope.COOKIES.value], name="shop page")
    return key.token


def auth(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def prefix(tenant: Tenant) -> str:
    """The base path a cross-origin page uses: it names the tenant for the CORS preflight."""
    return f"/t/{tenant.tenant_id}"


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
    http_port: int, stubs: Stubs, tenant: Tenant, page_key: str
) -> None:
    """A choice recorded with Connect JSON and a page key is read back over native gRPC, with the
    user agent and IP of the HTTP request hashed in (the page sent neither)."""
    visitor_id = uuid4().hex
    status, _, body = await http(
        http_port,
        f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice",
        record_body(visitor_id, pageUrl="https://shop.example.fr/panier"),
        auth(page_key, **{"User-Agent": "TestBrowser/1.0"}),
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


async def test_the_address_kept_is_the_requests_not_the_pages(
    app: App, http_port: int, tenant: Tenant, page_key: str
) -> None:
    """Anyone holding the publishable key could record a choice "from" any address (probe AE):
    the browser port keeps the address and the user agent the request came with, whatever the
    page says (probe HD: a portal withdrawal kept the body's user agent); every answer says
    nosniff and no-store (an answer names a person: no cache keeps it, probe HD)."""
    visitor_id = uuid4().hex
    path = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    status, headers, body = await http(
        http_port,
        path,
        record_body(visitor_id, ipAddress="8.8.8.8", userAgent="forged-UA"),
        auth(page_key, **{"User-Agent": "real-UA/1.0"}),
    )
    assert status == 200, body
    assert (headers["x-content-type-options"], headers["cache-control"]) == ("nosniff", "no-store")
    async with owner(app).connect() as conn:
        row = (
            await conn.execute(
                sa.select(cookie_choices.c.ip_digest, cookie_choices.c.ua_digest).where(
                    cookie_choices.c.visitor_id == visitor_id
                )
            )
        ).one()
    hasher = IdentifierHasher(TEST_SECRET)
    assert row.ip_digest == hasher.keyed(tenant.tenant_id, "ip", truncate_ip("127.0.0.1"))
    assert row.ua_digest == hasher.keyed(tenant.tenant_id, "ua", "real-UA/1.0")
    refused = await http(http_port, path, record_body(visitor_id), {})
    assert (refused[0], refused[1]["x-content-type-options"]) == (401, "nosniff")
    assert refused[1]["cache-control"] == "no-store"


async def test_a_proxy_that_names_no_address_leaves_none_kept(
    app: App, http_port: int, tenant: Tenant, page_key: str
) -> None:
    """A trusted proxy writing `X-Forwarded-For: unknown` (Squid's forwarded_for off, an RFC
    7239 obfuscated id): every choice was refused "ip_address: is not an IPv4 or IPv6
    address", a field the page never sent (probe SA). Recorded, with no address kept."""
    path = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    for said in ("unknown", "_hidden"):
        visitor_id = uuid4().hex
        status, _, body = await http(
            http_port, path, record_body(visitor_id), auth(page_key, **{"X-Forwarded-For": said})
        )
        assert status == 200, body
        async with owner(app).connect() as conn:
            digest = (
                await conn.execute(
                    sa.select(cookie_choices.c.ip_digest).where(
                        cookie_choices.c.visitor_id == visitor_id
                    )
                )
            ).scalar_one()
        assert digest is None


async def test_the_browsers_gpc_header_is_recorded_with_the_choice(
    http_port: int, stubs: Stubs, tenant: Tenant, page_key: str
) -> None:
    """`Sec-GPC: 1` on the request is recorded as `gpc` even when the page did not say so (the
    visitor's explicit choice still decides); without the header, `gpc` stays what the page
    sent. A probe found the header ignored."""
    path = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    recorded = {}
    for header, visitor_id in (("1", uuid4().hex), ("", uuid4().hex)):
        extra = {"Sec-GPC": header} if header else {}
        status, _, body = await http(
            http_port, path, record_body(visitor_id), auth(page_key, **extra)
        )
        assert status == 200, body
        native = await stubs.cookies.GetCookieChoice(
            pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
        )
        recorded[header] = native.choice.gpc
    assert recorded == {"1": True, "": False}


async def test_native_grpc_write_then_connect_get_read(
    http_port: int, stubs: Stubs, page_key: str
) -> None:
    """A choice recorded over native gRPC is read with a Connect GET (a read-only method); the
    key alone names the tenant (no prefix needed without a cross-origin page)."""
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
    status, _, body = await http(
        http_port,
        f"/consent.v1.CookieService/GetCookieChoice?{query}",
        headers=auth(page_key),
        method="GET",
    )
    assert status == 200, body
    read = json.loads(body)
    assert read["choice"]["grantedCategories"] == ["necessary"]
    assert read["consentMode"]["ad_storage"] == "denied"
    # The GET form of connect-protocol-version names v1 or nothing (v9 was served; probe AN).
    for other in (
        query.replace("connect=v1", "connect=v9"),
        query.replace("connect=v1", "connect="),
    ):
        status, _, body = await http(
            http_port,
            f"/consent.v1.CookieService/GetCookieChoice?{other}",
            headers=auth(page_key),
            method="GET",
        )
        assert status == 400, body
        assert json.loads(body)["message"] == "connect: must be v1"


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("ConsentService/CheckConsent", {"subject": {"email": "in-a-url@example.fr"}}),
        ("RightsService/ExportSubject", {"subject": {"phone": "+33612345678"}}),
        ("ConsentService/ListConsentHistory", {"subject": {"subjectId": str(uuid4())}}),
    ],
)
async def test_a_get_naming_a_person_is_refused_for_a_post(
    http_port: int, admin_key: str, method: str, message: dict[str, Any]
) -> None:
    """Probe TA: a Connect GET of CheckConsent or ExportSubject answered 200: the address went
    into the URL, which every proxy in front of the port writes to its access log. A method
    whose request names a person takes no GET (400 saying to POST it); GetCookieChoice's still
    works (above)."""
    query = urllib.parse.urlencode({"encoding": "json", "message": json.dumps(message)})
    path = f"/consent.v1.{method}?{query}"
    status, _, body = await http(http_port, path, headers=auth(admin_key), method="GET")
    assert status == 400, body
    said = json.loads(body)
    assert said["code"] == "invalid_argument"
    assert said["message"].startswith("GET: is not taken for this method: its request names")
    assert "send it by POST" in said["message"]


async def test_grpc_web_through_the_connect_python_client(
    http_port: int, tenant: Tenant, page_key: str
) -> None:
    """gRPC-Web (binary) records and reads on the same port; an invalid request comes back as
    INVALID_ARGUMENT with the field in the message; no key is UNAUTHENTICATED."""
    client = CookieServiceClient(
        f"http://127.0.0.1:{http_port}{prefix(tenant)}", protocol=ProtocolType.GRPC_WEB
    )
    headers = auth(page_key)
    visitor_id = uuid4().hex
    request = pb.RecordCookieChoiceRequest(
        visitor_id=visitor_id, method=pb.COOKIE_CHOICE_METHOD_ACCEPT_ALL, policy_revision=1
    )
    with pytest.raises(ConnectError) as refused:
        await client.record_cookie_choice(request)
    assert refused.value.code is Code.UNAUTHENTICATED
    recorded = await client.record_cookie_choice(request, headers=headers)
    read = await client.get_cookie_choice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), headers=headers
    )
    assert read.choice.choice_id == recorded.choice.choice_id
    bad = pb.RecordCookieChoiceRequest(
        visitor_id=visitor_id,
        method=pb.COOKIE_CHOICE_METHOD_CUSTOM,
        policy_revision=1,
        granted_categories=["tracking"],
    )
    with pytest.raises(ConnectError) as raised:
        await client.record_cookie_choice(bad, headers=headers)
    assert raised.value.code is Code.INVALID_ARGUMENT
    assert "granted_categories[0]" in raised.value.message
    assert raised.value.details[0].type_name == "google.rpc.BadRequest"


async def test_invalid_json_request_names_the_field_and_stores_nothing(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """A malformed TCF string over Connect JSON: 400 invalid_argument naming tcf_string."""
    visitor_id = uuid4().hex
    status, _, body = await http(
        http_port,
        f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice",
        record_body(visitor_id, tcfString="CO+broken"),
        auth(page_key),
    )
    assert status == 400
    error = json.loads(body)
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith("tcf_string:")
    native = await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )
    assert native.status == pb.COOKIE_CHOICE_STATUS_NONE


async def test_oversized_body_is_refused(http_port: int, tenant: Tenant, page_key: str) -> None:
    """A request body over 64 KiB is refused before it is decoded."""
    status, _, body = await http(
        http_port,
        f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice",
        record_body(uuid4().hex, userAgent="x" * 70_000),
        auth(page_key),
    )
    assert status in (400, 413, 429), body
    assert json.loads(body)["code"] == "resource_exhausted"


async def test_preflight_answers_only_the_tenants_origins(
    http_port: int, tenant: Tenant, stubs: Stubs
) -> None:
    """OPTIONS (no credential) from an allowed origin under /t/<tenant id>/: 204 with CORS
    headers that let the page send its key; from another origin, for another tenant, for a path
    naming no tenant id, or without the prefix: 403 without them."""
    await allow_origin(stubs, SHOP)
    method = "/consent.v1.CookieService/RecordCookieChoice"
    path = f"{prefix(tenant)}{method}"
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": (
            "authorization,content-type,connect-protocol-version,x-evil,traceparent"
        ),
    }
    status, headers, _ = await http(
        http_port, path, headers={"Origin": SHOP, **asked}, method="OPTIONS"
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == SHOP
    assert headers["access-control-allow-headers"] == (
        "authorization, content-type, connect-protocol-version, traceparent"
    )
    elsewhere = (
        ("https://evil.example", path),
        (SHOP, f"/t/{uuid4()}{method}"),
        (SHOP, method),
    )
    for origin, where in elsewhere:
        status, headers, _ = await http(
            http_port, where, headers={"Origin": origin, **asked}, method="OPTIONS"
        )
        assert status == 403
        assert "access-control-allow-origin" not in headers
    # The slug, or another spelling of the id (the call itself is refused on them; probe BK):
    # said so, readable by the page whatever its origin (probe QC: "origin not allowed" for an
    # allowed origin; probe RA: the 400 read as "CORS error"), its preflight let through.
    for spelling in (
        tenant.slug,
        str(tenant.tenant_id).upper(),
        tenant.tenant_id.hex,
        f"urn:uuid:{tenant.tenant_id}",
    ):
        where = f"/t/{spelling}{method}"
        for origin in (SHOP, "https://elsewhere.example"):
            status, headers, _ = await http(
                http_port, where, headers={"Origin": origin, **asked}, method="OPTIONS"
            )
            assert (status, headers.get("access-control-allow-origin")) == (204, origin)
            status, headers, body = await http(http_port, where, {}, {"Origin": origin})
            assert (status, json.loads(body)["code"]) == (400, "invalid_argument"), body
            assert "not its slug" in json.loads(body)["message"]
            assert headers.get("access-control-allow-origin") == origin


async def test_cross_origin_calls_are_checked_before_anything_runs(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """An allowed origin gets its answer with Access-Control-Allow-Origin; another origin is
    403 permission_denied and nothing is stored; the same origin as the page needs no entry; a
    wider key than cookies:write sent from a page is refused even from an allowed origin."""
    await allow_origin(stubs, SHOP)
    path = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    ok_visitor, evil_visitor, wide_visitor = uuid4().hex, uuid4().hex, uuid4().hex
    status, headers, _ = await http(
        http_port, path, record_body(ok_visitor), auth(page_key, Origin=SHOP)
    )
    assert status == 200
    assert headers["access-control-allow-origin"] == SHOP
    assert "grpc-status-details-bin" in headers["access-control-expose-headers"]
    # A page reads when to come back from a 429 (probe SA: sent, yet hidden from it).
    assert "retry-after" in headers["access-control-expose-headers"]
    admin_key = dict(stubs.metadata)["authorization"].removeprefix("Bearer ")
    for visitor_id, headers_sent, readable in (
        (evil_visitor, auth(page_key, Origin="https://evil.example"), False),
        # The allowed page's developer reads why (a key wider than cookies:write).
        (wide_visitor, auth(admin_key, Origin=SHOP), True),
    ):
        status, headers, body = await http(http_port, path, record_body(visitor_id), headers_sent)
        assert (status, json.loads(body)["code"]) == (403, "permission_denied")
        assert ("access-control-allow-origin" in headers) is readable
        native = await stubs.cookies.GetCookieChoice(
            pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
        )
        assert native.status == pb.COOKIE_CHOICE_STATUS_NONE
    same = auth(page_key, Origin=f"http://127.0.0.1:{http_port}")
    status, headers, _ = await http(http_port, path, record_body(uuid4().hex), same)
    assert status == 200
    assert "access-control-allow-origin" not in headers


async def test_a_refused_page_of_an_allowed_origin_can_read_why(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """A banner of an allowed origin whose key was revoked (401) or that calls a method its key
    has no scope for (403) saw an opaque "Failed to fetch": the refusal had no
    Access-Control-Allow-Origin, as the 400s have. It now has it for an allowed origin, and
    still not for another."""
    await allow_origin(stubs, SHOP)
    record = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    link = f"{prefix(tenant)}/consent.v1.CookieService/LinkVisitor"
    linked = {"visitorId": uuid4().hex, "subject": {"email": "page@example.fr"}}
    # A path that names no method (probe BR: its 404 had no Access-Control-Allow-Origin).
    around = f"{record}/../LinkVisitor"
    calls = [
        (record, record_body(uuid4().hex), "ck_revoked_or_made_up", 401, "unauthenticated"),
        (link, linked, page_key, 403, "permission_denied"),
        (around, linked, page_key, 404, "unimplemented"),
        # Refused before the gate ran (probe FH: an unknown field, a malformed enum, read as
        # "Failed to fetch" by the page of an allowed origin).
        (record, record_body(uuid4().hex, consent=True), page_key, 400, "invalid_argument"),
        (record, record_body(uuid4().hex, method="ACCEPT_IT"), page_key, 400, "invalid_argument"),
    ]
    for path, body, key, status, code in calls:
        for origin, exposed in ((SHOP, True), ("https://evil.example", False)):
            got, headers, reply = await http(http_port, path, body, auth(key, Origin=origin))
            # Another origin is refused from the head, before its body is read or judged.
            refused = (403, "permission_denied") if status == 400 and not exposed else None
            assert (got, json.loads(reply)["code"]) == (refused or (status, code))
            assert (headers.get("access-control-allow-origin") == origin) is exposed, headers


async def test_the_key_names_the_tenant_and_the_prefix_must_agree(
    http_port: int, tenant: Tenant, page_key: str, admin: AdminUseCases
) -> None:
    """No credential, a key that is not one, or a key of another tenant under this tenant's
    prefix: 401 unauthenticated; the key alone, or with its own tenant's prefix: 200."""
    body = {"visitorId": uuid4().hex}
    path = "/consent.v1.CookieService/GetCookieChoice"
    other = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    other_key, _ = await admin.issue_key(other.slug, [Scope.COOKIES.value])
    refused = [
        await http(http_port, f"{prefix(tenant)}{path}", body),
        await http(http_port, path, body, {"Authorization": "Bearer ck_not_a_key"}),
        await http(http_port, f"{prefix(tenant)}{path}", body, auth(other_key.token)),
    ]
    for status, _, reply in refused:
        assert (status, json.loads(reply)["code"]) == (401, "unauthenticated")
    # The slug in the prefix: said so, not "missing or invalid credentials" (probe QC).
    status, _, reply = await http(http_port, f"/t/{tenant.slug}{path}", body, auth(page_key))
    assert (status, json.loads(reply)["code"]) == (400, "invalid_argument")
    for where in (path, f"{prefix(tenant)}{path}"):
        status, _, reply = await http(http_port, where, body, auth(page_key))
        assert status == 200, reply


async def test_a_refused_caller_still_sending_its_body_reads_the_whole_refusal(
    http_port: int, tenant: Tenant
) -> None:
    """The credential is refused before the body is read, but the body is then read (undecoded)
    up to 64 KiB: a client still sending sees the 401, never a reset connection."""
    path = f"{prefix(tenant)}/consent.v1.CookieService/GetCookieChoice"
    body = {"visitorId": "v" * 60_000}
    for _ in range(30):
        status, _, reply = await http(http_port, path, body, {"Authorization": "Bearer ck_no"})
        assert (status, json.loads(reply)["code"]) == (401, "unauthenticated")


async def test_a_caller_without_a_key_is_refused_before_its_body_arrives(
    http_port: int, tenant: Tenant
) -> None:
    """The 401 waited for the body: a caller without a key whose body never came was held
    30 s and answered 408 (probe O). It is answered at once, and the connection closed."""
    path = f"{prefix(tenant)}/consent.v1.CookieService/GetCookieChoice"
    reader, writer = await asyncio.open_connection("127.0.0.1", http_port)
    try:
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
        )
        await writer.drain()
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 401"), head
    assert b"connection: close" in head.lower(), head


async def _head_answered(port: int, request: str) -> bytes:
    """The head of the answer to a request whose body never comes (within 5 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request.encode())
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()


@pytest.mark.parametrize("declared", [87_446, 1_000_000_000])
async def test_a_body_declared_larger_than_any_message_is_refused_from_its_head(
    http_port: int, tenant: Tenant, page_key: str, declared: int
) -> None:
    """Probe CC: a page key's request declaring a body over the limit, which never came, was
    held 30 s and answered 408 (a chunked one was refused at once). It is RESOURCE_EXHAUSTED
    from its head, and the connection closed; nothing larger than any message can be one."""
    path = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    head = await _head_answered(
        http_port,
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {page_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n",
    )
    assert head.startswith(b"HTTP/1.1 429"), head
    assert b"connection: close" in head.lower(), head


async def test_a_request_with_two_origins_is_refused(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """Probe CC: of two Origin headers (a proxy appending one) the first was checked and
    allowed; browsers send one. 400, whichever order."""
    await allow_origin(stubs, "https://shop.example")
    path = f"{prefix(tenant)}/consent.v1.CookieService/GetCookiePolicy"
    pair = ("https://shop.example", "https://evil.example")
    for first, second in (pair, pair[::-1]):
        head = await _head_answered(
            http_port,
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {page_key}\r\n"
            f"Origin: {first}\r\nOrigin: {second}\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n\r\n{}",
        )
        assert head.startswith(b"HTTP/1.1 400"), head


async def test_a_page_key_is_held_to_the_same_scope_table(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """The cookies:write key may record and read a visitor's choice, but not put the policy,
    list or link a person's choices, nor attribute a choice to a subject: 403 permission_denied
    as over native gRPC, and nothing is stored."""
    base = f"{prefix(tenant)}/consent.v1.CookieService"
    visitor_id = uuid4().hex
    jeanne = {"email": "jeanne@example.fr"}
    for method, body in (
        ("PutCookiePolicy", {"policy": {"allowedOrigins": ["https://evil.example"]}}),
        ("ListCookieChoices", {"subject": jeanne}),
        ("LinkVisitor", {"visitorId": visitor_id, "subject": jeanne}),
        ("RecordCookieChoice", record_body(visitor_id, subject=jeanne)),
    ):
        status, _, reply = await http(http_port, f"{base}/{method}", body, auth(page_key))
        assert (status, json.loads(reply)["code"]) == (403, "permission_denied"), method
    native = await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )
    assert native.status == pb.COOKIE_CHOICE_STATUS_NONE
    policy = await stubs.cookies.GetCookiePolicy(
        pb.GetCookiePolicyRequest(), metadata=stubs.metadata
    )
    assert list(policy.policy.allowed_origins) == []


async def test_unknown_json_fields_are_refused(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """A JSON field the contract does not define (a tenant, a server timestamp) is 400
    invalid_argument naming it, with a BadRequest detail, and nothing is stored."""
    visitor_id = uuid4().hex
    status, _, body = await http(
        http_port,
        f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice",
        record_body(visitor_id, tenantId=str(uuid4())),
        auth(page_key),
    )
    error = json.loads(body)
    assert (status, error["code"]) == (400, "invalid_argument")
    assert error["message"].startswith("request:")
    assert "tenantId" in error["message"]
    assert error["details"][0]["type"] == "google.rpc.BadRequest"
    native = await stubs.cookies.GetCookieChoice(
        pb.GetCookieChoiceRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )
    assert native.status == pb.COOKIE_CHOICE_STATUS_NONE


async def test_idempotency_key_over_connect(
    http_port: int, tenant: Tenant, stubs: Stubs, page_key: str
) -> None:
    """The same idempotency-key twice records one choice and answers the first response; with
    another request it is invalid_argument."""
    visitor_id = uuid4().hex
    path = f"{prefix(tenant)}/consent.v1.CookieService/RecordCookieChoice"
    headers = auth(page_key, **{"Idempotency-Key": f"click-{visitor_id}"})
    first = await http(http_port, path, record_body(visitor_id), headers)
    again = await http(http_port, path, record_body(visitor_id), headers)
    assert (first[0], again[0]) == (200, 200)
    assert json.loads(first[2])["choice"]["choiceId"] == json.loads(again[2])["choice"]["choiceId"]
    listed = await stubs.cookies.ListCookieChoices(
        pb.ListCookieChoicesRequest(visitor_id=visitor_id), metadata=stubs.metadata
    )
    assert len(listed.choices) == 1
    status, _, body = await http(http_port, path, record_body(uuid4().hex), headers)
    assert (status, json.loads(body)["code"]) == (400, "invalid_argument")


async def test_a_servers_key_records_and_withdraws_over_connect_json(
    http_port: int,
    tenant: Tenant,
    stubs: Stubs,
    admin: AdminUseCases,
    *,
    page_key: str,
    channel: grpc.aio.Channel,
) -> None:
    """A form's backend that does not speak gRPC could check over JSON but not record the
    sign-up (probe HI). ConsentService's writes are served on the browser port, under the
    same scopes: a page key may not; a consent:write key from a server records, keeping the
    person's address and browser it relays as evidence; from a page (it says its Origin) the
    request's own are kept instead."""
    await put_purpose(stubs, "newsletter")
    base = f"{prefix(tenant)}/consent.v1.ConsentService"
    form, _ = await admin.issue_key(tenant.slug, ["consent:write"], name="signup form")
    target = {
        "purpose": "newsletter",
        "channel": "CHANNEL_EMAIL",
        "scope": "PARTY_SCOPE_FIRST_PARTY",
    }
    signup = {
        "subject": {"email": "form@example.fr"},
        "choices": [{"target": target, "state": "CONSENT_STATE_GRANTED"}],
        "source": "SOURCE_API",
        "actor": "signup-form",
        "evidence": {"ipAddress": "203.0.113.9", "userAgent": "Firefox/140", "reference": "f-1"},
    }
    status, _, body = await http(http_port, f"{base}/RecordConsent", signup, auth(page_key))
    assert (status, json.loads(body)["code"]) == (403, "permission_denied")
    status, _, body = await http(http_port, f"{base}/RecordConsent", signup, auth(form.token))
    assert status == 200, body
    ref = types_pb2.SubjectRef(email="form@example.fr")
    assert (await check(stubs, ref, target_of("newsletter"))).decision == ALLOW
    withdrawal = {
        "subject": {"email": "form@example.fr"},
        "targets": [target],
        "source": "SOURCE_API",
        "actor": "signup-form",
        "evidence": {"ipAddress": "203.0.113.10"},
    }
    headers = auth(form.token, Origin=f"http://127.0.0.1:{http_port}")  # its own page
    status, _, body = await http(http_port, f"{base}/WithdrawConsent", withdrawal, headers)
    assert status == 200, body
    assert (await check(stubs, ref, target_of("newsletter"))).decision == DENY
    exported = await rights_pb2_grpc.RightsServiceStub(channel).ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=ref), metadata=stubs.metadata
    )
    history = json.loads(exported.document_json)["consent_history"]
    evidence = {e["state"]: e["evidence"]["ip_address"] for e in history}
    assert evidence == {"granted": "203.0.113.9", "withdrawn": "127.0.0.1"}


async def test_demo_page_and_unknown_paths(http_port: int) -> None:
    """The demo page (its publishable key written in) and its bundle are served; / redirects to
    it; anything else is 404."""
    status, headers, body = await http(http_port, "/demo/", method="GET")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"banner.js" in body
    assert b'<meta name="consentd-key" content="ck_' in body
    assert headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    status, headers, body = await http(http_port, "/demo/banner.js", method="GET")
    assert (status, headers["content-type"].split(";")[0]) == (200, "text/javascript")
    for path in ("/demo/../pyproject.toml", "/etc/passwd", "/demo/src/banner.ts"):
        status, headers, _ = await http(http_port, path, method="GET")
        assert (status, headers.get("x-content-type-options")) == (404, "nosniff")
    # Every page's browser asks for an icon: no content, kept a day (probe EA: a 404 each time).
    status, headers, body = await http(http_port, "/favicon.ico", method="GET")
    assert (status, body, headers["cache-control"]) == (204, b"", "public, max-age=86400")


async def test_demo_mode_key_is_publishable_and_made_once(
    app: App, admin: AdminUseCases, tenant: Tenant, tmp_path: Path
) -> None:
    """CONSENTD_DEMO's key for the page has scope cookies:write alone, is written once to a 0600
    file (the same key on the next start), and needs the owner's URL to be issued."""
    first = await demo_key(app, tmp_path, tenant.slug)
    assert await demo_key(app, tmp_path, tenant.slug) == first
    stat = (tmp_path / DEMO_KEY_FILE).stat()
    assert stat.st_mode & 0o777 == 0o600
    (stored,) = await admin.keys(tenant.slug)
    assert stored.scopes == {Scope.COOKIES}
    assert first.split("_")[2] == stored.key_id
    with pytest.raises(ConfigError, match="CONSENTD_MIGRATION_DATABASE_URL"):
        await demo_key(replace(app, admin=None), None, tenant.slug)


def _head_only(port: int, path: str, headers: str = "") -> tuple[bytes, float]:
    """A POST saying Content-Length: 100 whose body never comes: what the server answers
    within 5 s (b"" when it waits for the body), and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            f"Content-Type: application/json\r\n{headers}\r\n".encode()
        )
        try:
            return sock.recv(65536), time.monotonic() - started
        except TimeoutError:
            return b"", time.monotonic() - started


@pytest.mark.parametrize(
    "method",
    [
        "RightsService/EraseSubject",  # a service served in part
        "CampaignService/StreamCheckConsent",  # a stream of a service served in part
        "AuditService/VerifyAuditChain",  # a service not served here at all
    ],
)
async def test_a_method_left_to_the_grpc_port_is_refused_from_the_head(
    http_port: int, tenant: Tenant, stubs: Stubs, admin_key: str, method: str
) -> None:
    """Probe NA: a method a partly served service leaves to the gRPC port waited 30 s for the
    body of a caller without a key, then answered 408; a page of an allowed origin could not
    read its 501 nor preflight it; a GET of it was a plain-text 404. Each is answered from the
    request's head (a keyless caller's 401 first, as every method's), readable by the origin."""
    await allow_origin(stubs, SHOP)
    path = f"{prefix(tenant)}/consent.v1.{method}"
    keyless, took = await asyncio.to_thread(_head_only, http_port, path)
    assert took < 4, (keyless, took)
    keyed, took = await asyncio.to_thread(
        _head_only, http_port, path, f"Authorization: Bearer {admin_key}\r\n"
    )
    assert took < 4, (keyed, took)
    assert keyed.startswith(b"HTTP/1.1 501 "), keyed
    if not method.startswith("AuditService"):  # a service not served: 501 for anyone
        assert keyless.startswith(b"HTTP/1.1 401 "), keyless
    # Every service of the contract is preflighted (AuditService's was a bare 404; probe OA).
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    status, headers, _ = await http(
        http_port, path, headers={"Origin": SHOP, **asked}, method="OPTIONS"
    )
    assert (status, headers.get("access-control-allow-origin")) == (204, SHOP)
    status, headers, body = await http(http_port, path, {}, auth(admin_key))
    assert (status, json.loads(body)["code"]) == (501, "unimplemented"), body
    assert json.loads(body)["message"] == (
        f"consent.v1.{method} is not served on the browser port: call it on the gRPC port"
    )
    # From a page, a key wider than cookies:write is refused first, as for any method.
    status, headers, body = await http(http_port, path, {}, {"Origin": SHOP, **auth(admin_key)})
    refused = (
        (501, "unimplemented") if method.startswith("AuditService") else (403, "permission_denied")
    )
    assert (status, json.loads(body)["code"]) == refused, body
    assert headers.get("access-control-allow-origin") == SHOP  # the page reads why
    url = f"{prefix(tenant)}/consent.v1.{method}?encoding=json&message=%7B%7D"
    status, _, body = await http(http_port, url, headers=auth(admin_key), method="GET")
    assert (status, json.loads(body)["code"]) == (501, "unimplemented"), body


@pytest.mark.parametrize(
    ("method", "key_of", "origin"),
    [
        ("CookieService/RecordCookieChoice", "page", "https://evil.example"),
        ("CookieService/RecordCookieChoice", "admin", SHOP),
        ("RightsService/EraseSubject", "admin", SHOP),  # left to the gRPC port: 403 first
    ],
)
async def test_a_page_refused_its_origin_or_key_is_answered_from_the_head(
    http_port: int,
    tenant: Tenant,
    stubs: Stubs,
    *,
    page_key: str,
    admin_key: str,
    method: str,
    key_of: str,
    origin: str,
) -> None:
    """Session 34: a page of an origin the tenant does not allow, or sending a key wider than
    cookies:write, was refused only once its body came (one never sent held the connection 30 s,
    then 408), and a wide key from a page calling a method left to the gRPC port was told 501
    where any other method said 403. Both are 403 from the request's head."""
    await allow_origin(stubs, SHOP)
    key = page_key if key_of == "page" else admin_key
    path = f"{prefix(tenant)}/consent.v1.{method}"
    sent = f"Authorization: Bearer {key}\r\nOrigin: {origin}\r\n"
    answer, took = await asyncio.to_thread(_head_only, http_port, path, sent)
    assert took < 4, (answer, took)
    assert answer.startswith(b"HTTP/1.1 403 "), answer
