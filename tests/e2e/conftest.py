"""The CampaignService stub, beside the shared stubs of tests/conftest.py; an app that mails
through a real SMTP server of the tests (tests/e2e/mailbox.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from consent.v1 import campaign_pb2_grpc

from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from tests.conftest import TEST_SECRET, Stubs, TestClock
from tests.e2e.mailbox import LINK, Mailbox, new_tenant, smtp_server


@pytest.fixture
def campaign(channel: grpc.aio.Channel) -> campaign_pb2_grpc.CampaignServiceStub:
    return campaign_pb2_grpc.CampaignServiceStub(channel)


@pytest.fixture(scope="module")
def mail() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


@asynccontextmanager
async def mailing_service(
    mail: tuple[Mailbox, int], database_url: str, owner_url: str, clock: TestClock, **more: Any
) -> AsyncIterator[App]:
    """The service, sending mail through the test's SMTP server (no TLS on 127.0.0.1), the
    preference centre on; `more` settings."""
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=mail[1],
        smtp_sender="consent@consentd.example",
        smtp_tls="none",
        preferences=True,
        **more,
    )
    application = bootstrap(settings, database_url, TEST_SECRET, clock, owner_url=owner_url)
    yield application
    await application.aclose()


@asynccontextmanager
async def served_channel(app: App) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to the app's own gRPC server on a free port."""
    server = app.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    await server.stop(grace=1)


@pytest.fixture(scope="module")
async def mailing_app(
    mail: tuple[Mailbox, int], database_url: str, owner_url: str, clock: TestClock
) -> AsyncIterator[App]:
    async with mailing_service(mail, database_url, owner_url, clock, confirm_url=LINK) as app:
        yield app


@pytest.fixture(scope="module")
async def mailing_channel(mailing_app: App) -> AsyncIterator[grpc.aio.Channel]:
    async with served_channel(mailing_app) as channel:
        yield channel


@pytest.fixture
async def mailing(mailing_app: App, mailing_channel: grpc.aio.Channel) -> Stubs:
    """Stubs with an admin key of a fresh tenant of the mailing app."""
    return (await new_tenant(mailing_app, mailing_channel))[0]
