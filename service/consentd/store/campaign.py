"""Campaign-scale reads: many checks in one statement, the change feed, the suppression list.

Each is one prepared statement sent through the driver (see store/driver.py), run inside the
unit of work's transaction and tenant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consentd.app.ports import (
    CheckBatch,
    CheckKey,
    CheckRow,
    FeedChange,
    SuppressedRow,
    SuppressionEntry,
)
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import (
    ConsentFact,
    LawfulBasis,
    Purpose,
    Target,
)
from consentd.domain.rights import Block, BlockKind
from consentd.store.consents import STATES, Row, _event, _target
from consentd.store.driver import Driver

# consentd_check() (migrations 0006, 0008) sets the tenant for its transaction, then resolves
# subjects by digest or id, the purpose and its notice floor, and the latest applicable fact per
# key: one round trip for a whole batch, with no transaction of ours around it.
_CHECK = "SELECT * FROM consentd_check($1, $2, $3, $4, $5, $6, $7, $8, $9)"
_APPLIES = "((t.purpose_id = $2 AND t.channel = $3 AND t.scope = $4) OR t.purpose_id = '*')"
_FACT_COLUMNS = (
    "t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state, t.notice_version, "
    "t.valid_until, t.updated_at AS recorded_at"
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

# Candidates in subject order after $5: subjects whose latest applicable fact is a refusal,
# withdrawal or erasure, or who have a restriction or objection in force at $8 — $7 subjects at
# most; each with its latest applicable fact, its blocks (as consentd_check() returns them) and
# its contact points of kind $6 (none when it has no such contact point). decide() then says.
_SUPPRESSED = f"""
WITH latest AS (
    SELECT DISTINCT ON (t.subject_id) t.subject_id, t.state
    FROM current_consents t
    WHERE t.tenant_id = $1 AND t.subject_id > $5 AND {_APPLIES}
    ORDER BY t.subject_id, t.sequence DESC
), candidates AS (
    SELECT subject_id FROM latest WHERE state IN ('refused', 'withdrawn', 'erased')
    UNION
    SELECT b.subject_id FROM subject_blocks b
    WHERE b.tenant_id = $1 AND b.subject_id > $5 AND b.since <= $8
      AND (b.lifted_at IS NULL OR b.lifted_at > $8)
    ORDER BY subject_id LIMIT $7
)
SELECT c.subject_id, f.*, bl.block_kinds, bl.block_since, i.digest
FROM candidates c
LEFT JOIN LATERAL (
    SELECT {_FACT_COLUMNS}, t.updated_at
    FROM current_consents t
    WHERE t.tenant_id = $1 AND t.subject_id = c.subject_id AND {_APPLIES}
    ORDER BY t.sequence DESC LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT array_agg(bk.kind) AS block_kinds, array_agg(bk.since) AS block_since FROM (
        SELECT b.kind, b.since FROM subject_blocks b
        WHERE b.tenant_id = $1 AND b.subject_id = c.subject_id AND b.since <= $8
          AND (b.lifted_at IS NULL OR b.lifted_at > $8)
        UNION ALL
        SELECT 'erased', s.erased_at FROM subjects s
        WHERE s.tenant_id = $1 AND s.subject_id = c.subject_id AND s.erased_at IS NOT NULL
    ) bk
) bl ON true
LEFT JOIN subject_identifiers i ON i.tenant_id = $1 AND i.subject_id = c.subject_id AND i.kind = $6
ORDER BY c.subject_id, i.digest
"""
# The suppression entries of one kind (an erased person's contact points), in digest order.
_ENTRIES = """
SELECT digest, reason, created_at FROM suppressions
WHERE tenant_id = $1 AND kind = $2 AND digest > $3
ORDER BY digest LIMIT $4
"""
_FIRST_SUBJECT = UUID(int=0)
BLOCK_KINDS = {kind.value: kind for kind in BlockKind}


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
        m["recorded_at"],
    )


def _blocks(m: Row) -> list[Block]:
    kinds = m["block_kinds"]
    if not kinds:
        return []
    return [Block(BLOCK_KINDS[k], since) for k, since in zip(kinds, m["block_since"], strict=True)]


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
        self, target: Target, keys: Sequence[CheckKey], as_of: datetime | None, at: datetime
    ) -> CheckBatch | None:
        args = [self._tenant, target.purpose, target.channel.value, target.scope.value]
        rows = await self._raw.fetch(_CHECK, *args, *_key_columns(keys), as_of, at)
        if not rows:
            return None
        first = rows[0]
        purpose = Purpose(
            target.purpose, LawfulBasis(first["lawful_basis"]), notice_id=first["notice_id"]
        )
        found = [
            CheckRow(m["subject_id"], _fact(m), _blocks(m)) for m in rows if m["ord"] is not None
        ]
        return CheckBatch(purpose, first["floor"], found)

    async def changes_after(self, position: int, limit: int) -> list[FeedChange]:
        rows = await self._fetch(_FEED, self._tenant, position, limit)
        return [FeedChange(m["position"], _event(m)) for m in rows]

    async def last_position(self) -> int:
        rows = await self._fetch(_HEAD, self._tenant)
        return int(rows[0]["last_position"]) if rows else 0

    async def suppressed(
        self, target: Target, kind: IdentifierKind, after: UUID | None, limit: int, at: datetime
    ) -> list[SuppressedRow]:
        args = [self._tenant, target.purpose, target.channel.value, target.scope.value]
        first = after or _FIRST_SUBJECT
        rows = await self._fetch(_SUPPRESSED, *args, first, kind.value, limit, at)
        return [
            SuppressedRow(m["subject_id"], _fact(m), m["updated_at"], m["digest"], _blocks(m))
            for m in rows
        ]

    async def suppression_entries(
        self, kind: IdentifierKind, after: bytes | None, limit: int
    ) -> list[SuppressionEntry]:
        rows = await self._fetch(_ENTRIES, self._tenant, kind.value, after or b"", limit)
        return [
            SuppressionEntry(m["digest"], BLOCK_KINDS[m["reason"]], m["created_at"]) for m in rows
        ]
