"""Campaign-scale reads: many checks in one statement, the change feed, the suppression list.

Each is one prepared statement sent through the driver (see store/driver.py), run inside the
unit of work's transaction and tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consentd.app.ports import CheckBatch, CheckKey, CheckRow, FeedChange, SuppressedRow
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import (
    ConsentFact,
    LawfulBasis,
    Purpose,
    Target,
)
from consentd.store.consents import STATES, Row, _event, _target
from consentd.store.driver import Driver

# consentd_check() (migration 0003) sets the tenant for its transaction, then resolves subjects
# by digest or id, the purpose and its notice floor, and the latest applicable fact per key:
# one round trip for a whole batch, with no transaction of ours around it.
_CHECK = "SELECT * FROM consentd_check($1, $2, $3, $4, $5, $6, $7, $8)"
_APPLIES = "((t.purpose_id = $2 AND t.channel = $3 AND t.scope = $4) OR t.purpose_id = '*')"
_FACT_COLUMNS = (
    "t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state, t.notice_version, "
    "t.valid_until"
)

_FEED = """
SELECT c.position, e.*
FROM consent_changes c
JOIN consent_events e ON e.tenant_id = c.tenant_id AND e.event_id = c.event_id
WHERE c.tenant_id = $1 AND c.position > $2
ORDER BY c.position
LIMIT $3
"""
_HEAD = "SELECT last_position FROM consent_change_heads WHERE tenant_id = $1"

# The latest applicable fact per subject (in subject order after $5), kept when it is a
# refusal, withdrawal or erasure; $7 subjects at most, each with its contact points of kind $6
# (none when it has no such contact point).
_SUPPRESSED = f"""
WITH latest AS (
    SELECT DISTINCT ON (t.subject_id) t.subject_id, t.updated_at, {_FACT_COLUMNS}
    FROM current_consents t
    WHERE t.tenant_id = $1 AND t.subject_id > $5 AND {_APPLIES}
    ORDER BY t.subject_id, t.sequence DESC
), suppressed AS (
    SELECT * FROM latest WHERE state IN ('refused', 'withdrawn', 'erased')
    ORDER BY subject_id LIMIT $7
)
SELECT s.*, i.kind, i.digest
FROM suppressed s
LEFT JOIN subject_identifiers i ON i.tenant_id = $1 AND i.subject_id = s.subject_id AND i.kind = $6
ORDER BY s.subject_id, i.digest
"""
_FIRST_SUBJECT = UUID(int=0)


def _fact(m: Row) -> ConsentFact | None:
    if m["event_id"] is None:
        return None
    return ConsentFact(
        m["event_id"],
        m["sequence"],
        _target(m),
        STATES[m["state"]],
        m["notice_version"],
        m["valid_until"],
    )


def _key_columns(
    keys: Sequence[CheckKey],
) -> tuple[list[str | None], list[bytes | None], list[UUID | None]]:
    kinds: list[str | None] = []
    digests: list[bytes | None] = []
    ids: list[UUID | None] = []
    for key in keys:
        if isinstance(key, UUID):
            kinds.append(None)
            digests.append(None)
            ids.append(key)
        else:
            kinds.append(key[0].value)
            digests.append(key[1])
            ids.append(None)
    return kinds, digests, ids


class SqlCampaign:
    """`begin`, when given, is awaited before any statement but the check (which sets the
    tenant itself): the read unit of work opens its transaction only when a read needs it."""

    def __init__(
        self,
        raw: Driver,
        tenant_id: UUID,
        begin: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._raw = raw
        self._tenant = tenant_id
        self._begin = begin

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        if self._begin is not None:
            await self._begin()
        return await self._raw.fetch(query, *args)

    async def check(
        self, target: Target, keys: Sequence[CheckKey], as_of: datetime | None
    ) -> CheckBatch | None:
        args = [self._tenant, target.purpose, target.channel.value, target.scope.value]
        rows = await self._raw.fetch(_CHECK, *args, *_key_columns(keys), as_of)
        if not rows:
            return None
        first = rows[0]
        purpose = Purpose(
            target.purpose, LawfulBasis(first["lawful_basis"]), notice_id=first["notice_id"]
        )
        found = [CheckRow(m["subject_id"], _fact(m)) for m in rows if m["ord"] is not None]
        return CheckBatch(purpose, first["floor"], found)

    async def changes_after(self, position: int, limit: int) -> list[FeedChange]:
        rows = await self._fetch(_FEED, self._tenant, position, limit)
        return [FeedChange(m["position"], _event(m)) for m in rows]

    async def last_position(self) -> int:
        rows = await self._fetch(_HEAD, self._tenant)
        return int(rows[0]["last_position"]) if rows else 0

    async def suppressed(
        self, target: Target, kind: IdentifierKind, after: UUID | None, limit: int
    ) -> list[SuppressedRow]:
        args = [self._tenant, target.purpose, target.channel.value, target.scope.value]
        rows = await self._raw.fetch(_SUPPRESSED, *args, after or _FIRST_SUBJECT, kind.value, limit)
        return [
            SuppressedRow(m["subject_id"], _required(_fact(m)), m["updated_at"], m["digest"])
            for m in rows
        ]


def _required(fact: ConsentFact | None) -> ConsentFact:
    if fact is None:  # the statement only returns subjects with a fact
        raise RuntimeError("suppression row without a fact")
    return fact
