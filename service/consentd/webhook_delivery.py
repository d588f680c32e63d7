"""Pushing each tenant's change feed to its webhooks (docs/webhooks.md).

Every serving process runs one WebhookDelivery: it lists the live webhooks every
`list_seconds` and keeps one task per webhook. A task delivers only while it holds the
webhook's lease in the database (LEASE, renewed at every attempt), so with several processes
or replicas one of them delivers, in feed order, one page at a time: it POSTs the page, and
only once the receiver answered 2xx does the webhook's cursor move past it (at least once: a
receiver drops a page whose `webhook-id` it took already). A failure is retried after
5 s, 10 s, 20 s ... 5 min; nothing is skipped. A caught-up webhook hears of a change committed
in this process at once (the change hub) and of others' within `poll_seconds`.

Logs name the tenant, the webhook id and the receiver's status or the error's kind, never the
URL (its path or query may hold a token) nor anything of the changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import httpx
import orjson
import structlog
from google.protobuf import json_format
from prometheus_client import Counter

from consentd.api.campaign_converters import changes_out
from consentd.app.changes import ChangeHub
from consentd.app.feed import ChangeFeed, ChangePage, mark_of
from consentd.domain.errors import InvalidInput
from consentd.domain.webhooks import (
    Webhook,
    message_id,
    retry_after,
    signing_key,
)
from consentd.store.database import PURGED_STATE, sqlstate_of
from consentd.store.webhooks import SqlWebhooks
from consentd.telemetry.metrics import Metrics
from consentd.webhook_posts import (
    WRITE_SECONDS,
    headers_for,
    posting_client,
    retrieved,
    send,
    written,
)

log = structlog.get_logger("consentd")

LEASE = timedelta(seconds=30)
PAGE = 100
LIST_SECONDS = 10.0
POLL_SECONDS = 1.0
# After a database error, or while another process holds the lease.
AWAY_SECONDS = 5.0
# POSTs in flight at once, all tenants' (ten webhooks each at most). One waiting for its place
# is not timed meanwhile: 120 webhooks hanging 9 s on httpx's 100 connections made other
# tenants' pages wait inside their 10 s, and receivers answering in 9 s failed (probe XC).
POSTS_AT_ONCE = 256
_RELEASE_SECONDS = 0.5


class WebhookDelivery:
    def __init__(
        self,
        store: SqlWebhooks,
        feed: ChangeFeed,
        hub: ChangeHub,
        secret: bytes,
        clock: Callable[[], datetime],
        *,
        list_seconds: float = LIST_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        posts_at_once: int = POSTS_AT_ONCE,
    ) -> None:
        self._store = store
        self._feed = feed
        self._hub = hub
        self._secret = secret
        self._clock = clock
        self._list_seconds = list_seconds
        self._poll_seconds = poll_seconds
        self._posts_at_once = posts_at_once
        self._places = asyncio.Semaphore(posts_at_once)
        self._holder = uuid4()
        self._tasks: dict[tuple[UUID, UUID], asyncio.Task[None]] = {}
        self._posts: Counter | None = None
        # stop(): the tasks posting a page (left to end), and the flag the others end on.
        self._posting: set[tuple[UUID, UUID]] = set()
        self._stopping = asyncio.Event()

    async def run(self, metrics: Metrics | None = None) -> None:
        """Until cancelled, counting its posts in `metrics`. On cancel, each task ends and gives
        its lease back (0.5 s at most: an unreleased lease only delays the next process by
        LEASE)."""
        self._posts = metrics.webhook_posts if metrics is not None else None
        limits = httpx.Limits(max_connections=self._posts_at_once, max_keepalive_connections=32)
        client = posting_client(limits)
        try:
            while not self._stopping.is_set():
                await self._follow(client)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._list_seconds):
                        await self._stopping.wait()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        finally:
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self._tasks.clear()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_RELEASE_SECONDS):
                    await client.aclose()

    def stop(self) -> None:
        """Stop delivering: a webhook between pages at once; one whose page is being posted
        once the receiver answered (POST_SECONDS at most) and its cursor is written. run()
        then returns."""
        self._stopping.set()
        for key, task in self._tasks.items():
            if key not in self._posting:
                task.cancel()

    async def _follow(self, client: httpx.AsyncClient) -> None:
        """A task for each live webhook; none for a removed one."""
        try:
            live = set(await self._store.active())
        except Exception as error:  # noqa: BLE001 - the database is away: keep what runs
            log.warning("webhooks_not_listed", error=type(error).__name__)
            return
        for key in [k for k in self._tasks if k not in live or self._tasks[k].done()]:
            self._tasks.pop(key).cancel()  # removed (or ended: started again below)
        for key in live - self._tasks.keys():
            self._tasks[key] = asyncio.create_task(self._deliver_to(client, *key))

    async def _deliver_to(self, client: httpx.AsyncClient, tenant: UUID, webhook: UUID) -> None:
        try:
            while not self._stopping.is_set():
                ticket = self._hub.ticket(tenant)
                try:
                    wait, on_change = await self._attempt(client, tenant, webhook)
                except Exception as error:  # noqa: BLE001 - a defect of ours: said, tried again
                    log.error(
                        "webhook_delivery_error", tenant=str(tenant), webhook=str(webhook),
                        error=type(error).__name__,
                    )  # fmt: skip
                    wait, on_change = AWAY_SECONDS, False
                if wait and on_change:
                    await self._hub.wait(tenant, ticket, wait)
                    continue
                self._hub.release(tenant, ticket)
                await asyncio.sleep(wait)
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_RELEASE_SECONDS):
                    await self._store.release(tenant, webhook, self._holder)

    async def _attempt(
        self, client: httpx.AsyncClient, tenant: UUID, webhook_id: UUID
    ) -> tuple[float, bool]:
        """One step: (seconds to wait before the next, whether a change ends the wait)."""
        now = self._clock()
        try:
            webhook = await self._store.claim(tenant, webhook_id, self._holder, now, now + LEASE)
            if webhook is None:  # another process delivers (or it was just removed)
                return AWAY_SECONDS, False
            if webhook.next_attempt_at > now:  # looked at again meanwhile: a rewind is at once
                return min((webhook.next_attempt_at - now).total_seconds(), AWAY_SECONDS), False
            try:
                page = await self._feed.page(tenant, webhook.cursor, _page_size(webhook))
            except InvalidInput as refusal:  # its cursor is not in the feed (restored)
                await self._failed(webhook, f"the feed refused its cursor: {refusal.message}")
                return 0.0, False
        except Exception as error:  # noqa: BLE001 - the database is away: try again later
            purged = sqlstate_of(error) == PURGED_STATE
            if not purged:
                log.warning("webhook_not_read", tenant=str(tenant), error=type(error).__name__)
            return (LEASE.total_seconds() * 10 if purged else AWAY_SECONDS), False
        if not page.changes:
            return self._poll_seconds, True
        key = (tenant, webhook_id)
        async with self._places:  # (a stop meanwhile cancels it: not posting yet)
            self._posting.add(key)
            try:
                return await self._post(client, webhook, page)
            finally:
                self._posting.discard(key)

    async def _post(
        self, client: httpx.AsyncClient, webhook: Webhook, page: ChangePage
    ) -> tuple[float, bool]:
        first, last = page.changes[0].position, page.changes[-1].position
        if last != webhook.attempted_through and not await self._attempting(webhook, last):
            return AWAY_SECONDS, False
        mark = mark_of(page.changes[-1])
        mid = message_id(webhook.webhook_id, webhook.generation, first, last, mark)
        body = orjson.dumps(json_format.MessageToDict(changes_out(page, provenance=True)))
        started = time.monotonic()
        try:
            failed = await send(client, webhook.url, body, self._signed(webhook, mid, body))
        except asyncio.CancelledError:  # a stop's grace ran out before the receiver answered
            await self._cut(webhook)
            raise
        took = round((time.monotonic() - started) * 1000)
        if self._posts is not None:
            self._posts.labels("failed" if failed else "delivered").inc()
        if failed is not None:
            await self._failed(webhook, failed.error, failed.asked, ms=took)
            return 0.0, False
        log.info(
            "webhook_delivered", **_ids(webhook), changes=len(page.changes), last=last, ms=took
        )
        taken = self._store.delivered(webhook, self._holder, page.cursor, last, self._clock())
        await written(asyncio.ensure_future(taken))
        return 0.0, False

    async def ping(self, webhook: Webhook) -> str | None:
        """Post a signed page without changes (`webhook-id` `<webhook id>.test.<random>`), as
        `consentd webhooks test` does: None when the receiver answered 2xx, else what went
        wrong. Changes nothing of the webhook's delivery."""
        mid = f"{webhook.webhook_id}.test.{uuid4().hex[:12]}"
        body = b'{"changes":[]}'
        async with posting_client() as client:
            failed = await send(client, webhook.url, body, self._signed(webhook, mid, body))
        error = failed.error if failed is not None else None
        log.info("webhook_tested", **_ids(webhook), error=error)
        return error

    def _signed(self, webhook: Webhook, message: str, body: bytes) -> dict[str, str]:
        """The headers of a POST of `body`, signed now with the webhook's secret (and the one
        before a rotation, until its overlap ends)."""
        now = self._clock()
        keys = [
            signing_key(self._secret, webhook.tenant_id, webhook.webhook_id, salt)
            for salt in webhook.salts(now)
        ]
        return headers_for(keys, message, int(now.timestamp()), body)

    async def _cut(self, webhook: Webhook) -> None:
        """Said, and counted as a failure (the next start waits its retry), when a stop cut a
        POST: a receiver that never answers showed no failure, its page sent at every start
        (probe JE)."""
        if self._posts is not None:
            self._posts.labels("failed").inc()
        error = "no answer before the server stopped (its shutdown grace, less its last second)"
        retry = self._retry(webhook, "webhook_post_cut_at_stop", error, None)
        failed = asyncio.ensure_future(self._store.failed(webhook, self._holder, error, retry))
        failed.add_done_callback(retrieved)
        await asyncio.wait([failed], timeout=WRITE_SECONDS)  # the database may not answer

    async def _attempting(self, webhook: Webhook, last: int) -> bool:
        """Whether the page ending at `last` was noted as the one being sent (not: rewound or
        taken over meanwhile, or the database away; looked at again)."""
        try:
            return await self._store.attempting(webhook, self._holder, last)
        except Exception as error:  # noqa: BLE001 - the database is away: try again later
            log.warning(
                "webhook_not_read", tenant=str(webhook.tenant_id), error=type(error).__name__
            )
            return False

    async def _failed(
        self, webhook: Webhook, error: str, asked: timedelta | None = None, **more: object
    ) -> None:
        retry = self._retry(webhook, "webhook_failed", error, asked, **more)
        with contextlib.suppress(Exception):
            await self._store.failed(webhook, self._holder, error, retry)

    def _retry(
        self, webhook: Webhook, event: str, error: str, asked: timedelta | None, **more: object
    ) -> datetime:
        """When a webhook that just failed is tried again (its backoff, or later when the
        receiver `asked` so); the failure said as `event`."""
        failures = webhook.failures + 1
        wait = max(retry_after(failures), asked or timedelta(0))
        log.warning(
            event, **_ids(webhook), error=error, failures=failures,
            retry_seconds=wait.total_seconds(), **more,
        )  # fmt: skip
        return self._clock() + wait


def _page_size(webhook: Webhook) -> int:
    """A page being sent again is the same page (its id with it): up to the position it ended
    at, even when more changes came since."""
    pending = webhook.attempted_through - webhook.delivered_position
    return min(pending, PAGE) if pending > 0 else PAGE


def _ids(webhook: Webhook) -> dict[str, str]:
    """What a log line names a webhook by (never its URL)."""
    return {"tenant": str(webhook.tenant_id), "webhook": str(webhook.webhook_id)}
