"""Webhooks as an operator manages them (`consentd webhooks`): add, list, remove, rewind, and
show a webhook's signing secret. Delivery is webhook_delivery.py's."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4

from consentd.app.feed import ChangeFeed
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.tenancy import Tenant
from consentd.domain.uuids import uuid_in
from consentd.domain.webhooks import Webhook, checked_url, secret_text, signing_key

# Live webhooks per tenant: each is a serving task and a POST per page of changes.
MAX_WEBHOOKS = 10
# How long a rotated secret may still sign: the receiver's time to switch, no longer (a month
# is more than any deployment's; a leaked secret is rotated with none).
MAX_OVERLAP = timedelta(days=30)
DEFAULT_OVERLAP = timedelta(hours=24)


class WebhookStore(Protocol):
    async def add(self, webhook: Webhook, most: int) -> str: ...
    async def listed(self, tenant_id: UUID) -> list[Webhook]: ...
    async def remove(self, tenant_id: UUID, webhook_id: UUID, now: datetime) -> bool: ...
    async def rewind(
        self, tenant_id: UUID, webhook_id: UUID, start: tuple[int, str], now: datetime
    ) -> bool: ...
    async def rotate(
        self, tenant_id: UUID, webhook_id: UUID, salt: bytes, until: datetime, now: datetime
    ) -> bool: ...


class WebhookAdmin:
    def __init__(
        self,
        store: WebhookStore,
        feed: ChangeFeed,
        secret: bytes,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._feed = feed
        self._secret = secret
        self._clock = clock

    def secret_of(self, webhook: Webhook) -> str:
        """`whsec_<base64>`: what the receiver checks signatures with."""
        key = signing_key(self._secret, webhook.tenant_id, webhook.webhook_id, webhook.salt)
        return secret_text(key)

    async def add(self, tenant: Tenant, url: str, *, from_start: bool) -> Webhook:
        """A webhook that gets every change committed from now on (`from_start`: the whole
        feed first). Raises InvalidInput (the URL), FailedPrecondition (purged tenant, too many
        webhooks)."""
        checked_url(url)
        _live(tenant)
        position, cursor = await self._start(tenant, from_start)
        now = self._clock()
        webhook = Webhook(
            tenant.tenant_id, uuid4(), url, os.urandom(32), now, now,
            cursor=cursor, delivered_position=position,
        )  # fmt: skip
        added = await self._store.add(webhook, MAX_WEBHOOKS)
        if added == "twin":
            # Compared as the client sends them: HTTP:// or :443 written out is the same one.
            raise FailedPrecondition(f"tenant {tenant.slug!r} has a webhook to this URL already")
        if added == "full":
            raise FailedPrecondition(
                f"tenant {tenant.slug!r} has {MAX_WEBHOOKS} webhooks: remove one first"
            )
        return webhook

    async def listed(self, tenant: Tenant) -> list[Webhook]:
        _live(tenant)
        return await self._store.listed(tenant.tenant_id)

    async def find(self, tenant: Tenant, webhook_id: str) -> Webhook:
        """A webhook not removed. Raises InvalidInput (not an id), NotFound."""
        wanted = _id(webhook_id)
        for webhook in await self.listed(tenant):
            if webhook.webhook_id == wanted and webhook.removed_at is None:
                return webhook
        raise NotFound(f"no webhook {webhook_id} of tenant {tenant.slug!r} (removed?)")

    async def remove(self, tenant: Tenant, webhook_id: str) -> None:
        """Stops its deliveries within seconds. Raises NotFound (none, or removed already)."""
        _live(tenant)
        if not await self._store.remove(tenant.tenant_id, _id(webhook_id), self._clock()):
            raise NotFound(f"no webhook {webhook_id} of tenant {tenant.slug!r} to remove")

    async def rewind(self, tenant: Tenant, webhook_id: str, *, from_start: bool) -> None:
        """Deliver again from the feed's start, or from its last change (skipping what was
        not delivered): after a restore from backup, or to re-sync a receiver. Its failures
        are forgotten and it is tried at once. Raises NotFound."""
        _live(tenant)
        start = await self._start(tenant, from_start)
        if not await self._store.rewind(tenant.tenant_id, _id(webhook_id), start, self._clock()):
            raise NotFound(f"no webhook {webhook_id} of tenant {tenant.slug!r} (removed?)")

    async def rotate(
        self, tenant: Tenant, webhook_id: str, overlap: timedelta = DEFAULT_OVERLAP
    ) -> Webhook:
        """A new signing secret, used from the next POST on; deliveries are signed with the
        one before too for `overlap` (0: at once no longer, for a secret that leaked). A
        rotation within another's overlap ends that one: two secrets sign at most. Raises
        InvalidInput (the overlap), NotFound."""
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidInput("overlap", f"must be 0 to {MAX_OVERLAP.days * 24} hours")
        _live(tenant)
        now = self._clock()
        wanted = _id(webhook_id)
        if not await self._store.rotate(
            tenant.tenant_id, wanted, os.urandom(32), now + overlap, now
        ):
            raise NotFound(f"no webhook {webhook_id} of tenant {tenant.slug!r} (removed?)")
        return await self.find(tenant, webhook_id)

    async def _start(self, tenant: Tenant, from_start: bool) -> tuple[int, str]:
        """Where delivery starts: the feed's start, or its last change (position, cursor)."""
        return (0, "") if from_start else await self._feed.head(tenant.tenant_id)


def _live(tenant: Tenant) -> None:
    if tenant.purged:
        raise FailedPrecondition(f"tenant {tenant.slug!r} was purged: it has no feed to push")


def _id(text: str) -> UUID:
    try:
        return uuid_in(text)
    except ValueError:
        raise InvalidInput("webhook_id", "must be a webhook id (a UUID)") from None
