"""Double opt-in confirmations: stored by token digest, claimed under a row lock."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.confirmations import Confirmation
from consentd.domain.model import Channel
from consentd.store.tables import consent_confirmations

_C = consent_confirmations


def _confirmation(m: sa.RowMapping) -> Confirmation:
    return Confirmation(
        confirmation_id=m["confirmation_id"],
        subject_id=m["subject_id"],
        channel=Channel(m["channel"]),
        language=m["language"],
        event_ids=tuple(m["event_ids"]),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        confirmed_at=m["confirmed_at"],
        grant_until=tuple(m["grant_until"] or ()),
        address_digest=m["address_digest"],
        address_proven=m["address_proven"],
    )


class SqlConfirmations:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def add(self, confirmation: Confirmation, token_sha256: bytes) -> None:
        await self._conn.execute(
            _C.insert().values(
                tenant_id=self._tenant,
                confirmation_id=confirmation.confirmation_id,
                subject_id=confirmation.subject_id,
                token_sha256=token_sha256,
                channel=confirmation.channel.value,
                language=confirmation.language,
                event_ids=list(confirmation.event_ids),
                created_at=confirmation.created_at,
                expires_at=confirmation.expires_at,
                grant_until=list(confirmation.grant_until),
                address_digest=confirmation.address_digest,
                address_proven=confirmation.address_proven,
            )
        )

    async def lock(self, token_sha256: bytes) -> Confirmation | None:
        """The confirmation with this token digest, locked until the transaction ends (two
        clicks on one link: the second waits, then sees it used)."""
        row = (
            (
                await self._conn.execute(
                    sa.select(_C)
                    .where(_C.c.tenant_id == self._tenant, _C.c.token_sha256 == token_sha256)
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _confirmation(row)

    async def confirmed(self, confirmation_id: UUID, at: datetime) -> None:
        await self._conn.execute(
            _C.update()
            .where(_C.c.tenant_id == self._tenant, _C.c.confirmation_id == confirmation_id)
            .values(confirmed_at=at)
        )

    async def of_subject(self, subject_id: UUID) -> list[Confirmation]:
        """The subject's confirmations, newest first (the preference centre's pending list)."""
        rows = await self._conn.execute(
            sa.select(_C)
            .where(_C.c.tenant_id == self._tenant, _C.c.subject_id == subject_id)
            .order_by(_C.c.created_at.desc())
        )
        return [_confirmation(m) for m in rows.mappings()]
