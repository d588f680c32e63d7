"""The tenant's catalogue: purposes and versioned notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.model import LawfulBasis, Notice, Purpose
from consentd.store.driver import Driver
from consentd.store.tables import notice_heads, notices, purposes

_P = purposes
_N = notices
_H = notice_heads


def purpose_of(m: Any) -> Purpose:
    """From a SQLAlchemy RowMapping or an asyncpg Record (both read by column name)."""
    return Purpose(
        purpose_id=m["purpose_id"],
        lawful_basis=LawfulBasis(m["lawful_basis"]),
        display_name=m["display_name"],
        description=m["description"],
        notice_id=m["notice_id"],
        max_validity_days=m["max_validity_days"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        requires_confirmation=m["requires_confirmation"],
    )


def _notice(m: sa.RowMapping) -> Notice:
    return Notice(
        notice_id=m["notice_id"],
        version=m["version"],
        title=m["title"],
        language=m["language"],
        content=m["content"],
        content_sha256=m["content_sha256"],
        requires_reconsent=m["requires_reconsent"],
        published_at=m["published_at"],
    )


# Read by every write: a plain statement through the driver, prepared once per connection.
_PURPOSES = "SELECT * FROM purposes WHERE tenant_id = $1 AND purpose_id = ANY($2::text[])"


class SqlCatalog:
    def __init__(self, conn: AsyncConnection, raw: Driver, tenant_id: UUID) -> None:
        self._conn = conn
        self._raw = raw
        self._tenant = tenant_id

    async def purposes(self, purpose_ids: Sequence[str]) -> dict[str, Purpose]:
        rows = await self._raw.fetch(_PURPOSES, self._tenant, list(purpose_ids))
        return {p.purpose_id: p for p in map(purpose_of, rows)}

    async def put_purpose(self, purpose: Purpose, now: datetime) -> tuple[Purpose, bool] | None:
        stmt = insert(_P).values(
            tenant_id=self._tenant,
            purpose_id=purpose.purpose_id,
            display_name=purpose.display_name,
            description=purpose.description,
            lawful_basis=purpose.lawful_basis.value,
            notice_id=purpose.notice_id,
            max_validity_days=purpose.max_validity_days,
            requires_confirmation=purpose.requires_confirmation,
            created_at=now,
            updated_at=now,
        )
        updated = (
            "display_name",
            "description",
            "notice_id",
            "max_validity_days",
            "requires_confirmation",
            "updated_at",
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "purpose_id"],
            set_={name: stmt.excluded[name] for name in updated},
            # The lawful basis is fixed at creation: a change would turn past DENYs into ALLOWs.
            where=_P.c.lawful_basis == stmt.excluded.lawful_basis,
        ).returning(*_P.c, sa.literal_column("(xmax = 0)").label("created"))
        row = (await self._conn.execute(upsert)).mappings().first()
        return (purpose_of(row), bool(row["created"])) if row else None

    async def list_purposes(self, after: str | None, limit: int) -> list[Purpose]:
        query = sa.select(_P).where(_P.c.tenant_id == self._tenant)
        if after is not None:
            query = query.where(_P.c.purpose_id > after)
        query = query.order_by(_P.c.purpose_id).limit(limit)
        return [purpose_of(m) for m in (await self._conn.execute(query)).mappings()]

    async def publish_notice(self, notice: Notice) -> Notice:
        # The head row is the lock that hands out versions one at a time.
        head = insert(_H).values(
            tenant_id=self._tenant,
            notice_id=notice.notice_id,
            latest_version=1,
            reconsent_floor=1 if notice.requires_reconsent else None,
        )
        next_version = _H.c.latest_version + 1
        bump = head.on_conflict_do_update(
            index_elements=["tenant_id", "notice_id"],
            set_={
                "latest_version": next_version,
                "reconsent_floor": next_version
                if notice.requires_reconsent
                else _H.c.reconsent_floor,
            },
        ).returning(_H.c.latest_version)
        version = (await self._conn.execute(bump)).scalar_one()
        row = await self._conn.execute(
            insert(_N)
            .values(
                tenant_id=self._tenant,
                notice_id=notice.notice_id,
                version=version,
                title=notice.title,
                language=notice.language,
                content=notice.content,
                content_sha256=notice.content_sha256,
                requires_reconsent=notice.requires_reconsent,
                published_at=notice.published_at,
            )
            .returning(*_N.c)
        )
        return _notice(row.mappings().one())

    async def notice_versions(self, notice_id: str) -> set[int]:
        query = sa.select(_N.c.version).where(
            _N.c.tenant_id == self._tenant, _N.c.notice_id == notice_id
        )
        return set((await self._conn.execute(query)).scalars())

    async def reconsent_floors(self, notice_ids: Sequence[str]) -> dict[str, int]:
        query = sa.select(_H.c.notice_id, _H.c.reconsent_floor).where(
            _H.c.tenant_id == self._tenant,
            _H.c.notice_id.in_(notice_ids),
            _H.c.reconsent_floor.is_not(None),
        )
        return {row.notice_id: row.reconsent_floor for row in await self._conn.execute(query)}

    async def list_notices(
        self, notice_id: str | None, after: tuple[str, int] | None, limit: int
    ) -> list[Notice]:
        query = sa.select(_N).where(_N.c.tenant_id == self._tenant)
        if notice_id is not None:
            query = query.where(_N.c.notice_id == notice_id)
        if after is not None:
            query = query.where(
                sa.or_(
                    _N.c.notice_id > after[0],
                    sa.and_(_N.c.notice_id == after[0], _N.c.version < after[1]),
                )
            )
        query = query.order_by(_N.c.notice_id, _N.c.version.desc()).limit(limit)
        return [_notice(m) for m in (await self._conn.execute(query)).mappings()]
