"""Text messages through the operator's SMS gateway (sms.py): a person known by phone only gets
a rights request's one-time code and is told of its extension or refusal; a gateway that
refuses leaves the request standing, the code unsent and the person untold, said so. The
gateway here is a real HTTP server on 127.0.0.1 keeping what it is sent."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from consent.v1 import rights_pb2, rights_pb2_grpc, types_pb2
from structlog.testing import capture_logs

from consentd import sms
from consentd.bootstrap import App, bootstrap
from consentd.config import Settings
from consentd.config_values import SmsGateway
from tests.conftest import TEST_SECRET, Stubs, TestClock
from tests.e2e.helpers import by_email, grant, put_purpose, record, target, withdraw
from tests.e2e.mailbox import new_tenant

TOKEN = "gateway-token-123"
SENDER = "ACME"
CODE = re.compile(r"\b(\d{6})\b")


class Gateway:
    """An HTTP/1.1 server taking JSON POSTs; answers `status` (200 unless told otherwise)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 200
        self.port = 0
        self.delay = 0.0  # seconds before answering
        self.body = 0  # bytes of answer announced (1 MiB of them sent, then it holds)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append((headers, json.loads(body)))
        await asyncio.sleep(self.delay)
        length = self.body
        writer.write(f"HTTP/1.1 {self.status} X\r\ncontent-length: {length}\r\n\r\n".encode())
        if length:
            writer.write(b"x" * min(length, 1 << 20))
            await writer.drain()
            await asyncio.sleep(5)  # the rest never comes
        await writer.drain()
        writer.close()

    def texts_to(self, number: str) -> list[str]:
        return [m["text"] for _, m in self.received if m["to"] == number]


@pytest.fixture(scope="module")
async def gateway() -> AsyncIterator[Gateway]:
    found = Gateway()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


@pytest.fixture(scope="module")
async def texting(
    gateway: Gateway, database_url: str, owner_url: str, clock: TestClock
) -> AsyncIterator[tuple[App, grpc.aio.Channel]]:
    url = f"http://127.0.0.1:{gateway.port}/messages"
    settings = Settings(sms_gateway=SmsGateway(url, SENDER, TOKEN))
    app = bootstrap(settings, database_url, TEST_SECRET, clock, owner_url=owner_url)
    server = app.server()
    port = server.bind("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield app, channel
    await server.stop(grace=1)
    await app.aclose()


async def _submitted(
    rights: rights_pb2_grpc.RightsServiceStub, stubs: Stubs, phone: str
) -> rights_pb2.SubmitRightsRequestResponse:
    return await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
            subject=types_pb2.SubjectRef(phone=phone),
            send_code_to=rights_pb2.CONTACT_KIND_PHONE,
        ),
        metadata=stubs.metadata,
    )


async def test_a_person_known_by_phone_only_verifies_and_is_told_by_text(
    gateway: Gateway, texting: tuple[App, grpc.aio.Channel]
) -> None:
    app, channel = texting
    stubs, tenant = await new_tenant(app, channel)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    gateway.status = 200
    submitted = await _submitted(rights, stubs, "06 12 34 50 01")
    assert submitted.code_sent
    (text,) = gateway.texts_to("+33612345001")
    headers, message = gateway.received[-1]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert (message["from"], message["reference"]) == (SENDER, submitted.request.request_id)
    assert submitted.request.request_id[:8] in text
    assert "valable 24 h" in text, text  # how long it serves (probe HD: the text said not)
    code = CODE.search(text)
    assert code is not None, text
    request_id = submitted.request.request_id
    confirmed = await rights.ConfirmIdentity(
        rights_pb2.ConfirmIdentityRequest(request_id=request_id, code=code.group(1)),
        metadata=stubs.metadata,
    )
    assert confirmed.request.state == rights_pb2.RIGHTS_REQUEST_STATE_IDENTITY_VERIFIED

    before = datetime.now(UTC)
    extended = await rights.ExtendRightsRequest(
        rights_pb2.ExtendRightsRequestRequest(
            request_id=request_id, months=1, reason="archives sur trois sites"
        ),
        metadata=stubs.metadata,
    )
    told = extended.request.person_told_at.ToDatetime(tzinfo=UTC)
    assert before <= told <= datetime.now(UTC)
    notice = gateway.texts_to("+33612345001")[-1]
    assert "archives sur trois sites" in notice
    assert tenant.name in notice


async def test_a_gateway_that_refuses_leaves_the_request_standing_and_says_so(
    gateway: Gateway, texting: tuple[App, grpc.aio.Channel]
) -> None:
    app, channel = texting
    stubs, _ = await new_tenant(app, channel)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    gateway.status = 503
    try:
        with capture_logs() as logs:
            submitted = await _submitted(rights, stubs, "06 12 34 50 02")
            extended = await rights.ExtendRightsRequest(
                rights_pb2.ExtendRightsRequestRequest(
                    request_id=submitted.request.request_id, months=1, reason="volume"
                ),
                metadata=stubs.metadata,
            )
    finally:
        gateway.status = 200
    assert not submitted.code_sent
    assert submitted.request.state == rights_pb2.RIGHTS_REQUEST_STATE_RECEIVED
    assert not extended.request.HasField("person_told_at")
    events = [e["event"] for e in logs if e["log_level"] == "warning"]
    assert events == ["verification_code_not_sent", "rights_decision_not_sent"]
    assert "+33612345002" not in json.dumps(logs, default=str)


