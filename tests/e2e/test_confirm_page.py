"""consentd's own double opt-in page, `/confirm/<tenant id>/<token>` on the browser port (probe
HI: a newsletter sign-up known only by address had no page to confirm on, the tenant had to
build one calling ConfirmConsent). The message links to it when CONSENTD_CONFIRM_URL says so;
GET shows what it confirms and writes nothing (mail scanners follow links), POST confirms once;
a link of another tenant, a made-up one, an expired one or one overtaken by a "no" confirms
nothing."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import grpc
import pytest
from consent.v1 import catalog_pb2, consent_pb2, rights_pb2, rights_pb2_grpc, types_pb2
from structlog.testing import capture_logs

from consentd.api.http import HttpServer
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.domain.tenancy import Tenant
from tests.conftest import TEST_SECRET, Stubs, TestClock
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    check,
    grant,
    history,
    record,
    target,
    withdraw,
)
from tests.e2e.mailbox import Mailbox, body_of, new_tenant

PAGE = "https://consent.example.fr/confirm/{tenant}/{token}"
IN_MESSAGE = re.compile(r"https://consent\.example\.fr(/confirm/[0-9a-f-]{36}/[A-Za-z0-9_-]+)")
NEWSLETTER = target("newsletter")
PENDING = consent_pb2.REASON_PENDING_CONFIRMATION
_BODY = {"GET": None, "HEAD": None, "POST": b""}


@pytest.fixture(scope="module")
async def linking_app(
    mail: tuple[Mailbox, int], database_url: str, owner_url: str, clock: TestClock
) -> AsyncIterator[App]:
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=mail[1],
        smtp_sender="consent@consentd.example",
        smtp_tls="none",
        confirm_url=PAGE,
    )
    application = bootstrap(settings, database_url, TEST_SECRET, clock, owner_url=owner_url)
    yield application
    await application.aclose()


@pytest.fixture(scope="module")
async def ports(linking_app: App) -> AsyncIterator[tuple[grpc.aio.Channel, int]]:
    """A channel to the app's gRPC port, and its browser port."""
    server = linking_app.server()
    grpc_port = server.bind("127.0.0.1:0")
    await server.start()
    browser = HttpServer(linking_app.browser_app(), grace=1)
    http_port = await browser.start("127.0.0.1:0")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        yield channel, http_port
    await browser.stop()
    await server.stop(grace=1)


@pytest.fixture
async def signed_up(linking_app: App, ports: tuple[grpc.aio.Channel, int]) -> tuple[Stubs, Tenant]:
    """A fresh tenant whose newsletter asks for confirmation."""
    stubs, tenant = await new_tenant(linking_app, ports[0])
    purpose = catalog_pb2.Purpose(
        purpose_id="newsletter",
        display_name="La <lettre> d'Odile",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        requires_confirmation=True,
    )
    request = catalog_pb2.PutPurposeRequest(purpose=purpose)
    await stubs.catalog.PutPurpose(request, metadata=stubs.metadata)
    return stubs, tenant


