"""A person with no link at hand asks the page of their tenant for it
(`/preferences/link/<tenant id>`): a known person gets it by e-mail, through a real SMTP
server; an unknown address is answered alike and mailed nothing; one address gets one mail
in ten minutes however often it is asked; a client asking too often is 429; the page names no
address in the log."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from uuid import uuid4

import grpc
import pytest
from consent.v1 import types_pb2
from structlog.testing import capture_logs

from consentd.api.http import HttpServer
from consentd.bootstrap import App
from tests.conftest import TestClock, bearer
from tests.e2e.conftest import mailing_service, served_channel
from tests.e2e.helpers import by_email, current, grant, put_purpose, record, target
from tests.e2e.mailbox import Mailbox, body_of, new_tenant
from tests.e2e.test_browser_wire import _send

JEANNE = "jeanne.asks@example.fr"
PAGE = "https://consent.example.fr/preferences/#token={token}"
LINK_IN_MAIL = re.compile(r"#token=(p1\.[A-Za-z0-9_.-]+)")


@pytest.fixture(scope="module")
async def asking_app(
    mail: tuple[Mailbox, int], database_url: str, owner_url: str, clock: TestClock
) -> AsyncIterator[App]:
    async with mailing_service(mail, database_url, owner_url, clock, preferences_url=PAGE) as app:
        yield app


@pytest.fixture(scope="module")
async def asking_channel(asking_app: App) -> AsyncIterator[grpc.aio.Channel]:
    async with served_channel(asking_app) as channel:
        yield channel


@pytest.fixture
async def asking_port(asking_app: App) -> AsyncIterator[int]:
    server = HttpServer(asking_app.browser_app(), grace=1)
    port = await server.start("127.0.0.1:0")
    yield port
    await server.stop()


async def _ask(port: int, tenant: str, form: bytes | None) -> tuple[int, str]:
    url = f"http://127.0.0.1:{port}/preferences/link/{tenant}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    status, _, body = await asyncio.to_thread(
        _send, url, form, headers, "POST" if form is not None else "GET"
    )
    return status, body.decode()


async def _ready(port: int, tenant_id: str) -> None:
    """Once the page knows the tenant: the list of tenant ids is read once a second at most."""
    for _ in range(30):
        if (await _ask(port, tenant_id, None))[0] == 200:
            return
        await asyncio.sleep(0.1)


async def test_a_known_person_gets_their_link_by_mail_and_nobody_learns_who_is_known(
    asking_app: App,
    asking_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    asking_port: int,
) -> None:
    mailbox = mail[0]
    stubs, tenant = await new_tenant(asking_app, asking_channel)
    await put_purpose(stubs, "newsletter")
    await record(stubs, types_pb2.SubjectIdentity(email=JEANNE), grant(target("newsletter")))
    tenant_id = str(tenant.tenant_id)
    await _ready(asking_port, tenant_id)
    status, form = await _ask(asking_port, tenant_id, None)
    assert status == 200
    assert 'name="email"' in form
    with capture_logs() as logs:
        known = await _ask(asking_port, tenant_id, b"email=Jeanne.Asks%40example.fr")
        unknown = await _ask(asking_port, tenant_id, b"email=nobody.asks%40example.fr")
        (message,) = await mailbox.wait_for(JEANNE)
        again = await _ask(asking_port, tenant_id, b"email=jeanne.asks%40example.fr")
        await asyncio.sleep(0.5)
    # The same words, known or not (no oracle of who is a customer); one mail per address.
    assert known[0] == unknown[0] == again[0] == 200
    assert known[1] == unknown[1] == again[1]
    assert "Si cette adresse est connue" in known[1]
    assert [m["To"] for m in mailbox.messages].count(JEANNE) == 1
    assert not [m for m in mailbox.messages if m["To"] == "nobody.asks@example.fr"]
    outcomes = [line["outcome"] for line in logs if line["event"] == "preference_link_asked"]
    assert sorted(outcomes) == ["sent", "sent_lately", "unknown"]
    assert JEANNE not in str(logs)
    # The link in the mail acts for Jeanne, and for her alone.
    found = LINK_IN_MAIL.search(body_of(message))
    assert found, body_of(message)
    link = replace(stubs, metadata=bearer(found.group(1)))
    assert (await current(link, by_email(JEANNE))).consents
    assert "consent.example.fr/preferences/#token=p1." in body_of(message)


async def test_the_page_refuses_what_it_cannot_serve(
    asking_app: App, asking_channel: grpc.aio.Channel, asking_port: int
) -> None:
    _, tenant = await new_tenant(asking_app, asking_channel)
    tenant_id = str(tenant.tenant_id)
    await _ready(asking_port, tenant_id)
    status, body = await _ask(asking_port, tenant_id, b"email=not-an-address")
    assert status == 400
    assert "pas valable" in body
    assert "not-an-address" not in body
    url = f"http://127.0.0.1:{asking_port}/preferences/link/{tenant_id}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = [
        await asyncio.to_thread(_send, url, b"email=x%40example.fr", form, "POST")
        for _ in range(12)
    ]
    busy = [headers for status, headers, _ in answers if status == 429]
    assert busy  # ten asks a minute per client address
    assert all(h.get("retry-after") == "60" for h in busy), busy  # said when (probe SB)
    assert (await _ask(asking_port, str(uuid4()), None))[0] == 404
    assert (await _ask(asking_port, tenant_id.upper(), None))[0] == 404
    # Addresses a message would read as others' mailboxes (probe MA): refused as not valid.
    for other in (
        b"x%2Cvictim%40example.org",
        b"bob%28c%29%40example.org",
        b"%22bob%22%40example.org",
    ):
        assert (await _ask(asking_port, tenant_id, b"email=" + other))[0] in (400, 429)


async def test_no_page_without_a_relay_or_an_address(app: App, http_port: int) -> None:
    """Without an SMTP relay nor CONSENTD_PREFERENCES_URL a link reaches nobody: no page."""
    assert not app.link_requests.served
    status, _ = await _ask(http_port, str(uuid4()), None)
    assert status == 404
