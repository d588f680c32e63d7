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
    BlockChange,
    CheckBatch,
    CheckKey,
    CheckRow,
    ConsentTally,
    FeedChange,
    feed_mark,
)
from consentd.domain.contact_points import PriorHolding
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import (
    ConsentFact,
    LawfulBasis,
    Purpose,
    Target,
)
from consentd.domain.rights import Block, BlockKind
from consentd.store.consents import STATES, Row, event_of, target_of, until_of
from consentd.store.driver import Driver

# consentd_check() (migrations 0006, 0008) sets the tenant for its transaction, then resolves
# subjects by digest or id, the purpose and its notice floor, and the latest applicable fact per
# key: one round trip for a whole batch, with no transaction of ours around it.
_CHECK = "SELECT * FROM consentd_check($1, $2, $3, $4, $5, $6, $7, $8, $9)"
# A fact of the target, or an "everything" one of every channel or of the target's (0036).
_APPLIES = (
    "((t.purpose_id = $2 AND t.channel = $3 AND t.scope = $4)"
    " OR (t.purpose_id = '*' AND t.channel IN ('*', $3)))"
)

# A position holds an event or a block's start or lift (migration 0028).
_FEED = """
SELECT c.position, c.block_id AS feed_block_id, c.block_lifted AS feed_block_lifted,
    b.subject_id AS feed_block_subject, b.kind AS feed_block_kind,
    CASE WHEN c.block_lifted THEN b.lifted_at ELSE b.since END AS feed_block_at,
    x.feed_external, x.feed_key, e.*
FROM consent_changes c
LEFT JOIN consent_events e ON e.tenant_id = c.tenant_id AND e.event_id = c.event_id
LEFT JOIN subject_blocks b ON b.tenant_id = c.tenant_id AND b.block_id = c.block_id
-- The subject's external id (its first), sealed, with its wrapped key: none once erased.
LEFT JOIN LATERAL (
    SELECT i.sealed_value AS feed_external, k.wrapped_key AS feed_key
    FROM subject_identifiers i
    JOIN subject_keys k ON k.tenant_id = i.tenant_id AND k.subject_id = i.subject_id
    WHERE i.tenant_id = c.tenant_id AND i.subject_id = coalesce(e.subject_id, b.subject_id)
      AND i.kind = 'external_id' AND i.sealed_value IS NOT NULL
    ORDER BY i.created_at LIMIT 1
) x ON true
WHERE c.tenant_id = $1 AND c.position > $2
ORDER BY c.position
LIMIT $3
"""
_HEAD = "SELECT last_position FROM consent_change_heads WHERE tenant_id = $1"
# People per target and state ($2: one purpose, or NULL for all); a grant past its validity at
# $3 is expired, as checks answer it.
_TALLIES = (
    "SELECT purpose_id, channel, scope, CASE WHEN state = 'granted' AND valid_until <= $3 "
    "THEN 'expired' ELSE state END AS tallied, count(*) AS subjects FROM current_consents "
    "WHERE tenant_id = $1 AND ($2::text IS NULL OR purpose_id = $2) "
    "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
)
_AT = (
    "SELECT event_id, block_id, block_lifted FROM consent_changes "
    "WHERE tenant_id = $1 AND position = $2"
)

# Candidates in subject order after $5, $7 subjects at most: those a check may answer with a
# suppressing DENY (domain/contact_points.py): their latest applicable fact is a refusal,
# withdrawal or erasure (or an ask, pending or lapsed, after one), a restriction or objection
# on record is not lifted by $8 (one stamped ahead of $8 by a clock stepped back too), an
# identifier of theirs is suppressed (that blocks the subject), or a contact point of theirs of
# kind $6 had another holder. Each with its contact points of kind $6 (a NULL digest when it
# has none).
_CANDIDATES = f"""
WITH latest AS (
    SELECT DISTINCT ON (t.subject_id) t.subject_id, t.state
    FROM current_consents t
    WHERE t.tenant_id = $1 AND t.subject_id > $5 AND {_APPLIES}
    ORDER BY t.subject_id, t.sequence DESC
), candidates AS (
    -- A pending ask too: the refusal or withdrawal before it still decides (migration 0047).
    SELECT subject_id FROM latest WHERE state IN ('refused', 'withdrawn', 'erased', 'pending')
    UNION
    SELECT b.subject_id FROM subject_blocks b
    WHERE b.tenant_id = $1 AND b.subject_id > $5 AND (b.lifted_at IS NULL OR b.lifted_at > $8)
    UNION
    SELECT i.subject_id FROM subject_identifiers i
    JOIN suppressions sp ON sp.tenant_id = i.tenant_id AND sp.kind = i.kind
        AND sp.digest = i.digest
    WHERE i.tenant_id = $1 AND i.subject_id > $5
    UNION
    SELECT i.subject_id FROM contact_point_holdings h
    JOIN subject_identifiers i ON i.tenant_id = h.tenant_id AND i.kind = h.kind
        AND i.digest = h.digest
    WHERE h.tenant_id = $1 AND h.kind = $6 AND h.held_until IS NOT NULL
      AND i.subject_id > $5 AND i.subject_id <> h.subject_id
    ORDER BY subject_id LIMIT $7
)
SELECT c.subject_id, i.digest
FROM candidates c
LEFT JOIN subject_identifiers i ON i.tenant_id = $1 AND i.subject_id = c.subject_id AND i.kind = $6
ORDER BY c.subject_id, i.digest
"""
# Contact points of kind $2 after digest $3 that nobody holds now but someone held (or that an
# erasure before revision 0012 left suppressed), in digest order.
_UNHELD = """
SELECT d.digest FROM (
    SELECT h.digest FROM contact_point_holdings h
    WHERE h.tenant_id = $1 AND h.kind = $2 AND h.digest > $3 AND h.held_until IS NOT NULL
    UNION
    SELECT sp.digest FROM suppressions sp
    WHERE sp.tenant_id = $1 AND sp.kind = $2 AND sp.digest > $3
) d
WHERE NOT EXISTS (
    SELECT 1 FROM subject_identifiers i
    WHERE i.tenant_id = $1 AND i.kind = $2 AND i.digest = d.digest)
ORDER BY d.digest LIMIT $4
"""
_FIRST_SUBJECT = UUID(int=0)
BLOCK_KINDS = {kind.value: kind for kind in BlockKind}


