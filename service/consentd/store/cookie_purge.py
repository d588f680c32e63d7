"""The cookie-choice category of retention in the store: batched deletes of expired choices,
aggregate counts and the run log. The lock is the retention job's (store/locks.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.ports import MonthlyCounts
from consentd.domain.cookies import ChoiceMethod
from consentd.store.tables import cookie_choice_counts, cookie_choices, cookie_visitors, purge_runs

_CH, _V, _R, _N = cookie_choices, cookie_visitors, purge_runs, cookie_choice_counts


class SqlCookiePurge:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def interrupt_running(self, now: datetime) -> int:
        result = await self._conn.execute(
            sa.update(_R)
            .where(_R.c.tenant_id == self._tenant, _R.c.status == "running")
            .values(status="interrupted", finished_at=now)
        )
        return result.rowcount

    async def start_run(self, run_id: UUID, now: datetime) -> None:
        await self._conn.execute(
            insert(_R).values(
                tenant_id=self._tenant,
                run_id=run_id,
                started_at=now,
                status="running",
                cutoff=now,
                choices_deleted=0,
                visitors_deleted=0,
                batches=0,
            )
        )

    async def delete_expired_choices(self, cutoff: datetime, limit: int) -> MonthlyCounts:
        # SKIP LOCKED: a row a request is still reading or linking is left for the next batch.
        doomed = (
            sa.select(_CH.c.tenant_id, _CH.c.choice_id)
            .where(_CH.c.tenant_id == self._tenant, _CH.c.expires_at <= cutoff)
            .order_by(_CH.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        month = sa.func.date_trunc("month", sa.func.timezone("UTC", _CH.c.recorded_at))
        deleted = await self._conn.execute(
            sa.delete(_CH)
            .where(sa.tuple_(_CH.c.tenant_id, _CH.c.choice_id).in_(doomed))
            .returning(sa.cast(month, sa.Date), _CH.c.method)
        )
        return Counter((day, ChoiceMethod(method)) for day, method in deleted)

    async def count_expired(self, cutoff: datetime) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(_CH)
            .where(_CH.c.tenant_id == self._tenant, _CH.c.expires_at <= cutoff)
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def add_counts(self, counts: MonthlyCounts) -> None:
        if not counts:
            return
        rows = [
            {"tenant_id": self._tenant, "month": month, "method": method.value, "choices": n}
            for (month, method), n in sorted(counts.items())
        ]
        stmt = insert(_N).values(rows)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "month", "method"],
                set_={"choices": _N.c.choices + stmt.excluded.choices},
            )
        )

    async def delete_idle_visitors(self, idle_before: datetime, limit: int) -> int:
        has_choice = sa.exists().where(
            _CH.c.tenant_id == _V.c.tenant_id, _CH.c.visitor_id == _V.c.visitor_id
        )
        doomed = (
            sa.select(_V.c.tenant_id, _V.c.visitor_id)
            .where(_V.c.tenant_id == self._tenant, _V.c.last_seen_at < idle_before, ~has_choice)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._conn.execute(
            sa.delete(_V).where(sa.tuple_(_V.c.tenant_id, _V.c.visitor_id).in_(doomed))
        )
        return result.rowcount

    async def record_progress(self, run_id: UUID, choices: int, visitors: int) -> None:
        await self._conn.execute(
            sa.update(_R)
            .where(_R.c.tenant_id == self._tenant, _R.c.run_id == run_id)
            .values(
                choices_deleted=_R.c.choices_deleted + choices,
                visitors_deleted=_R.c.visitors_deleted + visitors,
                batches=_R.c.batches + 1,
            )
        )

    async def counts(self) -> dict[tuple[date, str], int]:
        """The aggregate counts the purge kept (for reports and tests)."""
        rows = await self._conn.execute(
            sa.select(_N.c.month, _N.c.method, _N.c.choices).where(_N.c.tenant_id == self._tenant)
        )
        return {(month, method): n for month, method, n in rows}

    async def runs(self) -> list[sa.RowMapping]:
        """The purge log, oldest first (for reports and tests)."""
        query = sa.select(_R).where(_R.c.tenant_id == self._tenant).order_by(_R.c.started_at)
        return list((await self._conn.execute(query)).mappings())

    async def finish_run(self, run_id: UUID, now: datetime) -> None:
        await self._conn.execute(
            sa.update(_R)
            .where(_R.c.tenant_id == self._tenant, _R.c.run_id == run_id)
            .values(status="finished", finished_at=now)
        )
