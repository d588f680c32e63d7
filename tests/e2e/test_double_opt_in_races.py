"""A double opt-in confirmation racing a withdrawal or an objection sent to another process of
the service (`serve --workers N`, or replicas): whichever commits first, the no stands."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from uuid import uuid4

import grpc
import pytest
from consent.v1 import (
    catalog_pb2,
    consent_pb2,
    consent_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
    types_pb2,
)

from consentd.bootstrap import App, bootstrap
from tests.conftest import TEST_SECRET, TestClock
from tests.e2e.helpers import DENY, by_email, check, grant, record, target, withdraw
from tests.e2e.mailbox import Mailbox, new_tenant, token_of

ROUNDS = 40


@pytest.fixture
async def other_process(
    mailing_app: App, database_url: str, owner_url: str, clock: TestClock
) -> AsyncIterator[grpc.aio.Channel]:
    """A second service on the same database, as a second worker would be: its own pools and
    its own in-process write queues."""
    app = bootstrap(mailing_app.settings, database_url, TEST_SECRET, clock, owner_url=owner_url)
    server = app.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(grace=1)
        await app.aclose()


@pytest.mark.parametrize("no", ["withdrawal", "objection"])
async def test_a_no_racing_the_confirmation_in_another_process_stands(
    mailing_app: App,
    mailing_channel: grpc.aio.Channel,
    mail: tuple[Mailbox, int],
    other_process: grpc.aio.Channel,
    no: str,
) -> None:
    """The confirmation read the facts and blocks before taking the subject's write lock, so a
    withdrawal or an objection another process committed meanwhile was not seen: the grant
    written after it made the check ALLOW though both calls were acknowledged (a probe: 12 of
    60 races with two workers; none in one process, whose write queue orders them). Now the
    confirmation locks the subject first, and an objection takes its time once it holds the
    lock: every round ends DENY."""
    stubs, _ = await new_tenant(mailing_app, mailing_channel)
    purpose = catalog_pb2.Purpose(
        purpose_id="newsletter",
        lawful_basis=types_pb2.LAWFUL_BASIS_CONSENT,
        requires_confirmation=True,
    )
    await stubs.catalog.PutPurpose(
        catalog_pb2.PutPurposeRequest(purpose=purpose), metadata=stubs.metadata
    )
    there = dataclasses.replace(stubs, consent=consent_pb2_grpc.ConsentServiceStub(other_process))
    rights = rights_pb2_grpc.RightsServiceStub(other_process)
    to = target("newsletter")
    allowed = []
    for _ in range(ROUNDS):
        address = f"race-{uuid4().hex[:8]}@example.fr"
        await record(stubs, types_pb2.SubjectIdentity(email=address), grant(to))
        (message,) = await mail[0].wait_for(address)
        confirm = stubs.consent.ConfirmConsent(
            consent_pb2.ConfirmConsentRequest(token=token_of(message)), metadata=stubs.metadata
        )
        if no == "withdrawal":
            said_no = withdraw(there, by_email(address), to)
        else:
            said_no = rights.RecordObjection(
                rights_pb2.RecordObjectionRequest(subject=by_email(address)),
                metadata=stubs.metadata,
            )
        await asyncio.gather(confirm, said_no)
        if (await check(stubs, by_email(address), to)).decision != DENY:
            allowed.append(address)
    assert allowed == []