def _fact(m: Row) -> ConsentFact | None:
    if m["event_id"] is None:
        return None
    return ConsentFact(
        m["event_id"],
        m["sequence"],
        target_of(m),
        STATES[m["state"]],
        m["notice_version"],
        until_of(m),
        m["recorded_at"],
    )


def _blocks(m: Row) -> list[Block]:
    kinds = m["block_kinds"]
    if not kinds:
        return []
    return [Block(BLOCK_KINDS[k], since) for k, since in zip(kinds, m["block_since"], strict=True)]


def _priors(m: Row, target: Target) -> list[PriorHolding]:
    """The earlier holders of the contact points a check asks about, as consentd_check()
    (0012, 0039, 0040) returns them."""
    ended = m["prior_ended"]
    if not ended:
        return []
    priors = []
    stopped = m["prior_stopped"] or [False] * len(ended)
    held_from = m["prior_held_from"] or [None] * len(ended)
    for index, until in enumerate(ended):
        event_id = m["prior_event_ids"][index]
        fact = None
        if event_id is not None:
            fact = ConsentFact(
                event_id,
                m["prior_sequences"][index],
                target,
                STATES[m["prior_states"][index]],
                None,
                None,
                m["prior_recorded"][index],
            )
        objected, erased = m["prior_objected"][index], m["prior_erased"][index]
        priors.append(
            PriorHolding(
                until,
                fact,
                objected,
                erased,
                stopped=bool(stopped[index]),
                held_from=held_from[index],
            )
        )
    return priors


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
            CheckRow(m["subject_id"], _fact(m), _blocks(m), _priors(m, target), m["holder_from"])
            for m in rows
            if m["ord"] is not None
        ]
        return CheckBatch(purpose, first["floor"], found)

    async def changes_after(self, position: int, limit: int) -> list[FeedChange]:
        rows = await self._fetch(_FEED, self._tenant, position, limit)
        return [_change_of(m) for m in rows]

    async def last_position(self) -> int:
        rows = await self._fetch(_HEAD, self._tenant)
        return int(rows[0]["last_position"]) if rows else 0

    async def fact_at(self, position: int) -> str | None:
        rows = await self._fetch(_AT, self._tenant, position)
        if not rows:
            return None
        row = rows[0]
        if row["event_id"] is not None:
            return feed_mark(row["event_id"])
        return feed_mark(row["block_id"], row["block_lifted"])

    async def suppression_candidates(
        self, target: Target, kind: IdentifierKind, after: UUID | None, limit: int, at: datetime
    ) -> list[tuple[UUID, bytes | None]]:
        args = [self._tenant, target.purpose, target.channel.value, target.scope.value]
        first = after or _FIRST_SUBJECT
        rows = await self._fetch(_CANDIDATES, *args, first, kind.value, limit, at)
        return [(m["subject_id"], m["digest"]) for m in rows]

    async def tallies(self, purpose: str | None, at: datetime) -> list[ConsentTally]:
        rows = await self._fetch(_TALLIES, self._tenant, purpose, at)
        return [ConsentTally(target_of(m), STATES[m["tallied"]], m["subjects"]) for m in rows]

    async def unheld_contact_points(
        self, kind: IdentifierKind, after: bytes | None, limit: int
    ) -> list[bytes]:
        rows = await self._fetch(_UNHELD, self._tenant, kind.value, after or b"", limit)
        return [m["digest"] for m in rows]


def _change_of(m: Row) -> FeedChange:
    sealed = (
        None if m["feed_external"] is None else (bytes(m["feed_external"]), bytes(m["feed_key"]))
    )
    if m["feed_block_id"] is None:
        return FeedChange(m["position"], event_of(m), sealed_external=sealed)
    block = BlockChange(
        m["feed_block_id"],
        m["feed_block_subject"],
        BlockKind(m["feed_block_kind"]),
        m["feed_block_lifted"],
        m["feed_block_at"],
    )
    return FeedChange(m["position"], None, block, sealed_external=sealed)
