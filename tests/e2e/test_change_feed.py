"""The change feed: every consent event once, in commit order, from a resumable cursor, with
live tailing; a client that reconnects with its last cursor misses nothing and sees nothing
twice."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import grpc
import pytest
from consent.v1 import campaign_pb2, campaign_pb2_grpc, consent_pb2, types_pb2
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs

from consentd.api import campaign_servicer
from consentd.app.admin import AdminUseCases
from consentd.domain.tenancy import Tenant
from tests.conftest import Stubs, bearer
from tests.e2e.helpers import (
    by_email,
    current,
    grant,
    put_purpose,
    record,
    refuse,
    target,
    withdraw,
)
from tests.integration.helpers import restore_feed_to

Campaign = campaign_pb2_grpc.CampaignServiceStub
Response = campaign_pb2.WatchConsentChangesResponse
NEWSLETTER = target("newsletter")


def _watch(
    campaign: Campaign, stubs: Stubs, cursor: str = "", max_changes: int = 0, from_now: bool = False
) -> grpc.aio.UnaryStreamCall[campaign_pb2.WatchConsentChangesRequest, Response]:
    request = campaign_pb2.WatchConsentChangesRequest(
        cursor=cursor, max_changes=max_changes, from_now=from_now
    )
    return campaign.WatchConsentChanges(request, metadata=stubs.metadata)


async def _collect(
    stream: AsyncIterator[Response], count: int, seconds: float = 10
) -> tuple[list[campaign_pb2.ConsentChange], str]:
    """Changes until `count` are read; the cursor of the last response."""
    changes: list[campaign_pb2.ConsentChange] = []
    cursor = ""

    async def read() -> None:
        nonlocal cursor
        async for response in stream:
            changes.extend(response.changes)
            cursor = response.cursor
            if len(changes) >= count:
                return

    await asyncio.wait_for(read(), seconds)
    return changes, cursor


async def _write_some(stubs: Stubs) -> list[str]:
    """Five events (one record of two choices, a refusal, two withdrawals); their ids in order."""
    await put_purpose(stubs, "newsletter")
    ids = []
    first = await record(
        stubs,
        types_pb2.SubjectIdentity(email="ana@example.fr"),
        grant(NEWSLETTER),
        grant(target("newsletter", types_pb2.CHANNEL_SMS)),
    )
    ids += [e.event_id for e in first.events]
    second = await record(
        stubs, types_pb2.SubjectIdentity(email="bob@example.fr"), refuse(NEWSLETTER)
    )
    ids += [e.event_id for e in second.events]
    third = await withdraw(stubs, by_email("ana@example.fr"), NEWSLETTER)
    ids += [e.event_id for e in third.events]
    fourth = await withdraw(stubs, by_email("cleo@example.fr"), NEWSLETTER)
    ids += [e.event_id for e in fourth.events]
    return ids


async def test_feed_replays_in_order_and_resumes_from_a_cursor(
    stubs: Stubs, campaign: Campaign
) -> None:
    """From the start, changes come with positions 1, 2, 3... in commit order; a new call with
    the cursor of the last response read gets the rest, and nothing twice."""
    written = await _write_some(stubs)
    call = _watch(campaign, stubs, max_changes=2)
    first = await anext(aiter(call))
    call.cancel()
    assert [c.position for c in first.changes] == [1, 2]

    resumed = _watch(campaign, stubs, cursor=first.cursor, max_changes=2)
    rest, _ = await _collect(resumed, 3)
    resumed.cancel()  # a feed never ends by itself

    changes = [*first.changes, *rest]
    assert [c.position for c in changes] == [1, 2, 3, 4, 5]
    assert [c.event.event_id for c in changes] == written
    assert changes[3].event.state == types_pb2.CONSENT_STATE_WITHDRAWN


async def test_feed_tails_changes_as_they_commit(stubs: Stubs, campaign: Campaign) -> None:
    """A watcher started `from_now` sees only what commits after it started, at once.

    The server starts the watch in its own time (key check, sequencer drain, head read), so
    the test keeps writing (grant, withdraw, grant...) until the watcher sees a change: that
    change is one of these writes, at the position it committed at, never the history before
    (a fixed sleep before one write lost the write behind the head on a loaded CI machine)."""
    await _write_some(stubs)
    bob = types_pb2.SubjectIdentity(email="bob@example.fr")
    call = _watch(campaign, stubs, from_now=True)
    reading = asyncio.create_task(_collect(call, 1))  # fails after 10 s without a change
    written: list[str] = []
    while not reading.done():
        if len(written) % 2:
            done = await record(stubs, bob, grant(NEWSLETTER))
        else:
            done = await withdraw(stubs, by_email("bob@example.fr"), NEWSLETTER)
        assert len(done.events) == 1
        written.append(done.events[0].event_id)
        await asyncio.wait({reading}, timeout=0.25)

    changes, cursor = await reading
    call.cancel()
    assert len(changes) >= 1
    first = changes[0]
    assert first.event.event_id in written, "a change from before the watch started"
    # Positions 1-5 are the history; each write since is one event, in commit order.
    assert first.position == 6 + written.index(first.event.event_id)
    assert cursor


async def test_a_watch_from_now_gets_its_cursor_at_once(stubs: Stubs, campaign: Campaign) -> None:
    """Probe DT: a `from_now` watch on an idle feed got no message (no cursor) for 15 s: a tool
    restarted before its first change had nothing to resume from, and `from_now` again skipped
    what committed between. The first message comes at once, empty, with the head's cursor."""
    await _write_some(stubs)
    call = _watch(campaign, stubs, from_now=True)
    first = await asyncio.wait_for(call.read(), 5)
    call.cancel()
    assert isinstance(first, campaign_pb2.WatchConsentChangesResponse)
    assert (list(first.changes), bool(first.cursor)) == ([], True)
    done = await withdraw(stubs, by_email("ana@example.fr"), NEWSLETTER)
    resumed = _watch(campaign, stubs, cursor=first.cursor)
    changes, _ = await _collect(resumed, 1)
    resumed.cancel()
    assert [(c.position, c.event.event_id) for c in changes] == [(6, done.events[0].event_id)]


