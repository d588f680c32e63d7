"""Webhooks in PostgreSQL (migration 0057), as the runtime role inside one tenant.

Each call is one transaction of its tenant, guarded (a purged tenant's is refused, CDP01). A
change an operator makes (add, remove, rewind) is audited in the same transaction. A serving
process delivers to a webhook while it holds its lease; its delivery columns change only under
that lease and the generation it read (a rewind meanwhile starts a new one: the stale
delivery's cursor is not written over it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consentd.domain.audit import AuditRecord
from consentd.domain.webhooks import Webhook, endpoint, origin
from consentd.store.admin import queue_now
from consentd.store.uow import enter_tenant

_ACTIVE = sa.text("SELECT tenant_id, webhook_id FROM consentd_webhooks()")
# A tenant's adds one at a time (for this transaction), and what they read.
_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended('consentd.webhooks.' || :tenant, 0))"
)
_LIVE_URLS = sa.text("SELECT url FROM webhooks WHERE tenant_id = :tenant AND removed_at IS NULL")
_ADD = sa.text(
    "INSERT INTO webhooks (tenant_id, webhook_id, url, salt, created_at, cursor, "
    "delivered_position, next_attempt_at) "
    "VALUES (:tenant, :webhook, :url, :salt, :now, :cursor, :position, :now)"
)
# What a Webhook holds.
_COLUMNS = (
    "tenant_id, webhook_id, url, salt, created_at, next_attempt_at, removed_at, "
    "generation, cursor, delivered_position, attempted_through, delivered_at, failures, "
    "last_error, previous_salt, previous_until, rotated_at"
)
_LIST = sa.text(
    f"SELECT {_COLUMNS} "  # noqa: S608 - only this module's constant, no input
    "FROM webhooks WHERE tenant_id = :tenant "
    "ORDER BY removed_at IS NOT NULL, created_at, webhook_id"
)
_REMOVE = sa.text(
    "UPDATE webhooks SET removed_at = :now, leased_by = NULL, leased_until = NULL "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND removed_at IS NULL"
)
_REWIND = sa.text(
    "UPDATE webhooks SET generation = generation + 1, cursor = :cursor, "
    "delivered_position = :position, attempted_through = 0, failures = 0, last_error = NULL, "
    "next_attempt_at = :now "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND removed_at IS NULL"
)
# A new salt; the one before signs too until :until (a rotation within another's overlap
# drops the oldest: two signatures at most).
_ROTATE = sa.text(
    "UPDATE webhooks SET previous_salt = salt, previous_until = :until, salt = :salt, "
    "rotated_at = :now "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND removed_at IS NULL"
)
# Taken when free or expired, renewed when less than a third of this holder's lease is left
# (else the row is only read: a delivery polling an idle feed every second writes nothing, and
# its transaction commits without a flush to disk); never a removed one's.
_CLAIM = sa.text(
    "WITH taken AS (UPDATE webhooks SET leased_by = :holder, leased_until = :until "  # noqa: S608
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND removed_at IS NULL "
    "AND (leased_until IS NULL OR leased_until <= :now "
    "OR (leased_by = :holder AND leased_until < :renew)) "
    f"RETURNING {_COLUMNS}) "
    "SELECT * FROM taken UNION ALL "
    f"SELECT {_COLUMNS} "
    "FROM webhooks WHERE tenant_id = :tenant AND webhook_id = :webhook AND removed_at IS NULL "
    "AND leased_by = :holder AND leased_until >= :renew AND leased_until > :now"
)
# Delivery columns change only under the lease and the generation read.
_DELIVERED = sa.text(
    "UPDATE webhooks SET cursor = :cursor, delivered_position = :position, "
    "delivered_at = :now, failures = 0, last_error = NULL, next_attempt_at = :now "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND leased_by = :holder "
    "AND generation = :generation AND removed_at IS NULL"
)
_FAILED = sa.text(
    "UPDATE webhooks SET failures = failures + 1, last_error = :error, next_attempt_at = :next "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND leased_by = :holder "
    "AND generation = :generation AND removed_at IS NULL"
)
_ATTEMPTING = sa.text(
    "UPDATE webhooks SET attempted_through = :through "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND leased_by = :holder "
    "AND generation = :generation AND removed_at IS NULL"
)
_RELEASE = sa.text(
    "UPDATE webhooks SET leased_by = NULL, leased_until = NULL "
    "WHERE tenant_id = :tenant AND webhook_id = :webhook AND leased_by = :holder"
)


def _webhook(m: Any) -> Webhook:
    fields: dict[str, Any] = dict(m)
    before = fields["previous_salt"]
    return Webhook(
        **{**fields, "salt": bytes(fields["salt"]), "previous_salt": before and bytes(before)}
    )


class SqlWebhooks:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def _tenant(self, tenant_id: UUID) -> AsyncIterator[AsyncConnection]:
        async with self._engine.connect() as conn:
            await enter_tenant(conn, tenant_id, guarded=True)
            yield conn
            await conn.commit()

    async def active(self) -> list[tuple[UUID, UUID]]:
        """Every webhook not removed, of every tenant."""
        async with self._engine.connect() as conn:
            return [(t, w) for t, w in (await conn.execute(_ACTIVE)).all()]

    async def add(self, webhook: Webhook, most: int) -> str:
        """ "added"; or, the tenant's webhooks read under its lock (adds at once each saw
        room and no twin; probe JB), "full" with `most` live, "twin" with one to its
        endpoint."""
        tenant = webhook.tenant_id
        async with self._tenant(tenant) as conn:
            await conn.execute(_LOCK, {"tenant": str(tenant)})
            live = (await conn.execute(_LIVE_URLS, {"tenant": tenant})).scalars().all()
            if any(endpoint(url) == endpoint(webhook.url) for url in live):
                return "twin"
            if len(live) >= most:
                return "full"
            await conn.execute(
                _ADD,
                {
                    "tenant": tenant,
                    "webhook": webhook.webhook_id,
                    "url": webhook.url,
                    "salt": webhook.salt,
                    "now": webhook.created_at,
                    "cursor": webhook.cursor,
                    "position": webhook.delivered_position,
                },
            )
            payload = {
                "webhook_id": str(webhook.webhook_id),
                "origin": origin(webhook.url),
                "from_start": not webhook.cursor,
            }
            added = AuditRecord("webhook.added", webhook.created_at, payload)
            await queue_now(conn, tenant, added)
        return "added"

    async def listed(self, tenant_id: UUID) -> list[Webhook]:
        """The tenant's webhooks, the removed ones last."""
        async with self._tenant(tenant_id) as conn:
            rows = (await conn.execute(_LIST, {"tenant": tenant_id})).mappings().all()
        return [_webhook(m) for m in rows]

    async def remove(self, tenant_id: UUID, webhook_id: UUID, now: datetime) -> bool:
        """False when there is no such webhook, or it was removed already."""
        return await self._change(_REMOVE, "webhook.removed", tenant_id, webhook_id, now, said={})

    async def rewind(
        self, tenant_id: UUID, webhook_id: UUID, start: tuple[int, str], now: datetime
    ) -> bool:
        """Deliver again after `start` (position and cursor; 0 and "" for the feed's start).
        False: no such live webhook."""
        position, cursor = start
        return await self._change(
            _REWIND, "webhook.rewound", tenant_id, webhook_id, now, said={"from_start": not cursor},
            cursor=cursor, position=position,
        )  # fmt: skip

    async def rotate(
        self, tenant_id: UUID, webhook_id: UUID, salt: bytes, until: datetime, now: datetime
    ) -> bool:
        """A new salt; the current one signs too until `until`. False: no such live webhook."""
        overlap = max((until - now).total_seconds(), 0)
        return await self._change(
            _ROTATE, "webhook.rotated", tenant_id, webhook_id, now,
            said={"overlap_seconds": int(overlap)}, salt=salt, until=until,
        )  # fmt: skip

    async def _change(
        self, statement: sa.TextClause, action: str, tenant_id: UUID, webhook_id: UUID,
        now: datetime, *, said: dict[str, object], **more: Any,
    ) -> bool:  # fmt: skip
        """`statement` on the webhook, audited as `action` with `said` when it changed it."""
        async with self._tenant(tenant_id) as conn:
            done = await conn.execute(
                statement, {"tenant": tenant_id, "webhook": webhook_id, "now": now, **more}
            )
            if not done.rowcount:
                return False
            payload = {"webhook_id": str(webhook_id), **said}
            await queue_now(conn, tenant_id, AuditRecord(action, now, payload))
        return True

    async def claim(
        self, tenant_id: UUID, webhook_id: UUID, holder: UUID, now: datetime, until: datetime
    ) -> Webhook | None:
        """The webhook, leased to `holder` until `until` (or still, when most of its lease is
        left); None while another holds it (or it is removed)."""
        async with self._tenant(tenant_id) as conn:
            found = await conn.execute(
                _CLAIM,
                {
                    "tenant": tenant_id,
                    "webhook": webhook_id,
                    "holder": holder,
                    "now": now,
                    "until": until,
                    "renew": until - (until - now) * 2 / 3,
                },
            )
            row = found.mappings().first()
        return _webhook(row) if row is not None else None

    async def delivered(
        self, webhook: Webhook, holder: UUID, cursor: str, position: int, now: datetime
    ) -> bool:
        """Acknowledged through `position`: the next delivery goes on after `cursor`."""
        return await self._held(
            _DELIVERED, webhook, holder, cursor=cursor, position=position, now=now
        )

    async def attempting(self, webhook: Webhook, holder: UUID, through: int) -> bool:
        """The page being sent ends at `through`: sent again as it is until taken."""
        return await self._held(_ATTEMPTING, webhook, holder, through=through)

    async def failed(self, webhook: Webhook, holder: UUID, error: str, retry: datetime) -> bool:
        return await self._held(_FAILED, webhook, holder, error=error[:300], next=retry)

    async def _held(
        self, statement: sa.TextClause, webhook: Webhook, holder: UUID, **values: Any
    ) -> bool:
        tenant = webhook.tenant_id
        async with self._tenant(tenant) as conn:
            done = await conn.execute(
                statement,
                {
                    "tenant": tenant,
                    "webhook": webhook.webhook_id,
                    "holder": holder,
                    "generation": webhook.generation,
                    **values,
                },
            )
        return bool(done.rowcount)

    async def release(self, tenant_id: UUID, webhook_id: UUID, holder: UUID) -> None:
        async with self._tenant(tenant_id) as conn:
            await conn.execute(
                _RELEASE, {"tenant": tenant_id, "webhook": webhook_id, "holder": holder}
            )