def _call(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


async def _sign_up(stubs: Stubs, mail: tuple[Mailbox, int], port: int) -> tuple[str, str]:
    """A newsletter sign-up by address alone; its address and the page its message links to."""
    address = f"s-{uuid4().hex[:8]}@example.fr"
    await record(stubs, types_pb2.SubjectIdentity(email=address), grant(NEWSLETTER))
    (message,) = await mail[0].wait_for(address)
    found = IN_MESSAGE.search(body_of(message))
    assert found, "the message links to consentd's page"
    return address, f"http://127.0.0.1:{port}{found.group(1)}"


async def test_the_page_asks_on_get_and_confirms_once_on_post(
    signed_up: tuple[Stubs, Tenant], mail: tuple[Mailbox, int], ports: tuple[grpc.aio.Channel, int]
) -> None:
    stubs, tenant = signed_up
    address, link = await _sign_up(stubs, mail, ports[1])
    assert f"/confirm/{tenant.tenant_id}/" in link

    for method in ("GET", "HEAD"):
        status, page = await asyncio.to_thread(_call, link, method)
        assert status == 200
    status, page = await asyncio.to_thread(_call, link)
    # What it confirms, its name escaped, with its channel; the button posts.
    assert "« La &lt;lettre&gt; d&#x27;Odile » par e-mail" in page
    assert 'method="post"' in page
    assert f"Messages de {tenant.name}" in page  # whose messages these are
    pending = await check(stubs, by_email(address), NEWSLETTER)
    assert (pending.decision, pending.reason) == (DENY, PENDING)  # opening wrote nothing

    status, page = await asyncio.to_thread(_call, link, "POST", b"")
    assert (status, "C'est confirmé" in page) == (200, True)
    allowed = await check(stubs, by_email(address), NEWSLETTER)
    assert (allowed.decision, allowed.reason) == (ALLOW, consent_pb2.REASON_GRANTED)
    events = (await history(stubs, by_email(address))).events
    (granted,) = [e for e in events if e.state == types_pb2.CONSENT_STATE_GRANTED]
    assert granted.source == types_pb2.SOURCE_PORTAL  # the person's own click
    assert granted.evidence_reference.startswith("confirmation:")
    # Its sealed evidence says consentd's own page saw the click (probe IH: it read as a
    # server's ConfirmConsent asserting an address and a browser).
    rights = rights_pb2_grpc.RightsServiceStub(ports[0])
    exported = await rights.ExportSubject(
        rights_pb2.ExportSubjectRequest(subject=by_email(address)), metadata=stubs.metadata
    )
    (mine,) = (
        e for e in json.loads(exported.document_json)["consent_history"] if e["state"] == "granted"
    )
    assert mine["evidence"]["via"] == "confirmation link"

    # Followed again (a second click, a scanner's POST): said so, nothing more written.
    for method in ("POST", "GET"):
        status, page = await asyncio.to_thread(_call, link, method, _BODY[method])
        assert (status, "déjà été utilisé" in page) == (200, True)
    assert len((await history(stubs, by_email(address))).events) == len(events)


async def test_a_link_made_up_or_of_another_tenant_confirms_nothing(
    linking_app: App,
    signed_up: tuple[Stubs, Tenant],
    mail: tuple[Mailbox, int],
    ports: tuple[grpc.aio.Channel, int],
) -> None:
    stubs, tenant = signed_up
    address, link = await _sign_up(stubs, mail, ports[1])
    _, other = await new_tenant(linking_app, ports[0])
    token = link.rsplit("/", 1)[1]
    base = f"http://127.0.0.1:{ports[1]}/confirm"
    for wrong in (
        f"{base}/{other.tenant_id}/{token}",  # the token is the other tenant's
        f"{base}/{str(tenant.tenant_id).upper()}/{token}",  # one spelling of the tenant
        f"{base}/{tenant.tenant_id}/{token[:-1]}",
        f"{base}/{tenant.tenant_id}/{token}x",
        f"{base}/{tenant.tenant_id}/{token}/",
        f"{base}/{tenant.tenant_id}/{'A' * 129}",
        f"{base}/not-a-tenant/{token}",
        f"{base}/{tenant.tenant_id}",
        f"{base}/",
    ):
        for method in ("GET", "POST"):
            status, page = await asyncio.to_thread(_call, wrong, method, _BODY[method])
            assert (status, "Ce lien n'est pas valable" in page) == (404, True), wrong
    status, _ = await asyncio.to_thread(_call, link, "PUT", b"")
    assert status == 405
    pending = await check(stubs, by_email(address), NEWSLETTER)
    assert (pending.decision, pending.reason) == (DENY, PENDING)


async def test_an_expired_link_or_one_after_a_no_confirms_nothing(
    signed_up: tuple[Stubs, Tenant],
    mail: tuple[Mailbox, int],
    ports: tuple[grpc.aio.Channel, int],
    clock: TestClock,
) -> None:
    stubs, tenant = signed_up
    late, late_link = await _sign_up(stubs, mail, ports[1])
    changed, changed_link = await _sign_up(stubs, mail, ports[1])
    await withdraw(stubs, by_email(changed), NEWSLETTER)

    status, page = await asyncio.to_thread(_call, changed_link, "POST", b"")
    assert (status, "ne peut plus rien confirmer" in page) == (200, True)
    assert (await check(stubs, by_email(changed), NEWSLETTER)).decision == DENY

    clock.pinned = datetime.now(UTC) + timedelta(days=7, minutes=1)
    try:
        with capture_logs() as logs:
            for method in ("GET", "POST"):
                status, page = await asyncio.to_thread(_call, late_link, method, _BODY[method])
                assert (status, "Ce lien a expiré" in page) == (200, True)
        # Every click is counted, with its tenant (probe IE: only a usable link's were).
        followed = [e for e in logs if e["event"] == "confirmation_link_followed"]
        assert [(e["outcome"], e["tenant"]) for e in followed] == [("expired", tenant.slug)]
        lapsed = await check(stubs, by_email(late), NEWSLETTER)
        assert (lapsed.decision, lapsed.reason) == (DENY, consent_pb2.REASON_EXPIRED)
    finally:
        clock.pinned = None


async def test_a_link_overtaken_by_an_objection_offers_nothing_and_is_not_used(
    signed_up: tuple[Stubs, Tenant], mail: tuple[Mailbox, int], ports: tuple[grpc.aio.Channel, int]
) -> None:
    """Probe IE: after an objection the page still offered "Je confirme", the click answered
    "can no longer confirm" and marked the link used ("already used" after). The page judges
    as the click does: nothing offered, nothing marked, the same answer every time."""
    stubs, _ = signed_up
    address, link = await _sign_up(stubs, mail, ports[1])
    rights = rights_pb2_grpc.RightsServiceStub(ports[0])
    objection = rights_pb2.RecordObjectionRequest(subject=by_email(address))
    await rights.RecordObjection(objection, metadata=stubs.metadata)
    for method in ("GET", "POST", "GET", "POST"):
        status, page = await asyncio.to_thread(_call, link, method, _BODY[method])
        assert (status, "ne peut plus rien confirmer" in page) == (200, True), method
        assert 'method="post"' not in page
    assert (await check(stubs, by_email(address), NEWSLETTER)).decision == DENY