async def test_feed_under_concurrent_writes_has_no_gap_and_no_repeat(
    stubs: Stubs, campaign: Campaign
) -> None:
    """While 60 writes on 3 subjects race, a watcher that disconnects and reconnects with its
    cursor every few messages sees positions 1..N exactly once each, every written event once,
    and, per subject and target, the last change it saw is the current state."""
    await put_purpose(stubs, "newsletter")
    people = [f"race{i}@example.fr" for i in range(3)]

    async def write(index: int) -> list[str]:
        email = people[index % 3]
        if index % 2:
            done = await withdraw(stubs, by_email(email), NEWSLETTER)
        else:
            done = await record(stubs, types_pb2.SubjectIdentity(email=email), grant(NEWSLETTER))
        return [e.event_id for e in done.events]

    async def watch(expected: int) -> list[campaign_pb2.ConsentChange]:
        seen: list[campaign_pb2.ConsentChange] = []
        cursor = ""
        while len(seen) < expected:
            call = _watch(campaign, stubs, cursor=cursor, max_changes=7)
            batch, cursor = await _collect(call, min(14, expected - len(seen)))
            call.cancel()
            seen += batch
        return seen

    watcher = asyncio.create_task(watch(60))
    written = await asyncio.gather(*(write(i) for i in range(60)))
    seen = await asyncio.wait_for(watcher, 30)

    assert [c.position for c in seen] == list(range(1, 61))
    assert sorted(c.event.event_id for c in seen) == sorted(i for ids in written for i in ids)
    for email in people:
        state = await current(stubs, by_email(email))
        last = [c for c in seen if c.event.subject_id == state.subject_id][-1]
        assert last.event.event_id == state.consents[0].event_id


