"""Webhooks: the change feed pushed to a tenant's endpoint, a real HTTP receiver on loopback.

Every change reaches the receiver once taken, in feed order, signed as Standard Webhooks; a
page the receiver refused is sent again with the same `webhook-id` until taken; two delivering
processes never send one page twice; a removed webhook gets nothing more; a rewind delivers
again; `consentd webhooks` manages them; a serving process stopped while a receiver hangs
stops within its grace."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from consent.v1 import types_pb2
from structlog.testing import capture_logs

from consentd import webhook_delivery
from consentd.app.changes import ChangeHub
from consentd.bootstrap import App
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.tenancy import Tenant
from consentd.domain.webhooks import Webhook
from consentd.store.webhooks import SqlWebhooks
from consentd.webhook_delivery import WebhookDelivery
from tests.conftest import TEST_SECRET, Stubs, TestClock, command_env, owner
from tests.e2e.helpers import by_email, grant, put_purpose, record, target, withdraw
from tests.e2e.receiver import Receiver, receiver, verified
from tests.e2e.test_import_consents import _consentd
from tests.e2e.test_processes import _free_port, _serving

NEWSLETTER = target("newsletter")


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@asynccontextmanager
async def _delivering(
    app: App, clock: TestClock, count: int = 1, **options: Any
) -> AsyncIterator[list[tuple[WebhookDelivery, asyncio.Task[None]]]]:
    """`count` deliveries as `count` serving processes run them (a lease each), looking for
    webhooks every 0.2 s; every webhook of the database removed at the end (another file's
    serving processes would deliver to receivers long gone)."""
    store = SqlWebhooks(app.engine)
    made = [
        WebhookDelivery(
            store,
            app.campaign.feed(),
            ChangeHub(),
            TEST_SECRET,
            clock,
            list_seconds=0.2,
            poll_seconds=0.2,
            **options,
        )
        for _ in range(count)
    ]
    tasks = [asyncio.create_task(d.run(app.telemetry.metrics)) for d in made]
    try:
        yield list(zip(made, tasks, strict=True))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for tenant_id, webhook_id in await store.active():
            with contextlib.suppress(Exception):
                await store.remove(tenant_id, webhook_id, clock())


async def _write(stubs: Stubs, n: int) -> None:
    """`n` events: grants of n people, one call each."""
    for i in range(n):
        await record(stubs, types_pb2.SubjectIdentity(email=f"p{i}@example.fr"), grant(NEWSLETTER))


async def _first_failure(app: App, tenant: Tenant) -> Webhook:
    """The tenant's one webhook once it failed (10 s at most)."""
    for _ in range(100):
        [listed] = await app.webhooks.admin.listed(tenant)
        if listed.failures:
            return listed
        await asyncio.sleep(0.1)
    raise AssertionError("no failure within 10 s")


async def _waited(hook: Receiver, count: int, seconds: float = 20) -> list[int]:
    return await asyncio.to_thread(hook.wait_for, count, seconds)


