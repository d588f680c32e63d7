"""Consent events (append-only) and the current-state projection, written together."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.model import (
    ALL,
    Channel,
    ConsentEvent,
    ConsentState,
    PartyScope,
    ProcessingRole,
    Source,
    Target,
)
from consentd.store.driver import Driver
from consentd.store.tables import consent_events, current_consents

# A result row: SQLAlchemy's RowMapping or asyncpg's Record, both read by column name.
Row = Any

_E = consent_events
_C = current_consents
# The person's latest word per target (domain/decision.persons_word; migration 0045's
# consentd_stop_stands reads the same).
_PERSONS_WORDS = """
SELECT DISTINCT ON (e.purpose_id, e.channel, e.scope) e.* FROM consent_events e
WHERE e.tenant_id = $1 AND e.subject_id = $2 AND e.purpose_id <> '*'
  AND ((e.state = 'granted' AND e.attested IS TRUE)
    OR (e.source IN ('portal', 'banner', 'support')
      AND (e.state IN ('refused', 'withdrawn')
        OR (e.state = 'granted' AND e.attested IS NOT FALSE))))
ORDER BY e.purpose_id, e.channel, e.scope, e.sequence DESC
"""

# Whether a record of the person's own (in person, attested: from a caller that speaks for them)
# was written at $3, when a holding of theirs began: it linked that contact point (it made the
# person, or attached it), and its events carry the same time. A withdrawal is never attested
# (a CRM's own PORTAL withdrawal, or its own unsubscribe link, made the person from its mailbox);
# nor is an import row (one dated before the person was made counted; probe DE).
_ATTACHED_IN_PERSON = """
SELECT EXISTS (
  SELECT FROM consent_events e
  WHERE e.tenant_id = $1 AND e.subject_id = $2 AND e.recorded_at = $3
    AND e.attested IS TRUE AND e.source IN ('portal', 'banner', 'support'))