def _token(cursor: object) -> str:
    raw = json.dumps({"k": "changes", "c": cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (campaign_pb2.WatchConsentChangesRequest(cursor="not-a-cursor"), "cursor"),
        (campaign_pb2.WatchConsentChangesRequest(cursor=_token("1")), "cursor"),
        (campaign_pb2.WatchConsentChangesRequest(cursor=_token(99)), "cursor"),
        # A forged `null` read the feed from its start (probe AH).
        (campaign_pb2.WatchConsentChangesRequest(cursor=_token(None)), "cursor"),
        (campaign_pb2.WatchConsentChangesRequest(cursor=_token(0), from_now=True), "from_now"),
        (campaign_pb2.WatchConsentChangesRequest(max_changes=1001), "max_changes"),
    ],
    ids=["garbage", "text-position", "ahead-of-feed", "null", "cursor-and-from-now", "too-many"],
)
async def test_feed_refuses_bad_cursors(
    stubs: Stubs, campaign: Campaign, request_: campaign_pb2.WatchConsentChangesRequest, field: str
) -> None:
    """A cursor that is not ours, or ahead of the feed, and contradictory options are refused."""
    call = campaign.WatchConsentChanges(request_, metadata=stubs.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await anext(aiter(call))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (failure.value.details() or "").startswith(field)


async def test_a_cursor_with_its_tag_cut_off_is_refused_as_altered(
    stubs: Stubs, campaign: Campaign
) -> None:
    """A cursor with a mark but no tag (its tenant tag cut off: cursors named their tenant
    before they held marks, so none was ever issued so) was taken as an older one, then
    refused naming a restore, sending an integrator chasing a backup (probe HC). It is refused
    as altered."""
    await _write_some(stubs)
    call = _watch(campaign, stubs)
    _, cursor = await _collect(call, 2)
    call.cancel()
    held = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert isinstance(held["c"], list), "a cursor holds a mark"
    untagged = _token(held["c"])
    refused = _watch(campaign, stubs, cursor=untagged)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await anext(aiter(refused))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = failure.value.details() or ""
    assert "was altered" in details
    assert "restored" not in details


async def test_a_cursor_of_a_feed_restored_from_an_earlier_backup_is_refused(
    stubs: Stubs, campaign: Campaign, tenant: Tenant, owner_url: str
) -> None:
    """Probe FG: a consumer at position 5, the database restored from a backup taken at 2, new
    writes at 3, 4, 5...: the consumer's cursor was taken and the changes up to 5 (withdrawals
    among them) were never sent to it; a watch open across the restore went on past them (FJ).
    A cursor knows the change at its position: it is refused once another change is there,
    naming the restore, as it is while the feed is behind it; an open watch ends so."""
    await _write_some(stubs)
    call = _watch(campaign, stubs)
    _, cursor = await _collect(call, 5)
    call.cancel()
    live = _watch(campaign, stubs, cursor=cursor)  # open across the restore (probe FJ)
    assert list((await anext(aiter(live))).changes) == []  # its first heartbeat
    engine = create_async_engine(owner_url)
    try:  # positions 3 to 5 gone, the head back at 2
        await restore_feed_to(engine, tenant.tenant_id, 2)
    finally:
        await engine.dispose()
    for writes in (0, 4):  # behind the cursor, then past it with other changes
        for n in range(writes):
            await withdraw(stubs, by_email(f"new{n}@example.fr"), NEWSLETTER)
        if writes:  # the open watch ends rather than sending the new 6 as the one after its 5
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await asyncio.wait_for(_collect(live, 1), 10)
            assert ended.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        resumed = _watch(campaign, stubs, cursor=cursor)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await anext(aiter(resumed))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "restored from an earlier backup" in (refused.value.details() or "")
    # A cursor taken before it (at 1) is still good: the feed holds the same change there.
    first = _watch(campaign, stubs, max_changes=1)
    early = (await anext(aiter(first))).cursor
    first.cancel()
    again = _watch(campaign, stubs, cursor=early)
    rest, _ = await _collect(again, 5)
    again.cancel()
    assert [c.position for c in rest] == [2, 3, 4, 5, 6]


async def test_a_check_key_gets_the_events_without_their_free_text(
    stubs: Stubs, channel: grpc.aio.Channel, admin: AdminUseCases, tenant: Tenant
) -> None:
    """Who recorded an event and its evidence reference are free text a person's name or IP
    may be in: the feed gives them to a caller that may read the history (ListConsentHistory),
    and leaves them empty for a consent:check key, which the history refuses (probe AO: a
    campaign tool's key read them for erased people too)."""
    await put_purpose(stubs, "newsletter")
    request = consent_pb2.RecordConsentRequest(
        subject=types_pb2.SubjectIdentity(email="provenance@example.fr"),
        choices=[grant(NEWSLETTER)],
        source=types_pb2.SOURCE_PORTAL,
        actor="agent Marie",
        evidence=types_pb2.Evidence(reference="form of Marie"),
    )
    await stubs.consent.RecordConsent(request, metadata=stubs.metadata)
    campaign = Campaign(channel)
    writer, _ = await admin.issue_key(tenant.slug, ["consent:write"], name="crm")
    checker, _ = await admin.issue_key(tenant.slug, ["consent:check"], name="campaigns")
    seen = {}
    for name, key in (("write", writer), ("check", checker)):
        call = campaign.WatchConsentChanges(
            campaign_pb2.WatchConsentChangesRequest(), metadata=bearer(key.token)
        )
        (change,), _ = await _collect(call, 1)
        call.cancel()
        seen[name] = (change.event.actor, change.event.evidence_reference, change.event.state)
    assert seen["write"] == ("agent Marie", "form of Marie", types_pb2.CONSENT_STATE_GRANTED)
    assert seen["check"] == ("", "", types_pb2.CONSENT_STATE_GRANTED)


async def test_a_feed_the_client_closes_is_cancelled_not_a_database_outage(
    stubs: Stubs, campaign: Campaign
) -> None:
    """Probe BQ: of 30 feeds a client closed after one message, 13 were logged (and counted)
    UNAVAILABLE: the driver's error for a statement cut short read as the database lost."""
    await _write_some(stubs)
    with capture_logs() as entries:
        for _ in range(30):
            call = _watch(campaign, stubs, max_changes=1)
            await _collect(call, 1)
            call.cancel()
        await asyncio.sleep(0.5)
    codes = [
        e.get("code")
        for e in entries
        if e.get("event") == "rpc" and str(e.get("method", "")).endswith("WatchConsentChanges")
    ]
    assert codes, entries
    assert "UNAVAILABLE" not in codes, codes


async def test_a_tenant_holds_a_bounded_number_of_feeds_open(
    stubs: Stubs, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probe GC: a consent:check key opened 1,500 feeds, each reading the database twice a
    second: another tenant's checks took 30 to 50 times as long. Past MAX_FEEDS_PER_TENANT
    (3 here) a feed is RESOURCE_EXHAUSTED saying so; one closed makes room."""
    monkeypatch.setattr(campaign_servicer, "MAX_FEEDS_PER_TENANT", 3)
    await _write_some(stubs)
    open_ = [_watch(campaign, stubs, from_now=True) for _ in range(3)]
    for call in open_:
        await asyncio.wait_for(call.read(), 5)
    refused = _watch(campaign, stubs, from_now=True)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await asyncio.wait_for(refused.read(), 5)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "3 change feeds open" in str(raised.value.details())
    open_.pop().cancel()
    await asyncio.sleep(0.3)  # the server sees the cancel
    again = _watch(campaign, stubs, from_now=True)
    assert isinstance(await asyncio.wait_for(again.read(), 5), Response)
    for call in [*open_, again]:
        call.cancel()
