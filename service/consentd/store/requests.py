"""Rights requests: one row per request, moved through its states under a row lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.domain.rights import (
    OPEN_STATES,
    WORDS_ERASED,
    RequestKind,
    RequestState,
    RightsRequest,
)
from consentd.store.tables import rights_requests

_R = rights_requests
_FIELDS = (
    "subject_id",
    "kind",
    "state",
    "received_at",
    "updated_at",
    "verified_at",
    "due_at",
    "extended_due_at",
    "extension_reason",
    "closed_at",
    "outcome",
    "verification_method",
    "code_digest",
    "code_expires_at",
    "code_attempts",
    "person_told_at",
)

# The deadline that counts (domain/rights.py effective_due_at): the extended one once the person
# was told within the first month, else the first; and the states of a request still open.
EFFECTIVE_DUE = sa.case(
    (_R.c.person_told_at <= _R.c.due_at, sa.func.coalesce(_R.c.extended_due_at, _R.c.due_at)),
    else_=_R.c.due_at,
)
IS_OPEN = _R.c.state.in_([s.value for s in OPEN_STATES])


def _request(m: sa.RowMapping) -> RightsRequest:
    values = {name: m[name] for name in _FIELDS}
    values["kind"] = RequestKind(values["kind"])
    values["state"] = RequestState(values["state"])
    return RightsRequest(request_id=m["request_id"], **values)


def _row(request: RightsRequest) -> dict[str, Any]:
    values = {name: getattr(request, name) for name in _FIELDS}
    values["kind"] = request.kind.value
    values["state"] = request.state.value
    return values


class SqlRequests:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    async def add(self, request: RightsRequest) -> None:
        await self._conn.execute(
            insert(_R).values(
                tenant_id=self._tenant, request_id=request.request_id, **_row(request)
            )
        )

    async def get(self, request_id: UUID, *, for_update: bool = False) -> RightsRequest | None:
        """The request; locked until commit with `for_update`, so transitions never race."""
        query = sa.select(_R).where(_R.c.tenant_id == self._tenant, _R.c.request_id == request_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return _request(row) if row else None

    async def save(self, request: RightsRequest) -> None:
        await self._conn.execute(
            _R.update()
            .where(_R.c.tenant_id == self._tenant, _R.c.request_id == request.request_id)
            .values(**_row(request))
        )

    async def told(self, request: RightsRequest, at: datetime) -> bool:
        """Record that the person was told of `request`'s latest decision, unless the request
        moved on meanwhile (its told time is then the newer decision's) or they were told of
        it already (an operator's RecordPersonTold stands: probe GI). Whether it was."""
        done = await self._conn.execute(
            _R.update()
            .where(
                _R.c.tenant_id == self._tenant,
                _R.c.request_id == request.request_id,
                _R.c.updated_at == request.updated_at,
                _R.c.person_told_at.is_(None),
            )
            .values(person_told_at=at)
        )
        return bool(done.rowcount)

    async def forget_words(self, subject_id: UUID) -> None:
        """The operator's words on the person go with them (probe AP: their papers, a birth
        date; DX: a name in an outcome or an extension's reason): as without_words says."""
        said = (_R.c.verification_method, _R.c.extension_reason, _R.c.outcome)
        await self._conn.execute(
            _R.update()
            .where(
                _R.c.tenant_id == self._tenant,
                _R.c.subject_id == subject_id,
                sa.or_(said[0].contains(":"), said[1] != "", said[2] != ""),
            )
            .values(
                verification_method=sa.func.split_part(said[0], ":", 1),
                extension_reason=sa.case((said[1] != "", WORDS_ERASED), else_=""),
                outcome=sa.case((said[2] != "", WORDS_ERASED), else_=""),
            )
        )

    async def of_subject(self, subject_id: UUID) -> list[RightsRequest]:
        query = (
            sa.select(_R)
            .where(_R.c.tenant_id == self._tenant, _R.c.subject_id == subject_id)
            .order_by(_R.c.received_at)
        )
        return [_request(m) for m in (await self._conn.execute(query)).mappings()]

    async def listed(
        self,
        due_before: datetime | None,
        state: RequestState | None,
        after: str | None,
        limit: int,
        subject_id: UUID | None = None,
    ) -> list[RightsRequest]:
        """Requests by id; only those open and due (extended due date) before `due_before`;
        `subject_id`'s only."""
        query = sa.select(_R).where(_R.c.tenant_id == self._tenant)
        if subject_id is not None:
            query = query.where(_R.c.subject_id == subject_id)
        if state is not None:
            query = query.where(_R.c.state == state.value)
        if due_before is not None:
            query = query.where(IS_OPEN, due_before > EFFECTIVE_DUE)
        if after is not None:
            query = query.where(sa.cast(_R.c.request_id, sa.Text) > after)
        query = query.order_by(sa.cast(_R.c.request_id, sa.Text)).limit(limit)
        return [_request(m) for m in (await self._conn.execute(query)).mappings()]
