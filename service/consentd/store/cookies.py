"""Cookie choices, visitors and the tenant's cookie policy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.ports import ErasedCookies
from consentd.domain.cookie_policy import CookieCategory, CookiePolicy
from consentd.domain.cookies import ChoiceMethod, CookieChoice
from consentd.domain.tcf import decode_tc_string
from consentd.store.cookie_batch import RECORD_MANY, choices_json, in_given_order
from consentd.store.driver import Driver
from consentd.store.tables import (
    cookie_categories,
    cookie_choices,
    cookie_consent_modes,
    cookie_policies,
    cookie_visitors,
)

_P, _K, _M, _V, _CH = (
    cookie_policies,
    cookie_categories,
    cookie_consent_modes,
    cookie_visitors,
    cookie_choices,
)


def _choice_row(tenant_id: UUID, choice: CookieChoice) -> dict[str, Any]:
    tcf = choice.tcf
    return {
        "tenant_id": tenant_id,
        "choice_id": choice.choice_id,
        "visitor_id": choice.visitor_id,
        "subject_id": choice.subject_id,
        "method": choice.method.value,
        "granted": list(choice.granted),
        "refused": list(choice.refused),
        "policy_revision": choice.policy_revision,
        "gpc": choice.gpc,
        "recorded_at": choice.recorded_at,
        "expires_at": choice.expires_at,
        "page_url": choice.page_url,
        "ip_digest": choice.ip_digest,
        "ua_digest": choice.ua_digest,
        "tcf_string": choice.tcf_string or None,
        "tcf_cmp_id": tcf.cmp_id if tcf else None,
        "tcf_cmp_version": tcf.cmp_version if tcf else None,
        "tcf_created": tcf.created if tcf else None,
        "tcf_last_updated": tcf.last_updated if tcf else None,
        "tcf_consent_screen": tcf.consent_screen if tcf else None,
        "tcf_consent_language": tcf.consent_language if tcf else None,
        "tcf_vendor_list_version": tcf.vendor_list_version if tcf else None,
        "tcf_policy_version": tcf.tcf_policy_version if tcf else None,
        "tcf_purposes_consent": list(tcf.purposes_consent) if tcf else None,
        "tcf_purposes_legitimate_interest": list(tcf.purposes_legitimate_interest) if tcf else None,
    }


def _choice(m: sa.RowMapping) -> CookieChoice:
    # The stored string was validated on the way in; decoding it again gives the same fields
    # as the tcf_* columns, which are there for SQL queries over provenance.
    tcf_string = m["tcf_string"] or ""
    return CookieChoice(
        choice_id=m["choice_id"],
        visitor_id=m["visitor_id"],
        subject_id=m["subject_id"],
        method=ChoiceMethod(m["method"]),
        granted=tuple(m["granted"]),
        refused=tuple(m["refused"]),
        policy_revision=m["policy_revision"],
        gpc=m["gpc"],
        recorded_at=m["recorded_at"],
        expires_at=m["expires_at"],
        page_url=m["page_url"],
        tcf_string=tcf_string,
        tcf=decode_tc_string(tcf_string) if tcf_string else None,
        sequence=m["sequence"],
    )


_CHOICE_COLUMNS = [c for c in _CH.c if c.name not in ("ip_digest", "ua_digest")]
# The statements of the hot path (record, read back) are built once: executed with parameters,
# SQLAlchemy reuses their compiled form instead of rebuilding them on every request.
# The policy with its categories (in their order) and its consent-mode signals, in one round
# trip: every cookie write reads it, and three statements were three round trips a batch.
_POLICY = """
SELECT p.revision, p.refusal_validity_months, p.acceptance_validity_months, p.allowed_origins,
    p.updated_at,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(k.category_id, k.display_name, k.description)
        ORDER BY k.position), '[]') FROM cookie_categories k WHERE k.tenant_id = p.tenant_id)::text
        AS categories,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(m.signal, m.categories) ORDER BY m.signal),
        '[]') FROM cookie_consent_modes m WHERE m.tenant_id = p.tenant_id)::text AS modes