async def test_a_slow_gateway_holds_no_connection_and_no_call_past_its_bound(
    gateway: Gateway, texting: tuple[App, grpc.aio.Channel], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes go after the request is committed: 30 sends to a gateway answering after 6 s held
    every write connection (the pool is 20), and a withdrawal meanwhile failed after the 5 s
    database bound (probe AR). A send past its bound (the whole exchange, not each read) is a
    code not sent; an answer's body is never read (a 2 GB one took the process to 2.3 GB)."""
    app, channel = texting
    stubs, _ = await new_tenant(app, channel)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    await put_purpose(stubs, "newsletter")
    monkeypatch.setattr(sms, "SMS_TIMEOUT", 8.0)
    gateway.delay = 6.0
    try:
        sends = [
            asyncio.create_task(_submitted(rights, stubs, f"06 12 34 51 {n:02d}"))
            for n in range(30)
        ]
        await asyncio.sleep(0.5)  # the sends are waiting on the gateway
        meanwhile = types_pb2.SubjectRef(email="meanwhile@example.fr")
        withdrawn = await withdraw(stubs, meanwhile, target("newsletter"))
        answers = await asyncio.gather(*sends)
    finally:
        gateway.delay = 0.0
    assert withdrawn.events
    assert [a.code_sent for a in answers] == [True] * 30
    monkeypatch.setattr(sms, "SMS_TIMEOUT", 1.0)
    gateway.delay = 3.0
    try:
        late = await _submitted(rights, stubs, "06 12 34 52 01")
    finally:
        gateway.delay = 0.0
    assert not late.code_sent  # the gateway answered after the bound
    assert late.request.state == rights_pb2.RIGHTS_REQUEST_STATE_RECEIVED
    monkeypatch.setattr(sms, "SMS_TIMEOUT", 4.0)
    gateway.body = 2_000_000_000
    try:
        big = await _submitted(rights, stubs, "06 12 34 52 00")
    finally:
        gateway.body = 0
    assert big.code_sent  # 200 is taken; the body, never read, would not end in time


async def test_a_retry_under_the_same_key_is_answered_that_the_code_went(
    gateway: Gateway, texting: tuple[App, grpc.aio.Channel]
) -> None:
    """The code goes after the commit, whose stored answer said "not sent": once the gateway
    took it, a retry with the same idempotency key is answered code_sent true, and no second
    code is sent."""
    app, channel = texting
    stubs, _ = await new_tenant(app, channel)
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    request = rights_pb2.SubmitRightsRequestRequest(
        kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS,
        subject=types_pb2.SubjectRef(phone="06 12 34 53 00"),
        send_code_to=rights_pb2.CONTACT_KIND_PHONE,
    )
    keyed = (*stubs.metadata, ("idempotency-key", "submit-once-1"))
    first = await rights.SubmitRightsRequest(request, metadata=keyed)
    again = await rights.SubmitRightsRequest(request, metadata=keyed)
    assert (first.code_sent, again.code_sent) == (True, True)
    assert again.request.request_id == first.request.request_id
    assert len(gateway.texts_to("+33612345300")) == 1


async def test_without_a_mail_relay_a_person_with_an_address_and_a_phone_is_told_by_text(
    gateway: Gateway, texting: tuple[App, grpc.aio.Channel]
) -> None:
    """Texts reach the phone, no relay serves the address: the extension goes by text (it was
    only logged for the address, and nothing warned; probe AR)."""
    app, channel = texting
    stubs, _ = await new_tenant(app, channel)
    await put_purpose(stubs, "newsletter")
    person = types_pb2.SubjectIdentity(email="both@example.fr", phone="06 12 34 54 00")
    await record(stubs, person, grant(target("newsletter")))
    rights = rights_pb2_grpc.RightsServiceStub(channel)
    submitted = await rights.SubmitRightsRequest(
        rights_pb2.SubmitRightsRequestRequest(
            kind=rights_pb2.RIGHTS_REQUEST_KIND_ACCESS, subject=by_email("both@example.fr")
        ),
        metadata=stubs.metadata,
    )
    extended = await rights.ExtendRightsRequest(
        rights_pb2.ExtendRightsRequestRequest(
            request_id=submitted.request.request_id, months=1, reason="volume"
        ),
        metadata=stubs.metadata,
    )
    assert extended.request.HasField("person_told_at")
    assert "volume" in gateway.texts_to("+33612345400")[-1]
