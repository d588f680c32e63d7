"""The browser port refuses a caller without a valid credential before it reads the body, for
whatever reason the credential is refused, and reads nothing of a tenant a URL makes up
(probe BC)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from consentd.api.http import HttpServer
from consentd.app import auth
from consentd.app.cookies import CookieUseCases
from consentd.bootstrap import bootstrap
from consentd.config import Settings
from consentd.domain.keys import new_api_key
from consentd.domain.tenancy import Tenant
from tests.conftest import TEST_SECRET, TestClock

PATH = "/consent.v1.CookieService/RecordCookieChoice"


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{port}{path}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


@pytest.fixture
async def browser_port(
    database_url: str, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[int]:
    """A browser port of an app of its own whose allowance of credential look-ups is small."""
    monkeypatch.setattr(auth, "LOOKUPS_PER_SECOND", 0.01)
    monkeypatch.setattr(auth, "LOOKUP_BURST", 3.0)
    application = bootstrap(Settings(db_pool_size=5), database_url, TEST_SECRET, clock)
    server = HttpServer(application.browser_app(), grace=1)
    port = await server.start("127.0.0.1:0")
    try:
        yield port
    finally:
        await server.stop()
        await application.aclose()


async def test_past_the_lookup_allowance_the_body_is_not_read(
    browser_port: int, tenant: Tenant
) -> None:
    """Made-up keys of a tenant spend its allowance of look-ups; past it, a call with another
    such key is 429 `resource_exhausted` before its body is read: it was decoded and answered
    400 "is not valid JSON", a caller without a key reaching the decoder."""
    broken = b'{"visitorId":'
    codes = []
    for _ in range(8):
        forged = new_api_key(tenant.tenant_id).token
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {forged}"}
        status, body = await asyncio.to_thread(_post, browser_port, PATH, broken, headers)
        codes.append((status, json.loads(body)["code"]))
    assert set(codes) <= {(401, "unauthenticated"), (429, "resource_exhausted")}, codes
    assert codes[-1] == (429, "resource_exhausted"), codes


async def test_a_made_up_tenant_in_the_url_reads_nothing_of_it(
    browser_port: int, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/t/<random id>/` with no credential, or a preflight for it, read that tenant's policy
    in a transaction of its own each (unbounded, for callers without a key); the tenant a URL
    names is checked against the cached list of tenants first. A real tenant's is read."""
    read: list[object] = []
    real = CookieUseCases.allowed_origins

    async def spied(self: CookieUseCases, tenant_id: object) -> frozenset[str]:
        read.append(tenant_id)
        return await real(self, tenant_id)  # type: ignore[arg-type]

    monkeypatch.setattr(CookieUseCases, "allowed_origins", spied)
    headers = {"Content-Type": "application/json", "Origin": "https://evil.example"}
    for _ in range(5):
        status, _ = await asyncio.to_thread(
            _post, browser_port, f"/t/{uuid4()}{PATH}", b"{}", headers
        )
        assert status == 401
    assert read == []
    await asyncio.to_thread(_post, browser_port, f"/t/{tenant.tenant_id}{PATH}", b"{}", headers)
    assert read == [tenant.tenant_id]