async def test_changes_reach_the_receiver_signed_and_in_feed_order(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    await put_purpose(stubs, "newsletter")
    await _write(stubs, 1)  # before the webhook: not sent (it starts from now)
    webhook = await app.webhooks.admin.add(tenant, hook.url, from_start=False)
    secret = app.webhooks.admin.secret_of(webhook)
    async with _delivering(app, clock):
        await _write(stubs, 3)
        await withdraw(stubs, by_email("p0@example.fr"), NEWSLETTER)
        positions = await _waited(hook, 4)
    assert positions == [2, 3, 4, 5]
    taken = hook.taken()
    assert all(verified(secret, d) for d in taken)
    assert not verified("whsec_" + "A" * 44, taken[0])
    assert all(d.headers["webhook-id"].startswith(f"{webhook.webhook_id}.0.") for d in taken)
    assert all(abs(int(d.headers["webhook-timestamp"]) - time.time()) < 60 for d in taken)
    last = [c for d in taken for c in d.document["changes"]][-1]
    assert last["event"]["state"] == "CONSENT_STATE_WITHDRAWN"
    assert taken[-1].document["cursor"]
    [listed] = await app.webhooks.admin.listed(tenant)
    assert (listed.delivered_position, listed.failures, listed.last_error) == (5, 0, None)
    assert (await app.audit.verify(tenant)).ok  # its `webhook.added` entry among the facts'


async def test_a_refused_page_goes_again_as_it_was_until_taken(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    """The page refused is sent again whole and alone, under its id, though more changes came
    meanwhile (they follow in the next page): a receiver that took it but answered 500 drops it
    by its id (it grew, under another id, with each attempt; probe JA)."""
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    hook.answers = [500, 503]
    with capture_logs() as logs:
        async with _delivering(app, clock):
            await _write(stubs, 1)
            await _first_failure(app, tenant)
            await _write(stubs, 2)
            positions = await _waited(hook, 3, seconds=40)
    assert positions == [1, 2, 3]
    first = [d for d in hook.received if d.positions[:1] == [1]]
    assert [d.headers["x-answered"] for d in first] == ["500", "503", "2xx"]
    assert {d.headers["webhook-id"] for d in first} == {first[0].headers["webhook-id"]}
    assert {d.body for d in first} == {first[0].body}
    assert hook.taken()[-1].positions == [2, 3]
    registry = app.telemetry.metrics.registry
    failures = registry.get_sample_value("consentd_webhook_posts_total", {"outcome": "failed"})
    assert failures is not None
    assert failures >= 2
    failed = [e for e in logs if e["event"] == "webhook_failed"]
    assert [e["error"] for e in failed] == ["answered HTTP 500", "answered HTTP 503"]
    assert all("127.0.0.1" not in str(e) and "token" not in str(e) for e in logs)


async def test_a_pages_id_names_its_last_change(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    """A database restored from an earlier backup holds other changes at positions already
    sent (the webhook's cursor is restored with it): the id carries the last change's mark,
    so such a page is no page the receiver took (probe JA)."""
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    async with _delivering(app, clock):
        await _write(stubs, 1)
        await _waited(hook, 1)
    [taken] = hook.taken()
    event_id = taken.document["changes"][0]["event"]["eventId"]
    assert taken.headers["webhook-id"].endswith(f".1-1.{event_id.replace('-', '')[:12]}")


async def test_a_delivery_that_fails_in_consentd_is_said_and_tried_again(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, *, hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An error of consentd's own while delivering (here: signing) is logged and the webhook
    tried again; its task ended silently, and nothing was ever delivered again (probe JA)."""
    real, calls = webhook_delivery.signing_key, []

    def failing_once(*args: object) -> bytes:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("a defect")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(webhook_delivery, "signing_key", failing_once)
    monkeypatch.setattr(webhook_delivery, "AWAY_SECONDS", 0.2)
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    with capture_logs() as logs:
        async with _delivering(app, clock):
            await _write(stubs, 1)
            assert await _waited(hook, 1) == [1]
    assert [e["error"] for e in logs if e["event"] == "webhook_delivery_error"] == ["RuntimeError"]


async def test_a_receiver_that_does_not_answer_is_not_waited_for_past_the_timeout(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, *, hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr("consentd.webhook_posts.POST_SECONDS", 0.5)
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    hook.hang.set()
    async with _delivering(app, clock):
        await _write(stubs, 1)
        listed = await _first_failure(app, tenant)
        assert listed.last_error == "no answer within 0.5 s"
        hook.hang.clear()
        assert await _waited(hook, 1, seconds=30) == [1]


async def test_a_post_waiting_for_its_place_is_not_timed_while_it_waits(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, *, hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Probe XC: 120 webhooks hanging 9 s held httpx's 100 connections; the other tenants'
    pages waited for one inside their 10 s, and receivers answering in 9 s were failed. Two
    webhooks, one place, a receiver taking 1.2 s of a 2 s bound: each POST waits for the
    other's (timed, 2.4 s), and neither fails. (0.35 s of 0.5 s failed under the full suite's
    load: the receiver itself answered late.)"""
    monkeypatch.setattr("consentd.webhook_posts.POST_SECONDS", 2.0)
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    await app.webhooks.admin.add(tenant, f"{hook.url}&second=1", from_start=True)
    hook.delay = 1.2
    async with _delivering(app, clock, posts_at_once=1):
        for n in range(3):
            await _write(stubs, 1)
            await asyncio.to_thread(hook.wait_for_attempts, 2 * (n + 1), 20)
        listed = await app.webhooks.admin.listed(tenant)
        assert [w.failures for w in listed] == [0, 0], [w.last_error for w in listed]


async def test_a_receivers_retry_after_is_honoured(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, *, hook: Receiver
) -> None:
    """A 429 with Retry-After: 120 was tried again 5 s later, and 10 s, 20 s... (probe XC):
    the next attempt is when the receiver asked (an hour at most), or the backoff if later."""
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    hook.answers, hook.retry_after = [429], "120"
    async with _delivering(app, clock):
        await _write(stubs, 1)
        listed = await _first_failure(app, tenant)
    assert listed.last_error == "answered HTTP 429"
    assert listed.next_attempt_at - clock() >= timedelta(seconds=119)


async def test_two_processes_deliver_each_page_once_in_order(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    async with _delivering(app, clock, count=2):
        for _ in range(4):
            await _write(stubs, 5)
            await asyncio.sleep(0.1)
        positions = await _waited(hook, 20)
        await asyncio.sleep(1)  # a duplicate would come now
    assert hook.positions() == list(range(1, 21)) == positions


async def test_a_removed_webhook_gets_nothing_more_and_a_rewind_sends_again(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    await put_purpose(stubs, "newsletter")
    admin = app.webhooks.admin
    webhook = await admin.add(tenant, hook.url, from_start=True)
    async with _delivering(app, clock):
        await _write(stubs, 2)
        assert await _waited(hook, 2) == [1, 2]
        await admin.rewind(tenant, str(webhook.webhook_id), from_start=True)
        assert await _waited(hook, 4) == [1, 2, 1, 2]
        assert hook.taken()[-1].headers["webhook-id"].startswith(f"{webhook.webhook_id}.1.")
        await admin.rewind(tenant, str(webhook.webhook_id), from_start=False)
        await _write(stubs, 1)
        assert await _waited(hook, 5) == [1, 2, 1, 2, 3]
        await admin.remove(tenant, str(webhook.webhook_id))
        await _write(stubs, 1)
        await asyncio.sleep(1.5)
    assert hook.positions() == [1, 2, 1, 2, 3]
    with pytest.raises(NotFound):
        await admin.remove(tenant, str(webhook.webhook_id))
    with pytest.raises(NotFound):
        await admin.rewind(tenant, str(webhook.webhook_id), from_start=True)
    [removed] = await admin.listed(tenant)
    assert removed.removed_at is not None
    with pytest.raises(NotFound, match="removed"):
        await admin.find(tenant, str(webhook.webhook_id))  # its secret is not shown again


async def test_a_stop_right_after_a_2xx_still_moves_the_cursor(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, *, hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Probe JC: SIGTERM cancels the delivery first thing; a cancel between the receiver's 2xx
    and the cursor's write left the cursor behind, and the next start sent that page again."""
    real = SqlWebhooks.delivered

    async def slow(self: SqlWebhooks, *args: Any) -> bool:
        await asyncio.sleep(0.3)
        return await real(self, *args)

    monkeypatch.setattr(SqlWebhooks, "delivered", slow)
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    async with _delivering(app, clock):
        await _write(stubs, 1)
        await _waited(hook, 1)  # answered 2xx; the cursor's write is under way: stop now
    [listed] = await app.webhooks.admin.listed(tenant)
    assert listed.delivered_position == 1


async def test_a_stop_lets_the_page_being_posted_end(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    """Probe JD: a stop (SIGTERM's drain) cancelled a post waiting for a receiver that answers
    in 0.2 s; every rolling restart sent that page again. stop() lets it end, and run() ends
    by itself once it has."""
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    hook.delay = 0.5
    async with _delivering(app, clock) as [(delivery, task)]:
        await _write(stubs, 1)
        for _ in range(200):  # the POST is on its way
            if delivery._posting:  # the moment to stop at
                break
            await asyncio.sleep(0.01)
        delivery.stop()
        await asyncio.wait_for(task, 5)  # ended by itself, not cancelled
    assert hook.positions() == [1]
    [listed] = await app.webhooks.admin.listed(tenant)
    assert listed.delivered_position == 1


async def test_an_idle_webhook_is_polled_without_writing_its_row(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    """Its lease is renewed when a third of it is left, not at every poll (a write and a flush
    to disk per webhook and second)."""
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    query = sa.text("SELECT leased_until, xmin::text FROM webhooks WHERE tenant_id = :t")
    async with _delivering(app, clock):
        await _write(stubs, 1)
        await _waited(hook, 1)
        await asyncio.sleep(0.5)
        async with owner(app).connect() as conn:
            before = (await conn.execute(query, {"t": tenant.tenant_id})).one()
        await asyncio.sleep(2)  # ten polls
        async with owner(app).connect() as conn:
            after = (await conn.execute(query, {"t": tenant.tenant_id})).one()
    assert before[0] is not None
    assert before == after


async def test_a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends(
    app: App, clock: TestClock, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    """A rotation signs each delivery with the new secret and the one before (a receiver with
    either takes it) for the overlap; with none, at once with the new one alone. The webhook,
    its id and its place in the feed stay (rotating meant removing it and adding another)."""
    admin = app.webhooks.admin
    await put_purpose(stubs, "newsletter")
    webhook = await admin.add(tenant, hook.url, from_start=False)
    first = admin.secret_of(webhook)
    async with _delivering(app, clock):
        await _write(stubs, 1)
        await _waited(hook, 1)
        rotated = await admin.rotate(tenant, str(webhook.webhook_id), timedelta(hours=1))
        second = admin.secret_of(rotated)
        await _write(stubs, 1)
        await _waited(hook, 2)
        # A leaked secret: no overlap; this one also ends the overlap of the one before.
        third = admin.secret_of(await admin.rotate(tenant, str(webhook.webhook_id), timedelta(0)))
        await _write(stubs, 1)
        positions = await _waited(hook, 3)
    assert positions == [1, 2, 3]
    assert len({first, second, third}) == 3
    one, two, three = hook.taken()
    assert [verified(s, one) for s in (first, second, third)] == [True, False, False]
    assert [verified(s, two) for s in (first, second, third)] == [True, True, False]
    assert [verified(s, three) for s in (first, second, third)] == [False, False, True]
    assert len(two.headers["webhook-signature"].split(" ")) == 2
    assert rotated.previous_until is not None
    assert rotated.rotated_at is not None
    assert rotated.previous_until - rotated.rotated_at == timedelta(hours=1)
    assert rotated.webhook_id == webhook.webhook_id
    with pytest.raises(InvalidInput, match="0 to 720 hours"):
        await admin.rotate(tenant, str(webhook.webhook_id), timedelta(days=31))
    with pytest.raises(NotFound):  # removed (by _delivering's end)
        await admin.rotate(tenant, str(webhook.webhook_id))
    assert (await app.audit.verify(tenant)).ok  # its `webhook.rotated` entries among the facts'


async def test_add_refuses_what_it_cannot_deliver_to(app: App, tenant: Tenant) -> None:
    admin = app.webhooks.admin
    for url in (
        "http://crm.example.com/hook",
        "https://user:pw@crm.example.com/hook",
        "ftp://crm.example.com/",
        "https:///nohost",
        "https://crm.example.com/h#frag",
        "https://crm.example.com:99999/",
        "https://crm.exámple.com/",
        "",
    ):
        with pytest.raises(InvalidInput):
            await admin.add(tenant, url, from_start=False)
    await admin.add(tenant, "https://crm.example.com/hook", from_start=False)
    for same in ("https://crm.example.com/hook", "HTTPS://CRM.example.com:443/hook"):
        with pytest.raises(FailedPrecondition, match="already"):
            await admin.add(tenant, same, from_start=False)
    with pytest.raises(InvalidInput, match="UUID"):
        await admin.remove(tenant, "not-an-id")
    for n in range(9):
        await admin.add(tenant, f"https://crm.example.com/hook{n}", from_start=False)
    with pytest.raises(FailedPrecondition, match="remove one first"):
        await admin.add(tenant, "https://crm.example.com/more", from_start=False)
    for webhook in await admin.listed(tenant):
        await admin.remove(tenant, str(webhook.webhook_id))


async def test_adds_at_once_keep_one_per_url_and_ten_per_tenant(app: App, tenant: Tenant) -> None:
    """Probe JB: four adds of one URL at once made three webhooks (the same changes three times
    under three ids); eight adds at once went past the limit."""
    admin = app.webhooks.admin
    same = await asyncio.gather(
        *(admin.add(tenant, "https://race.example/hook", from_start=False) for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Webhook) for r in same) == 1
    assert all(isinstance(r, (Webhook, FailedPrecondition)) for r in same)
    many = await asyncio.gather(
        *(admin.add(tenant, f"https://race.example/{n}", from_start=False) for n in range(12)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Webhook) for r in many) == 9
    assert len([w for w in await admin.listed(tenant) if w.removed_at is None]) == 10
    for webhook in await admin.listed(tenant):
        await admin.remove(tenant, str(webhook.webhook_id))


async def test_the_command_adds_lists_and_shows_the_secret_again(
    database_url: str, owner_url: str, tenant: Tenant
) -> None:
    env = command_env(database_url, owner_url)
    added = await _consentd(env, "webhooks", "add", tenant.slug, "https://crm.example.com/h?t=1")
    assert added.returncode == 0, added.stderr
    webhook_id = added.stdout.split()[1]
    secret = added.stdout.split("secret ")[1].strip()
    assert secret.startswith("whsec_")
    again = await _consentd(env, "webhooks", "secret", tenant.slug, webhook_id)
    assert again.stdout.strip() == f"secret {secret}"
    rotated = await _consentd(env, "webhooks", "rotate", tenant.slug, webhook_id)
    assert rotated.returncode == 0, rotated.stderr
    new_secret = rotated.stdout.split("secret ")[1].strip()
    assert new_secret.startswith("whsec_")
    assert new_secret != secret
    assert "the secret before it signs too until" in rotated.stderr
    again = await _consentd(env, "webhooks", "secret", tenant.slug, webhook_id)
    assert again.stdout.strip() == f"secret {new_secret}"
    too_long = await _consentd(
        env, "webhooks", "rotate", tenant.slug, webhook_id, "--overlap-hours", "721"
    )
    assert (too_long.returncode, "0 to 720 hours" in too_long.stderr) == (2, True)
    listed = await _consentd(env, "webhooks", "list", tenant.slug)
    assert webhook_id in listed.stdout
    assert "whsec_" not in listed.stdout
    assert '"state": "ok"' in listed.stdout
    assert '"previous_secret_until": "' in listed.stdout
    bad = await _consentd(env, "webhooks", "add", tenant.slug, "http://crm.example.com/")
    assert bad.returncode != 0
    assert "https://" in bad.stderr
    gone = await _consentd(env, "webhooks", "remove", tenant.slug, webhook_id)
    assert gone.returncode == 0
    twice = await _consentd(env, "webhooks", "remove", tenant.slug, webhook_id)
    assert twice.returncode != 0
    assert "no webhook" in twice.stderr


async def test_the_test_command_posts_a_signed_empty_page(
    database_url: str, owner_url: str, tenant: Tenant, hook: Receiver
) -> None:
    """`webhooks test`: the receiver gets a page without changes, signed with the webhook's
    secret; exit 0 on 2xx, 1 with the status otherwise; the delivery is untouched. A proxy
    named by the environment is not used (probe VE: the page went to it, in clear)."""
    env = command_env(database_url, owner_url)
    added = await _consentd(env, "webhooks", "add", tenant.slug, hook.url)
    webhook_id, secret = added.stdout.split()[1], added.stdout.split("secret ")[1].strip()
    with receiver() as proxy:
        through = f"http://127.0.0.1:{proxy.port}"
        proxied = {k: v for k, v in env.items() if k.lower() != "no_proxy"}
        proxied.update(HTTP_PROXY=through, HTTPS_PROXY=through, ALL_PROXY=through)
        tested = await _consentd(proxied, "webhooks", "test", tenant.slug, webhook_id)
        assert proxy.received == []
    assert (tested.returncode, tested.stdout.strip()) == (0, f"webhook {webhook_id}: answered 2xx")
    [ping] = hook.received
    assert ping.document == {"changes": []}
    assert verified(secret, ping)
    assert ping.headers["webhook-id"].startswith(f"{webhook_id}.test.")
    hook.answers = [410]
    refused = await _consentd(env, "webhooks", "test", tenant.slug, webhook_id)
    assert (refused.returncode, refused.stdout.strip()) == (
        1,
        f"webhook {webhook_id}: answered HTTP 410",
    )
    listed = await _consentd(env, "webhooks", "list", tenant.slug)
    assert '"failures": 0' in listed.stdout
    await _consentd(env, "webhooks", "remove", tenant.slug, webhook_id)


async def test_serve_delivers_and_stops_within_its_grace_while_a_receiver_hangs(
    database_url: str, owner_url: str, app: App, *, tenant: Tenant, stubs: Stubs, hook: Receiver
) -> None:
    await put_purpose(stubs, "newsletter")
    await app.webhooks.admin.add(tenant, hook.url, from_start=True)
    port = _free_port()
    env = {
        **command_env(database_url, owner_url),
        "CONSENTD_GRPC_ADDRESS": f"127.0.0.1:{port}",
        "CONSENTD_HTTP_ADDRESS": "127.0.0.1:0",
        "CONSENTD_PURGE_INTERVAL_SECONDS": "0",
        "CONSENTD_SHUTDOWN_GRACE_SECONDS": "4",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "consentd", "serve", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await _serving(port, child)
        await _write(stubs, 1)
        assert await _waited(hook, 1, seconds=30) == [1]
        hook.hang.set()
        await _write(stubs, 1)
        await asyncio.to_thread(hook.wait_for_attempts, 2)
        assert hook.received[-1].headers["x-answered"] == "none"
        started = time.monotonic()
        child.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(child.wait(), 30) == 0
        assert time.monotonic() - started < 6
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        hook.hang.clear()
        for webhook in await app.webhooks.admin.listed(tenant):
            with contextlib.suppress(NotFound):
                await app.webhooks.admin.remove(tenant, str(webhook.webhook_id))
    assert child.stderr is not None
    log = (await child.stderr.read()).decode()
    assert "webhook_delivered" in log
    assert f"127.0.0.1:{hook.port}" not in log
    # Cut by the stop's grace: said, and counted (probe JE: it read "ok", sent at every start).
    assert "webhook_post_cut_at_stop" in log
    [cut] = await app.webhooks.admin.listed(tenant)
    assert (cut.failures, cut.last_error) == (
        1,
        "no answer before the server stopped (its shutdown grace, less its last second)",
    )
