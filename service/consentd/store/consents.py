"""Consent events (append-only) and the current-state projection, written together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.model import (
    ALL,
    Channel,
    ConsentEvent,
    ConsentFact,
    ConsentState,
    PartyScope,
    ProcessingRole,
    Source,
    Target,
)
from consentd.store.tables import consent_events, current_consents

_E = consent_events
_C = current_consents


def _event_row(tenant_id: UUID, event: ConsentEvent) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "event_id": event.event_id,
        "subject_id": event.subject_id,
        "purpose_id": event.target.purpose,
        "channel": event.target.channel.value,
        "scope": event.target.scope.value,
        "state": event.state.value,
        "notice_id": event.notice_id,
        "notice_version": event.notice_version,
        "source": event.source.value,
        "actor": event.actor,
        "processing_role": event.processing_role.value,
        "recorded_at": event.recorded_at,
        "valid_until": event.valid_until,
        "evidence_reference": event.evidence_reference,
        "evidence_ip_digest": event.evidence_ip_digest,
        "evidence_ua_digest": event.evidence_ua_digest,
        "evidence_sealed": event.evidence_sealed,
    }


def _target(m: sa.RowMapping) -> Target:
    return Target(m["purpose_id"], Channel(m["channel"]), PartyScope(m["scope"]))


def _event(m: sa.RowMapping) -> ConsentEvent:
    return ConsentEvent(
        event_id=m["event_id"],
        sequence=m["sequence"],
        subject_id=m["subject_id"],
        target=_target(m),
        state=ConsentState(m["state"]),
        notice_id=m["notice_id"],
        notice_version=m["notice_version"],
        source=Source(m["source"]),
        actor=m["actor"],
        processing_role=ProcessingRole(m["processing_role"]),
        recorded_at=m["recorded_at"],
        valid_until=m["valid_until"],
        evidence_reference=m["evidence_reference"],
        evidence_sealed=m["evidence_sealed"],
    )


def _fact(m: sa.RowMapping) -> ConsentFact:
    return ConsentFact(
        m["event_id"],
        m["sequence"],
        _target(m),
        ConsentState(m["state"]),
        m["notice_version"],
        m["valid_until"],
        # The projection keeps the event's time as updated_at.
        m["recorded_at"] if "recorded_at" in m else m["updated_at"],
    )


def _applies_to(table: sa.Table, target: Target) -> sa.ColumnElement[bool]:
    """Rows of the exact target, and the "everything" row."""
    return sa.or_(
        sa.and_(
            table.c.purpose_id == target.purpose,
            table.c.channel == target.channel.value,
            table.c.scope == target.scope.value,
        ),
        table.c.purpose_id == ALL,
    )


class SqlConsents:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def append(self, events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        if not events:
            return []
        rows = [_event_row(self._tenant, e) for e in events]
        result = await self._conn.execute(
            insert(_E).returning(*_E.c, sort_by_parameter_order=True), rows
        )
        written = [_event(m) for m in result.mappings()]
        await self._project(written)
        return written

    async def _project(self, events: Sequence[ConsentEvent]) -> None:
        # The projection only ever moves forward: a concurrent writer that committed a later
        # event first is never overwritten by an earlier one (no lost update).
        rows = [
            {
                "tenant_id": self._tenant,
                "subject_id": e.subject_id,
                "purpose_id": e.target.purpose,
                "channel": e.target.channel.value,
                "scope": e.target.scope.value,
                "state": e.state.value,
                "event_id": e.event_id,
                "sequence": e.sequence,
                "notice_version": e.notice_version,
                "valid_until": e.valid_until,
                "updated_at": e.recorded_at,
            }
            for e in events
        ]
        stmt = insert(_C).values(rows)
        changed = ("state", "event_id", "sequence", "notice_version", "valid_until", "updated_at")
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "subject_id", "purpose_id", "channel", "scope"],
                set_={name: stmt.excluded[name] for name in changed},
                where=_C.c.sequence < stmt.excluded.sequence,
            )
        )

    async def current_facts(self, subject_id: UUID, target: Target) -> list[ConsentFact]:
        query = sa.select(_C).where(
            _C.c.tenant_id == self._tenant, _C.c.subject_id == subject_id, _applies_to(_C, target)
        )
        return [_fact(m) for m in (await self._conn.execute(query)).mappings()]

    async def facts_as_of(
        self, subject_id: UUID, target: Target, as_of: datetime
    ) -> list[ConsentFact]:
        query = (
            sa.select(_E)
            .ext(distinct_on(_E.c.purpose_id, _E.c.channel, _E.c.scope))
            .where(
                _E.c.tenant_id == self._tenant,
                _E.c.subject_id == subject_id,
                _E.c.recorded_at <= as_of,
                _applies_to(_E, target),
            )
            .order_by(_E.c.purpose_id, _E.c.channel, _E.c.scope, _E.c.sequence.desc())
        )
        return [_fact(m) for m in (await self._conn.execute(query)).mappings()]

    async def current(self, subject_id: UUID) -> list[ConsentEvent]:
        query = (
            sa.select(_E)
            .join(_C, sa.and_(_C.c.tenant_id == _E.c.tenant_id, _C.c.event_id == _E.c.event_id))
            .where(_C.c.tenant_id == self._tenant, _C.c.subject_id == subject_id)
            .order_by(_C.c.purpose_id, _C.c.channel, _C.c.scope)
        )
        return [_event(m) for m in (await self._conn.execute(query)).mappings()]

    async def all_events(self, subject_id: UUID) -> list[ConsentEvent]:
        """Every event of the subject, oldest first (exports)."""
        query = (
            sa.select(_E)
            .where(_E.c.tenant_id == self._tenant, _E.c.subject_id == subject_id)
            .order_by(_E.c.sequence)
        )
        return [_event(m) for m in (await self._conn.execute(query)).mappings()]

    async def history(
        self, subject_id: UUID, purpose: str | None, before: int | None, limit: int
    ) -> list[ConsentEvent]:
        query = sa.select(_E).where(_E.c.tenant_id == self._tenant, _E.c.subject_id == subject_id)
        if purpose is not None:
            query = query.where(_E.c.purpose_id.in_([purpose, ALL]))
        if before is not None:
            query = query.where(_E.c.sequence < before)
        query = query.order_by(_E.c.sequence.desc()).limit(limit)
        return [_event(m) for m in (await self._conn.execute(query)).mappings()]
