"""Reads for breach scoping: rows and subjects a time window touched, per category."""

from __future__ import annotations

import functools
import operator
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.breach import TouchedSubject, Window
from consentd.store.tables import (
    audit_entries,
    audit_queue,
    consent_events,
    contact_changes,
    cookie_choices,
    rights_requests,
    subject_blocks,
    subjects,
    suppressions,
)
from consentd.store.tables import contact_point_holdings as holdings


def _in(column: sa.ColumnElement[object], window: Window) -> sa.ColumnElement[bool]:
    return sa.and_(column >= window.since, column < window.until)


class SqlBreach:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    def _queries(self, w: Window) -> list[tuple[str, sa.Table, sa.ColumnElement[bool], bool]]:
        """(category, table, rows touched in the window, whether rows name a subject); a
        category of two tables counts the rows of both."""
        e, r = consent_events, rights_requests
        evidence = sa.or_(
            e.c.evidence_sealed.is_not(None),
            e.c.evidence_ip_digest.is_not(None),
            e.c.evidence_ua_digest.is_not(None),
        )
        # An event is touched when decided in the window, or written in it: an import writes
        # today decisions dated months ago (their log entry, queued or chained, says when).
        a, q = audit_entries, audit_queue
        written = sa.or_(
            _in(e.c.recorded_at, w),
            *(
                sa.exists().where(
                    log.c.tenant_id == e.c.tenant_id,
                    log.c.fact_id == e.c.event_id,
                    _in(log.c.recorded_at, w),
                )
                for log in (a, q)
            ),
        )
        return [
            ("consent_records", e, written, True),
            ("evidence", e, sa.and_(written, evidence), True),
            # Holdings, not links: a contact point erased or rectified since still counts.
            ("contact_points", holdings, _in(holdings.c.held_from, w), True),
            ("contact_history", contact_changes, _in(contact_changes.c.changed_at, w), True),
            (
                "rights_requests",
                r,
                sa.and_(r.c.updated_at >= w.since, r.c.received_at < w.until),
                True,
            ),
            (
                "processing_blocks",
                subject_blocks,
                sa.or_(_in(subject_blocks.c.since, w), _in(subject_blocks.c.lifted_at, w)),
                True,
            ),
            ("suppressions", suppressions, _in(suppressions.c.created_at, w), False),
            # Visitor ids, page URLs, keyed digests of IP and user agent: pseudonymous, and
            # personal data all the same.
            ("cookie_choices", cookie_choices, _in(cookie_choices.c.recorded_at, w), True),
            ("audit_log", audit_entries, _in(audit_entries.c.recorded_at, w), True),
            # Entries written, not yet chained by the sequencer (the last second's): in the
            # log all the same for a report taken now.
            ("audit_log", audit_queue, _in(audit_queue.c.recorded_at, w), True),
        ]

    async def scope(self, window: Window) -> tuple[int, int, dict[str, int]]:
        """(subjects touched, subjects held, rows touched per category)."""
        touched: list[sa.Select[tuple[object]]] = []
        categories: dict[str, int] = {}
        counts: dict[str, list[sa.ScalarSelect[int]]] = {}
        for name, table, where, named in self._queries(window):
            mine = sa.and_(table.c.tenant_id == self._tenant, where)
            counting = sa.select(sa.func.count()).select_from(table).where(mine)
            counts.setdefault(name, []).append(counting.scalar_subquery())
            if named:
                touched.append(
                    sa.select(table.c.subject_id).where(mine, table.c.subject_id.is_not(None))
                )
        for name, parts in counts.items():
            # One statement per category: an entry the sequencer moves from the queue to the
            # log meanwhile is counted once, in one snapshot.
            total = functools.reduce(operator.add, parts)
            rows = int((await self._conn.execute(sa.select(total))).scalar_one())
            if rows:
                categories[name] = rows
        union = sa.union(*touched).subquery()
        subjects_touched = await self._conn.execute(sa.select(sa.func.count()).select_from(union))
        held = await self._conn.execute(
            sa.select(sa.func.count()).where(
                subjects.c.tenant_id == self._tenant,
                subjects.c.created_at < window.until,
                sa.or_(subjects.c.erased_at.is_(None), subjects.c.erased_at >= window.since),
            )
        )
        return int(subjects_touched.scalar_one()), int(held.scalar_one()), categories

    async def subjects(
        self, window: Window, after: UUID | None, limit: int
    ) -> list[TouchedSubject]:
        """The subjects of the scope's count, each with its categories, in id order."""
        named = []
        for name, table, where, names_subject in self._queries(window):
            if not names_subject:
                continue
            mine = sa.and_(
                table.c.tenant_id == self._tenant, where, table.c.subject_id.is_not(None)
            )
            if after is not None:
                mine = sa.and_(mine, table.c.subject_id > after)
            category = sa.literal(name, sa.Text).label("category")
            named.append(sa.select(table.c.subject_id.label("subject_id"), category).where(mine))
        touched = sa.union(*named).subquery()
        rows = await self._conn.execute(
            sa.select(
                touched.c.subject_id,
                sa.func.array_agg(touched.c.category),
                subjects.c.erased_at,
            )
            .join(
                subjects,
                sa.and_(
                    subjects.c.tenant_id == self._tenant,
                    subjects.c.subject_id == touched.c.subject_id,
                ),
            )
            .group_by(touched.c.subject_id, subjects.c.erased_at)
            .order_by(touched.c.subject_id)
            .limit(limit)
        )
        return [
            TouchedSubject(subject_id, tuple(sorted(categories)), erased_at)
            for subject_id, categories, erased_at in rows
        ]