FROM cookie_policies p WHERE p.tenant_id = $1
"""
_POLICY_LOCKED = _POLICY + "FOR UPDATE OF p\n"
_APPEND = insert(_CH).returning(*_CHOICE_COLUMNS)
_VISITOR = insert(_V)
_TOUCH = _VISITOR.on_conflict_do_update(
    index_elements=["tenant_id", "visitor_id"],
    set_={
        "last_seen_at": sa.func.greatest(_V.c.last_seen_at, _VISITOR.excluded.last_seen_at),
        "subject_id": sa.func.coalesce(_VISITOR.excluded.subject_id, _V.c.subject_id),
    },
).returning(_V.c.subject_id)
_LATEST = (
    sa.select(*_CHOICE_COLUMNS)
    .where(_CH.c.tenant_id == sa.bindparam("tenant"), _CH.c.visitor_id == sa.bindparam("visitor"))
    .order_by(_CH.c.sequence.desc())
    .limit(1)
)


_ANY_CHOICE = "SELECT 1 FROM cookie_choices WHERE tenant_id = $1 LIMIT 1"


class SqlCookies:
    def __init__(self, conn: AsyncConnection, raw: Driver, tenant_id: UUID) -> None:
        self._conn = conn
        self._raw = raw
        self._tenant = tenant_id
        # Set once record_many queued log entries: the unit of work wakes the sequencer.
        self.appended = False

    async def policy(self, *, for_update: bool = False) -> CookiePolicy | None:
        row = await self._raw.fetchrow(_POLICY_LOCKED if for_update else _POLICY, self._tenant)
        if row is None:
            return None
        return CookiePolicy(
            categories=tuple(CookieCategory(*k) for k in orjson.loads(row["categories"])),
            revision=row["revision"],
            refusal_validity_months=row["refusal_validity_months"],
            acceptance_validity_months=row["acceptance_validity_months"],
            consent_mode=tuple(
                (signal, tuple(needs)) for signal, needs in orjson.loads(row["modes"])
            ),
            allowed_origins=tuple(row["allowed_origins"]),
            updated_at=row["updated_at"],
        )

    async def choices_made(self) -> bool:
        """Whether the tenant has recorded any cookie choice."""
        return bool(await self._raw.fetchrow(_ANY_CHOICE, self._tenant))

    async def put_policy(self, policy: CookiePolicy, now: datetime) -> CookiePolicy | None:
        values = {
            "tenant_id": self._tenant,
            "revision": policy.revision,
            "refusal_validity_months": policy.refusal_validity_months,
            "acceptance_validity_months": policy.acceptance_validity_months,
            "allowed_origins": list(policy.allowed_origins),
            "updated_at": now,
        }
        stmt = insert(_P).values(values)
        # The revision never goes down, even between two concurrent puts.
        upsert = stmt.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={k: stmt.excluded[k] for k in values if k != "tenant_id"},
            where=_P.c.revision <= stmt.excluded.revision,
        ).returning(_P.c.tenant_id)
        if (await self._conn.execute(upsert)).first() is None:
            return None
        await self._conn.execute(sa.delete(_K).where(_K.c.tenant_id == self._tenant))
        await self._conn.execute(sa.delete(_M).where(_M.c.tenant_id == self._tenant))
        if policy.categories:
            await self._conn.execute(
                insert(_K),
                [
                    {
                        "tenant_id": self._tenant,
                        "category_id": c.category_id,
                        "position": position,
                        "display_name": c.display_name,
                        "description": c.description,
                    }
                    for position, c in enumerate(policy.categories)
                ],
            )
        await self._conn.execute(
            insert(_M),
            [
                {"tenant_id": self._tenant, "signal": signal, "categories": list(needs)}
                for signal, needs in policy.consent_mode
            ],
        )
        return await self.policy()

    async def touch_visitor(
        self, visitor_id: str, subject_id: UUID | None, now: datetime
    ) -> UUID | None:
        row = {
            "tenant_id": self._tenant,
            "visitor_id": visitor_id,
            "subject_id": subject_id,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        linked: UUID | None = (await self._conn.execute(_TOUCH, row)).scalar_one()
        return linked

    async def append(self, choice: CookieChoice) -> CookieChoice:
        result = await self._conn.execute(_APPEND, _choice_row(self._tenant, choice))
        return _choice(result.mappings().one())

    async def record_many(
        self, choices: Sequence[CookieChoice], queued_at: datetime
    ) -> list[CookieChoice]:
        rows = [_choice_row(self._tenant, choice) for choice in choices]
        stored = await self._raw.fetch(RECORD_MANY, self._tenant, choices_json(rows), queued_at)
        self.appended = True
        return in_given_order(choices, [_choice(m) for m in stored])

    async def latest(self, visitor_id: str) -> CookieChoice | None:
        parameters = {"tenant": self._tenant, "visitor": visitor_id}
        row = (await self._conn.execute(_LATEST, parameters)).mappings().first()
        return _choice(row) if row else None

    async def history(
        self, visitor_id: str | None, subject_id: UUID | None, before: UUID | None, limit: int
    ) -> list[CookieChoice]:
        owner = (
            _CH.c.visitor_id == visitor_id
            if visitor_id is not None
            else (_CH.c.subject_id == subject_id)
        )
        mine = (_CH.c.tenant_id == self._tenant, owner)
        query = sa.select(*_CHOICE_COLUMNS).where(*mine)
        if before is not None:
            cursor = sa.select(_CH.c.sequence).where(*mine, _CH.c.choice_id == before)
            query = query.where(_CH.c.sequence < cursor.scalar_subquery())
        query = query.order_by(_CH.c.sequence.desc()).limit(limit)
        return [_choice(m) for m in (await self._conn.execute(query)).mappings()]

    async def link_choices(self, visitor_id: str, subject_id: UUID) -> int:
        result = await self._conn.execute(
            sa.update(_CH)
            .where(
                _CH.c.tenant_id == self._tenant,
                _CH.c.visitor_id == visitor_id,
                _CH.c.subject_id.is_(None),
            )
            .values(subject_id=subject_id)
        )
        return result.rowcount

    async def erase_subject(self, subject_id: UUID) -> ErasedCookies:
        """Delete the subject's choices, the unattributed choices of the visitors linked to it,
        and those visitors (unlinked instead while another person's choices name them: a
        shared browser, probe DX); returns the deleted choices counted per (month recorded,
        method), and the visitor ids they and the deleted visitors named that are known no
        more."""
        t = self._tenant
        visitors = sa.select(_V.c.visitor_id).where(
            _V.c.tenant_id == t, _V.c.subject_id == subject_id
        )
        month = sa.func.date_trunc("month", sa.func.timezone("UTC", _CH.c.recorded_at))
        theirs = sa.and_(_CH.c.subject_id.is_(None), _CH.c.visitor_id.in_(visitors))
        deleted = (
            await self._conn.execute(
                sa.delete(_CH)
                .where(_CH.c.tenant_id == t, sa.or_(_CH.c.subject_id == subject_id, theirs))
                .returning(sa.cast(month, sa.Date), _CH.c.method, _CH.c.visitor_id, _CH.c.choice_id)
            )
        ).all()
        counts = Counter((day, ChoiceMethod(method)) for day, method, *_ in deleted)
        chosen = sa.exists().where(_CH.c.tenant_id == t, _CH.c.visitor_id == _V.c.visitor_id)
        mine = (_V.c.tenant_id == t, _V.c.subject_id == subject_id)
        gone = await self._conn.execute(
            sa.delete(_V).where(*mine, ~chosen).returning(_V.c.visitor_id)
        )
        await self._conn.execute(sa.update(_V).where(*mine).values(subject_id=None))
        named: set[str] = {visitor for _, _, visitor, _ in deleted} | set(gone.scalars())
        # A visitor still known (another person's choices name it, or it is linked to them
        # now): their replays name it too, and were answered "erased" (probe DY).
        kept = sa.select(_V.c.visitor_id).where(_V.c.tenant_id == t, _V.c.visitor_id.in_(named))
        named -= set((await self._conn.execute(kept)).scalars()) if named else set()
        choices = sorted(choice for *_, choice in deleted)
        return ErasedCookies(counts, sorted(v for v in named if v), choices)