"""

# A transaction-level lock per (tenant, subject), taken before the subject's events take their
# sequence and queue their log entries and held until commit: for one subject, sequence order,
# queue order (hence feed and log order) and commit order agree. Only writes of one subject wait
# on each other. Several subjects are locked in one order, so two writers cannot deadlock.
_LOCK_SUBJECTS = """
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT consentd_subject_lock($1, s) AS k FROM unnest($2::uuid[]) AS s) AS keys
ORDER BY k
"""

# Migration 0040's consentd_append_events (0033's with each event's decided_at, $22):
# _LOCK_SUBJECTS, then one statement inserting the
# events in request order, queueing each one's log entry (its whole row, consentd_event_payload
# of 0009; the sequencer gives it its feed position) and moving the projection forward.
_APPEND = """
SELECT * FROM consentd_append_events(
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22
)
"""


def event_columns(event: ConsentEvent) -> tuple[Any, ...]:
    """The event as the parameters $3..$19 and $21 of _APPEND take it."""
    return (
        event.event_id,
        event.subject_id,
        event.target.purpose,
        event.target.channel.value,
        event.target.scope.value,
        event.state.value,
        event.notice_id,
        event.notice_version,
        event.source.value,
        event.actor,
        event.processing_role.value,
        event.recorded_at,
        event.valid_until,
        event.evidence_reference,
        event.evidence_ip_digest,
        event.evidence_ua_digest,
        event.evidence_sealed,
        event.attested,
    )


# Reading rows is on the path of every check: targets are few and immutable, so one object per
# target is kept, and enum members are found by dict rather than by EnumType.__call__.
STATES = {state.value: state for state in ConsentState}


@functools.lru_cache(maxsize=4096)
def _target_of(purpose: str, channel: str, scope: str) -> Target:
    return Target(purpose, Channel(channel), PartyScope(scope))


def until_of(m: Row) -> datetime | None:
    """A row's valid_until, aware: PostgreSQL's `infinity` (written by releases that let
    Python's datetime.max through, domain/canonical.py LATEST) comes back without a zone."""
    until: datetime | None = m["valid_until"]
    return until.replace(tzinfo=UTC) if until is not None and until.tzinfo is None else until


def target_of(m: Row) -> Target:
    return _target_of(m["purpose_id"], m["channel"], m["scope"])


def event_of(m: Row) -> ConsentEvent:
    return ConsentEvent(
        event_id=m["event_id"],
        sequence=m["sequence"],
        subject_id=m["subject_id"],
        target=target_of(m),
        state=STATES[m["state"]],
        notice_id=m["notice_id"],
        notice_version=m["notice_version"],
        source=Source(m["source"]),
        actor=m["actor"],
        processing_role=ProcessingRole(m["processing_role"]),
        recorded_at=m["recorded_at"],
        valid_until=until_of(m),
        evidence_reference=m["evidence_reference"],
        evidence_sealed=m["evidence_sealed"],
        attested=m["attested"],
        decided_at=m["decided_at"],
    )


class SqlConsents:
    def __init__(self, conn: AsyncConnection, raw: Driver, tenant_id: UUID) -> None:
        self._conn = conn
        self._raw = raw
        self._tenant = tenant_id
        # Set once events are written, so the unit of work can wake the feed's watchers on commit.
        self.appended = False

    async def append(
        self, events: Sequence[ConsentEvent], queued_at: datetime
    ) -> list[ConsentEvent]:
        """Insert the events, their queued log entries and the projection, after locking the
        events' subjects (see _LOCK_SUBJECTS), in one round trip."""
        if not events:
            return []
        subjects = sorted({e.subject_id for e in events})
        columns = zip(*(event_columns(e) for e in events), strict=True)
        *given, attested = map(list, columns)
        decided = [e.decided_at for e in events]
        rows = await self._raw.fetch(
            _APPEND, self._tenant, subjects, *given, queued_at, attested, decided
        )
        self.appended = True
        return [event_of(m) for m in rows]

    async def lock_subject(self, subject_id: UUID) -> None:
        await self._raw.execute(_LOCK_SUBJECTS, self._tenant, [subject_id])

    async def current(self, subject_id: UUID) -> list[ConsentEvent]:
        query = (
            sa.select(_E)
            .join(_C, sa.and_(_C.c.tenant_id == _E.c.tenant_id, _C.c.event_id == _E.c.event_id))
            .where(_C.c.tenant_id == self._tenant, _C.c.subject_id == subject_id)
            .order_by(_C.c.purpose_id, _C.c.channel, _C.c.scope)
        )
        return [event_of(m) for m in (await self._conn.execute(query)).mappings()]

    async def persons_words(self, subject_id: UUID) -> list[ConsentEvent]:
        rows = await self._raw.fetch(_PERSONS_WORDS, self._tenant, subject_id)
        return [event_of(row) for row in rows]

    async def attached_in_person(self, subject_id: UUID, at: datetime) -> bool:
        rows = await self._raw.fetch(_ATTACHED_IN_PERSON, self._tenant, subject_id, at)
        return bool(rows[0][0])

    async def all_events(self, subject_id: UUID) -> list[ConsentEvent]:
        """Every event of the subject, oldest first (exports)."""
        query = (
            sa.select(_E)
            .where(_E.c.tenant_id == self._tenant, _E.c.subject_id == subject_id)
            .order_by(_E.c.sequence)
        )
        return [event_of(m) for m in (await self._conn.execute(query)).mappings()]

    async def history(
        self, subject_id: UUID, purpose: str | None, before: UUID | None, limit: int
    ) -> list[ConsentEvent]:
        mine = (_E.c.tenant_id == self._tenant, _E.c.subject_id == subject_id)
        query = sa.select(_E).where(*mine)
        if purpose is not None:
            query = query.where(_E.c.purpose_id.in_([purpose, ALL]))
        if before is not None:
            cursor = sa.select(_E.c.sequence).where(*mine, _E.c.event_id == before)
            query = query.where(_E.c.sequence < cursor.scalar_subquery())
        query = query.order_by(_E.c.sequence.desc()).limit(limit)
        return [event_of(m) for m in (await self._conn.execute(query)).mappings()]
