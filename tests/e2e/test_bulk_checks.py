"""Checks at campaign scale: a batch of up to 1,000 and a stream of any length, answered in
order, with per-recipient errors, limits that end an abusive stream with a clear status, and no
answer older than the call."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, consent_pb2, types_pb2
from structlog.testing import capture_logs

from consentd.api import campaign_servicer
from consentd.api.campaign_servicer import CampaignServicer
from consentd.api.interceptors import ServiceInterceptor
from consentd.api.server import Server, campaign_service
from consentd.bootstrap import App
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs, TestClock
from tests.e2e.helpers import (
    ALLOW,
    DENY,
    by_email,
    by_id,
    check,
    grant,
    put_purpose,
    record,
    refuse,
    stamp,
    target,
    withdraw,
)

Campaign = campaign_pb2_grpc.CampaignServiceStub
NEWSLETTER = target("newsletter")


def _emails(*addresses: str) -> list[types_pb2.SubjectRef]:
    return [by_email(a) for a in addresses]


def _verdicts(answers: list[campaign_pb2.CheckAnswer]) -> list[tuple[int, int, int]]:
    return [(a.index, a.decision, a.reason) for a in answers]


async def _people(stubs: Stubs) -> dict[str, str]:
    """ana granted, bob refused, cleo granted then withdrawn; their subject ids."""
    await put_purpose(stubs, "newsletter")
    ids = {}
    for name, choice in (("ana", grant), ("bob", refuse), ("cleo", grant)):
        identity = types_pb2.SubjectIdentity(email=f"{name}@example.fr")
        ids[name] = (await record(stubs, identity, choice(NEWSLETTER))).subject_id
    await withdraw(stubs, by_email("cleo@example.fr"), NEWSLETTER)
    return ids


async def test_batch_answers_in_order_with_errors_of_their_own(
    stubs: Stubs, campaign: Campaign
) -> None:
    """A batch answers each recipient in order — by email, by subject id, unknown — and a
    malformed recipient gets an error answer naming its field while the others are decided."""
    ids = await _people(stubs)
    recipients = [
        *_emails("ANA@example.fr", "bob@example.fr", "not-an-email"),
        by_id(ids["cleo"]),
        by_email("nobody@example.fr"),
        types_pb2.SubjectRef(),
    ]
    request = campaign_pb2.BatchCheckConsentRequest(target=NEWSLETTER, recipients=recipients)

    response = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)

    answers = list(response.answers)
    assert _verdicts(answers[:2]) == [
        (0, ALLOW, consent_pb2.REASON_GRANTED),
        (1, DENY, consent_pb2.REASON_REFUSED),
    ]
    assert answers[0].subject_id == ids["ana"]
    assert answers[2].index == 2
    assert answers[2].error.field == "recipients[2].email"
    assert answers[2].decision == consent_pb2.DECISION_UNSPECIFIED
    assert _verdicts(answers[3:5]) == [
        (3, DENY, consent_pb2.REASON_WITHDRAWN),
        (4, DENY, consent_pb2.REASON_NO_RECORD),
    ]
    assert answers[3].event_id
    assert answers[4].subject_id == ""
    assert answers[5].error.field == "recipients[5]"
    assert response.lawful_basis == types_pb2.LAWFUL_BASIS_CONSENT


async def test_batch_agrees_with_unary_checks_as_of_a_past_time(
    stubs: Stubs, campaign: Campaign, clock: TestClock
) -> None:
    """With as_of, a batch answers from the history exactly as CheckConsent does."""
    clock.pinned = datetime(2026, 1, 1, tzinfo=UTC)
    await _people(stubs)
    before_withdrawal = datetime(2025, 12, 31, tzinfo=UTC)
    clock.pinned = datetime(2026, 2, 1, tzinfo=UTC)
    ana, cleo = by_email("ana@example.fr"), by_email("cleo@example.fr")
    await withdraw(stubs, ana, NEWSLETTER)
    moment = datetime(2026, 1, 15, tzinfo=UTC)
    request = campaign_pb2.BatchCheckConsentRequest(
        target=NEWSLETTER, recipients=[ana, cleo], as_of=stamp(moment)
    )

    batch = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)

    assert _verdicts(list(batch.answers)) == [
        (0, ALLOW, consent_pb2.REASON_GRANTED),
        (1, DENY, consent_pb2.REASON_WITHDRAWN),
    ]
    for answer, ref in zip(batch.answers, (ana, cleo), strict=True):
        unary = await check(stubs, ref, NEWSLETTER, as_of=moment)
        assert (answer.decision, answer.reason, answer.event_id) == (
            unary.decision,
            unary.reason,
            unary.event_id,
        )
    request.as_of.CopyFrom(stamp(before_withdrawal))
    early = await campaign.BatchCheckConsent(request, metadata=stubs.metadata)
    assert {a.reason for a in early.answers} == {consent_pb2.REASON_NO_RECORD}


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        (
            campaign_pb2.BatchCheckConsentRequest(target=NEWSLETTER),
            "INVALID_ARGUMENT",
            "recipients",
        ),
        (
            campaign_pb2.BatchCheckConsentRequest(
                target=NEWSLETTER, recipients=_emails(*(f"p{i}@example.fr" for i in range(1001)))
            ),
            "INVALID_ARGUMENT",
            "recipients",
        ),
        (
            campaign_pb2.BatchCheckConsentRequest(
                target=target("unknown"), recipients=_emails("a@example.fr")
            ),
            "NOT_FOUND",
            "target.purpose",
        ),
        (
            campaign_pb2.BatchCheckConsentRequest(
                target=NEWSLETTER,
                recipients=_emails("a@example.fr"),
                as_of=stamp(datetime.now(UTC) + timedelta(days=1)),
            ),
            "INVALID_ARGUMENT",
            "as_of",
        ),
    ],
    ids=["empty", "too-many", "unknown-purpose", "future-as-of"],
)
async def test_batch_refuses_bad_requests(
    stubs: Stubs,
    campaign: Campaign,
    request_: campaign_pb2.BatchCheckConsentRequest,
    code: str,
    field: str,
) -> None:
    """An empty or over-long batch, an unknown purpose or a future as_of fail as a whole."""
    await put_purpose(stubs, "newsletter")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await campaign.BatchCheckConsent(request_, metadata=stubs.metadata)
    assert failure.value.code().name == code
    assert (failure.value.details() or "").startswith(field)


def _chunk(
    *recipients: types_pb2.SubjectRef, first: bool = False
) -> campaign_pb2.StreamCheckConsentRequest:
    message = campaign_pb2.StreamCheckConsentRequest(recipients=recipients)
    if first:
        message.target.CopyFrom(NEWSLETTER)
    return message


async def _stream(
    campaign: Campaign, stubs: Stubs, messages: list[campaign_pb2.StreamCheckConsentRequest]
) -> tuple[list[campaign_pb2.StreamCheckConsentResponse], grpc.aio.AioRpcError | None]:
    """Send every message, read every answer; the responses and the error that ended it."""

    async def requests() -> AsyncIterator[campaign_pb2.StreamCheckConsentRequest]:
        for message in messages:
            yield message

    call = campaign.StreamCheckConsent(requests(), metadata=stubs.metadata)
    responses: list[campaign_pb2.StreamCheckConsentResponse] = []
    try:
        async for response in call:
            responses.append(response)
    except grpc.aio.AioRpcError as error:
        return responses, error
    return responses, None


async def _drain(call: AsyncIterator[object]) -> tuple[int, grpc.aio.AioRpcError | None]:
    """How many responses a call still gives, and the error it ends with."""
    read = 0
    try:
        async for _ in call:
            read += 1
    except grpc.aio.AioRpcError as error:
        return read, error
    return read, None


async def test_stream_answers_each_chunk_in_order(stubs: Stubs, campaign: Campaign) -> None:
    """Each message gets one response with its answers, numbered across the whole stream; a
    malformed recipient in the middle gets an error answer and the stream goes on."""
    await _people(stubs)
    messages = [
        _chunk(first=True),
        _chunk(*_emails("ana@example.fr", "bob@example.fr")),
        _chunk(*_emails("@broken", "cleo@example.fr")),
        _chunk(*_emails(*(f"unknown{i}@example.fr" for i in range(1000)))),
        _chunk(*_emails("ana@example.fr")),
    ]

    responses, error = await _stream(campaign, stubs, messages)

    assert error is None
    assert [len(r.answers) for r in responses] == [0, 2, 2, 1000, 1]
    answers = [a for r in responses for a in r.answers]
    assert [a.index for a in answers] == list(range(1005))
    # Named as its index: the third of the stream (the second of its message said [0]).
    assert answers[2].error.field == "recipients[2].email"
    assert _verdicts([answers[0], answers[1], answers[3], answers[1004]]) == [
        (0, ALLOW, consent_pb2.REASON_GRANTED),
        (1, DENY, consent_pb2.REASON_REFUSED),
        (3, DENY, consent_pb2.REASON_WITHDRAWN),
        (1004, ALLOW, consent_pb2.REASON_GRANTED),
    ]
    assert {a.reason for a in answers[4:1004]} == {consent_pb2.REASON_NO_RECORD}


async def test_idle_streams_do_not_hold_back_the_others(stubs: Stubs, campaign: Campaign) -> None:
    """Streams whose callers sent their target and nothing more wait for their next chunk
    without holding a turn of the process's bulk allowance (CONSENTD_BULK_CONCURRENCY, 4): with
    more of them than turns, another stream's chunk is still answered. (A reader took its turn
    before waiting for the chunk: four idle callers stalled every stream of the process.)"""
    await _people(stubs)
    idle = [campaign.StreamCheckConsent(metadata=stubs.metadata) for _ in range(6)]
    try:
        for call in idle:
            await call.write(_chunk(first=True))
        await asyncio.sleep(0.5)  # each one's reader now waits for a chunk
        async with asyncio.timeout(10):
            responses, error = await _stream(
                campaign, stubs, [_chunk(first=True), _chunk(*_emails("ana@example.fr"))]
            )
        assert error is None
        assert _verdicts([a for r in responses for a in r.answers]) == [
            (0, ALLOW, consent_pb2.REASON_GRANTED)
        ]
    finally:
        for call in idle:
            call.cancel()


async def test_a_tenant_holds_a_bounded_number_of_quiet_check_streams(
    stubs: Stubs, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe QB: one key held 4,800 streams that sent their target and went quiet, for good
    (20-36 KB each, never given back). Past MAX_CHECK_STREAMS_PER_TENANT (3 here) a stream is
    RESOURCE_EXHAUSTED saying so; one that sends nothing for STREAM_IDLE_SECONDS (0.5 s here)
    ends RESOURCE_EXHAUSTED too, saying why, which makes room."""
    monkeypatch.setattr(campaign_servicer, "MAX_CHECK_STREAMS_PER_TENANT", 3)
    monkeypatch.setattr(campaign_servicer, "STREAM_IDLE_SECONDS", 0.5)
    await _people(stubs)
    quiet = [campaign.StreamCheckConsent(metadata=stubs.metadata) for _ in range(3)]
    for call in quiet:
        await call.write(_chunk(first=True))
    await asyncio.sleep(0.2)  # each is open on the server, waiting for a chunk
    refused = campaign.StreamCheckConsent(metadata=stubs.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await asyncio.wait_for(refused.read(), 5)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "3 check streams open" in str(raised.value.details())
    for call in quiet:
        await asyncio.wait_for(call.read(), 5)  # the target's answer (its lawful basis)
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(call.read(), 5)
        assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "no message for 0.5 s" in str(ended.value.details())
    async with asyncio.timeout(10):
        responses, error = await _stream(
            campaign, stubs, [_chunk(first=True), _chunk(*_emails("ana@example.fr"))]
        )
    assert error is None
    assert len([a for r in responses for a in r.answers]) == 1


async def test_a_caller_waiting_for_a_slow_answer_is_not_idle(
    app: App, stubs: Stubs, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe RA: the idle clock ran while the server was still deciding the chunk the caller
    waited for before sending the next: a busy server cut its patient callers. It counts only
    while the stream has nothing left to answer (1 s to decide, idle bound 0.5 s here)."""
    monkeypatch.setattr(campaign_servicer, "STREAM_IDLE_SECONDS", 0.5)
    checker = app.campaign._checker
    decide = checker.decide_items

    async def slowly(*args: Any) -> Any:
        await asyncio.sleep(1.0)
        return await decide(*args)

    monkeypatch.setattr(checker, "decide_items", slowly)
    await _people(stubs)
    call = campaign.StreamCheckConsent(metadata=stubs.metadata)
    await call.write(_chunk(first=True))
    await asyncio.wait_for(call.read(), 5)  # the target's answer
    for email in ("ana@example.fr", "ana@example.fr"):
        await call.write(_chunk(*_emails(email)))
        answer = await asyncio.wait_for(call.read(), 5)  # waited for before the next
        assert len(answer.answers) == 1
    await call.done_writing()
    assert await call.code() == grpc.StatusCode.OK


async def test_stream_limits_end_it_with_a_clear_status(stubs: Stubs, campaign: Campaign) -> None:
    """A first message without a target, a later one naming a target or over 1,000 recipients
    end the stream with INVALID_ARGUMENT (after answering what came before); an unknown purpose
    ends it with NOT_FOUND; a message over 4 MiB with RESOURCE_EXHAUSTED."""
    await _people(stubs)
    ana = by_email("ana@example.fr")

    _, error = await _stream(campaign, stubs, [_chunk(ana)])
    assert error is not None
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "target: is required in the first message of the stream",
    )

    answered, error = await _stream(campaign, stubs, [_chunk(ana, first=True), _chunk(first=True)])
    assert [len(r.answers) for r in answered] == [1]
    assert error is not None
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "target: only the first message of the stream names the target",
    )
    later = _chunk(ana)
    later.as_of.GetCurrentTime()
    _, error = await _stream(campaign, stubs, [_chunk(ana, first=True), later])
    assert error is not None
    assert (error.code(), error.details()) == (  # it named `target` (a probe found it)
        grpc.StatusCode.INVALID_ARGUMENT,
        "as_of: only the first message of the stream names the moment",
    )

    too_many = _chunk(*_emails(*(f"p{i}@example.fr" for i in range(1001))))
    answered, error = await _stream(campaign, stubs, [_chunk(ana, first=True), too_many])
    assert len(answered) == 1
    assert error is not None
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000" in (error.details() or "")

    unknown = campaign_pb2.StreamCheckConsentRequest(target=target("unknown"))
    _, error = await _stream(campaign, stubs, [unknown])
    assert error is not None
    assert error.code() == grpc.StatusCode.NOT_FOUND

    huge = _chunk(types_pb2.SubjectRef(external_id="x" * (5 * 1024 * 1024)), first=True)
    _, error = await _stream(campaign, stubs, [huge])
    assert error is not None
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_stream_of_nothing_ends_quietly(stubs: Stubs, campaign: Campaign) -> None:
    """A client that closes its side without sending anything gets an empty, OK stream."""
    responses, error = await _stream(campaign, stubs, [])
    assert (responses, error) == ([], None)


async def test_stream_logs_one_line(stubs: Stubs, campaign: Campaign, tenant: Tenant) -> None:
    """A streaming call, like a unary one, writes one `rpc` line with its final status. (Only
    this tenant's lines: a stream an earlier test cancelled logs its line a little later.)"""
    await _people(stubs)
    with capture_logs() as entries:
        await _stream(campaign, stubs, [_chunk(by_email("ana@example.fr"), first=True)])
        await _stream(campaign, stubs, [_chunk(by_email("ana@example.fr"))])
    rpc = [e for e in entries if e.get("event") == "rpc" and e.get("tenant") == tenant.slug]
    assert [(e["method"], e["code"]) for e in rpc] == [
        ("/consent.v1.CampaignService/StreamCheckConsent", "OK"),
        ("/consent.v1.CampaignService/StreamCheckConsent", "INVALID_ARGUMENT"),
    ]


async def test_stream_cuts_a_client_that_leaves_answers_unread(app: App, stubs: Stubs) -> None:
    """A client that keeps sending but never reads fills the flow-control windows; the server
    stops reading and deciding after a bounded number of chunks and ends the stream with
    RESOURCE_EXHAUSTED, which the client gets after the answers already sent."""
    await _people(stubs)
    servicer = CampaignServicer(app.campaign, "FR", unread_seconds=0.5)
    interceptor = ServiceInterceptor(app.gate)
    server = Server([campaign_service(servicer)], [interceptor])
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        # Without BDP probing the client's receive window stays at its 64 KiB default.
        options = [("grpc.http2.bdp_probe", 0)]
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address, options=options) as channel:
            call = Campaign(channel).StreamCheckConsent(metadata=stubs.metadata)
            # Known subjects: each answer carries two ids, so answers outweigh requests.
            chunk = _chunk(*_emails(*["ana@example.fr"] * 1000))
            await call.write(_chunk(first=True))

            async def flood() -> None:
                with contextlib.suppress(asyncio.InvalidStateError, grpc.aio.AioRpcError):
                    for _ in range(500):
                        await call.write(chunk)

            writer = asyncio.create_task(flood())
            await asyncio.sleep(2)  # the server gives up after 0.5 s of unread answers
            # Its status waits behind the answers already sent: read them, then it comes.
            async with asyncio.timeout(60):
                read, ended = await _drain(call)
                await writer
            assert ended is not None
            assert ended.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "unread" in (ended.details() or "")
            assert read < 20  # a few chunks were decided, not the 500 sent
    finally:
        await server.stop(1)


async def test_a_client_leaving_mid_stream_leaves_no_unretrieved_write_failure(
    stubs: Stubs, grpc_port: int
) -> None:
    """A client that stops reading, then cancels the call, leaves the server blocked in a
    write; that write fails once the call ends, and its failure is retrieved: asyncio reports
    no "Task exception was never retrieved" (it did, with grpc's ExecuteBatchError)."""
    await _people(stubs)
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        # Without BDP probing the client's receive window stays at its 64 KiB default.
        options = [("grpc.http2.bdp_probe", 0)]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}", options=options) as opened:
            call = Campaign(opened).StreamCheckConsent(metadata=stubs.metadata)
            await call.write(_chunk(first=True))
            await _flood_until_blocked(call)  # the server now waits for the client to read
            call.cancel()
        # The report comes when the forgotten write is collected, after the call ended.
        for _ in range(30):
            gc.collect()
            await asyncio.sleep(0.1)
            if reported:
                break
    finally:
        loop.set_exception_handler(previous)
    assert [c.get("message") for c in reported] == []


async def _flood_until_blocked(call: Any) -> None:
    """Send chunks without reading answers until the flow-control windows are full (no write
    completes for half a second), then stop sending."""
    chunk = _chunk(*_emails(*["ana@example.fr"] * 1000))
    sent = 0

    async def flood() -> None:
        nonlocal sent
        with contextlib.suppress(asyncio.InvalidStateError, grpc.aio.AioRpcError):
            for _ in range(500):
                await call.write(chunk)
                sent += 1

    writer = asyncio.create_task(flood())
    seen = -1
    async with asyncio.timeout(30):
        while sent != seen:
            seen = sent
            await asyncio.sleep(0.5)
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await writer


async def test_a_check_after_an_acknowledged_withdrawal_sees_it(
    stubs: Stubs, campaign: Campaign
) -> None:
    """Under a crowd of concurrent checks (coalesced into shared queries), every check — unary,
    batch or stream — that starts after WithdrawConsent returned answers DENY withdrawn."""
    await put_purpose(stubs, "newsletter")
    ref = by_email("busy@example.fr")
    await record(stubs, types_pb2.SubjectIdentity(email="busy@example.fr"), grant(NEWSLETTER))
    stop = asyncio.Event()

    async def crowd() -> None:
        while not stop.is_set():
            await asyncio.gather(*(check(stubs, ref, NEWSLETTER) for _ in range(16)))

    crowds = [asyncio.create_task(crowd()) for _ in range(4)]
    try:
        await asyncio.sleep(0.05)
        await withdraw(stubs, ref, NEWSLETTER)
        after = await asyncio.gather(*(check(stubs, ref, NEWSLETTER) for _ in range(32)))
        batch = await campaign.BatchCheckConsent(
            campaign_pb2.BatchCheckConsentRequest(target=NEWSLETTER, recipients=[ref]),
            metadata=stubs.metadata,
        )
        streamed, _ = await _stream(campaign, stubs, [_chunk(ref, first=True)])
    finally:
        stop.set()
        await asyncio.gather(*crowds)
    reasons = {a.reason for a in after} | {batch.answers[0].reason}
    reasons |= {streamed[0].answers[0].reason}
    assert reasons == {consent_pb2.REASON_WITHDRAWN}


async def test_a_stream_message_with_an_unknown_field_is_refused(
    stubs: Stubs, channel: grpc.aio.Channel
) -> None:
    """The gate's unknown-field rule holds for every message of a request stream: a later
    message carrying a field the contract does not define ends the stream with
    INVALID_ARGUMENT, after the answers to the messages before it."""
    await _people(stubs)
    forged = _chunk(by_email("ana@example.fr")).SerializeToString() + b"\x98\x06\x01"  # field 99
    messages = [
        _chunk(by_email("ana@example.fr"), first=True).SerializeToString(),
        forged,
    ]
    call = channel.stream_stream(
        "/consent.v1.CampaignService/StreamCheckConsent",
        request_serializer=lambda raw: raw,
        response_deserializer=campaign_pb2.StreamCheckConsentResponse.FromString,
    )(iter(messages), metadata=stubs.metadata)
    read, ended = await _drain(call)
    assert read == 1
    assert ended is not None
    assert ended.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "99" in (ended.details() or "")
