"""What the rights of the person need from the store: data keys, sealed identifiers, suppressions,
processing blocks and the history of contact points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.idempotency import ERASED_ANSWER
from consentd.app.ports import Digest
from consentd.domain.contact_points import Closed
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.rights import BlockKind, BlockRecord, ContactChange, StoredIdentifier
from consentd.store import closed_points as points
from consentd.store.driver import Driver, affected
from consentd.store.idempotency import FORGET, visitor_field
from consentd.store.key_check import DESTROY_KEY
from consentd.store.reborn import born_erased
from consentd.store.tables import (
    contact_changes,
    contact_point_holdings,
    subject_blocks,
    subject_identifiers,
    subjects,
    suppressions,
)

_I, _B, _S = subject_identifiers, subject_blocks, suppressions
_WHOLE_ID = bytes([36])  # a protobuf string field's length byte before a UUID's 36 characters
_C, _H = contact_changes, contact_point_holdings


# On every write's path (sealing identifiers and evidence): prepared plain SQL, as the other
# hot statements (store/driver.py).
_FIND_KEY = "SELECT wrapped_key FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2"
_STORE_KEY = """
INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, subject_id) DO NOTHING RETURNING wrapped_key
"""


class SqlRights:
    def __init__(
        self, conn: AsyncConnection, raw: Driver, tenant_id: UUID, keys: dict[UUID, bytes]
    ) -> None:
        self._conn = conn
        self._raw = raw
        self._tenant = tenant_id
        # Keys found or stored in this transaction (shared with SqlSubjects, which stores new
        # subjects' keys): a write seals an identifier and its evidence with the same key, and
        # each lookup was a round trip inside the tenant's write path.
        self._keys = keys

    # Data keys -----------------------------------------------------------------------------

    async def wrapped_key(self, subject_id: UUID) -> bytes | None:
        known = self._keys.get(subject_id)
        if known is not None:
            return known
        row = await self._raw.fetchrow(_FIND_KEY, self._tenant, subject_id)
        value: bytes | None = None if row is None else bytes(row["wrapped_key"])
        if value is not None:
            self._keys[subject_id] = value
        return value

    async def store_key(self, subject_id: UUID, wrapped: bytes, now: datetime) -> bytes:
        """Store the subject's wrapped key unless one exists; the one that is stored."""
        row = await self._raw.fetchrow(_STORE_KEY, self._tenant, subject_id, wrapped, now)
        stored: bytes | None = None if row is None else bytes(row["wrapped_key"])
        if stored is None:  # another writer stored one first: read it (a new snapshot)
            self._keys.pop(subject_id, None)
            stored = await self.wrapped_key(subject_id)
        assert stored is not None
        self._keys[subject_id] = stored
        return stored

    async def destroy_key(self, subject_id: UUID, check: bytes | None, now: datetime) -> bool:
        self._keys.pop(subject_id, None)
        row = await self._raw.fetchrow(DESTROY_KEY, self._tenant, subject_id, check, now)
        return bool(row and row["destroyed"])

    # Identifiers ---------------------------------------------------------------------------

    async def identifiers(self, subject_id: UUID) -> list[StoredIdentifier]:
        query = (
            sa.select(_I)
            .where(_I.c.tenant_id == self._tenant, _I.c.subject_id == subject_id)
            .order_by(_I.c.kind, _I.c.created_at)
        )
        return [_stored(m) for m in (await self._conn.execute(query)).mappings()]

    async def detach(
        self, subject_id: UUID, kind: IdentifierKind | None, now: datetime, keep: bytes = b""
    ) -> list[StoredIdentifier]:
        """Unlink the subject's identifiers (of one kind, or all; but the one whose digest is
        `keep`) and close their holdings at `now`; the ones removed."""
        stmt = _I.delete().where(_I.c.tenant_id == self._tenant, _I.c.subject_id == subject_id)
        if kind is not None:
            stmt = stmt.where(_I.c.kind == kind.value)
        stmt = stmt.where(_I.c.digest != keep) if keep else stmt
        removed = [_stored(m) for m in (await self._conn.execute(stmt.returning(_I))).mappings()]
        if removed:
            keys = [(r.kind.value, r.digest) for r in removed]
            await self._conn.execute(
                _H.update()
                .where(
                    _H.c.tenant_id == self._tenant,
                    _H.c.subject_id == subject_id,
                    _H.c.held_until.is_(None),
                    sa.tuple_(_H.c.kind, _H.c.digest).in_(keys),
                )
                .values(held_until=sa.func.greatest(_H.c.held_from, now))
            )
        return removed

    # Subjects ------------------------------------------------------------------------------

    async def forget_replays(self, subject_id: UUID, visitors: Sequence[str]) -> int:
        # A scan of the tenant's replay cache (24 h of keyed writes); the answers are protobuf,
        # whose strings are stored as their UTF-8 bytes. The keys stay, answering that the
        # person was erased (a retry that ran again would write the person anew); their
        # request's fingerprint goes too (it names the person: probe TC). A visitor id is the
        # browser's text: found as a choice's `visitor_id` field in a choice's answer only (as
        # any substring, `weekly_newsletter` erased the answers of everyone granting a purpose
        # of that name; probe UA). The subject's id as a whole string field (its length, 36, then
        # its text): an actor or a page URL holding it named nobody (probe WA).
        fields = [visitor_field(v) for v in visitors]
        said = _WHOLE_ID + str(subject_id).encode()
        gone = await self._raw.execute(FORGET, self._tenant, said, fields, ERASED_ANSWER)
        return affected(gone)

    async def mark_erased(self, subject_id: UUID, now: datetime) -> datetime:
        """Stamp the erasure once; the time it was (first) erased."""
        await self._conn.execute(
            subjects.update()
            .where(
                subjects.c.tenant_id == self._tenant,
                subjects.c.subject_id == subject_id,
                subjects.c.erased_at.is_(None),
            )
            .values(erased_at=now)
        )
        return await self.erased_at(subject_id) or now

    async def erased_at(self, subject_id: UUID) -> datetime | None:
        return await self._subject_time(subjects.c.erased_at, subject_id)

    async def closed_contact_points(self, digests: Sequence[Digest]) -> dict[Digest, Closed]:
        return await points.closed_points(self._raw, self._tenant, digests)

    async def held_closures(self, s: UUID) -> dict[Digest, Closed]:
        return (await points.held_closures(self._raw, self._tenant, [s])).get(s, {})

    async def born_erased(self, s: UUID) -> bool:
        return s in await born_erased(self._raw, self._tenant, [s])

    async def former_contact_points(self, subject_id: UUID) -> list[Digest]:
        return await points.former_points(self._raw, self._tenant, subject_id)

    async def handed_over(self, digests: Sequence[Digest], decided: datetime) -> datetime | None:
        return await points.handed_over(self._raw, self._tenant, digests, decided)

    async def holders_then(self, digests: Sequence[Digest], decided: datetime) -> set[UUID]:
        return await points.holders_then(self._raw, self._tenant, digests, decided)

    async def holdings(
        self, since: Mapping[Digest, datetime]
    ) -> dict[Digest, tuple[UUID, datetime]]:
        return await points.open_holdings(self._raw, self._tenant, since)

    async def taken_over(self, s: UUID, at: datetime, named: list[Digest]) -> set[IdentifierKind]:
        return await points.taken_over(self._raw, self._tenant, s, at, named)

    async def subject_created_at(self, subject_id: UUID) -> datetime | None:
        return await self._subject_time(subjects.c.created_at, subject_id)

    async def _subject_time(self, column: sa.Column[datetime], s: UUID) -> datetime | None:
        c = subjects.c
        query = sa.select(column).where(c.tenant_id == self._tenant, c.subject_id == s)
        found: datetime | None = (await self._conn.execute(query)).scalar()
        return found

    # Suppressions and blocks ---------------------------------------------------------------

    async def suppress(self, digests: Sequence[Digest], reason: BlockKind, now: datetime) -> None:
        if not digests:
            return
        at = {"tenant_id": self._tenant, "reason": reason.value, "created_at": now}
        rows = [{**at, "kind": kind.value, "digest": digest} for kind, digest in digests]
        statement = insert(_S)
        if reason is BlockKind.ERASED:
            # Erased again (another holder took it back in between): closed from now (0031).
            statement = statement.on_conflict_do_update(
                index_elements=["tenant_id", "kind", "digest"],
                set_={
                    "reason": statement.excluded.reason,
                    "created_at": sa.func.greatest(_S.c.created_at, statement.excluded.created_at),
                },
            )
        else:
            statement = statement.on_conflict_do_nothing()
        await self._conn.execute(statement, rows)

    async def add_block(
        self, subject_id: UUID, kind: BlockKind, now: datetime, request_id: UUID | None
    ) -> UUID | None:
        """Put a block in force: its id; None when a restriction is in force already (an
        objection is always recorded: the use case decides whether one is needed)."""
        statement = insert(_B).values(
            tenant_id=self._tenant,
            block_id=uuid4(),
            subject_id=subject_id,
            kind=kind.value,
            since=now,
            request_id=request_id,
        )
        if kind is BlockKind.RESTRICTED:
            statement = statement.on_conflict_do_nothing(
                index_elements=["tenant_id", "subject_id", "kind"],
                # literally the index's predicate (a bound parameter does not infer it)
                index_where=sa.text("lifted_at IS NULL AND kind = 'restricted'"),
            )
        result = await self._conn.execute(statement.returning(_B.c.block_id))
        block: UUID | None = result.scalar()
        return block

    async def lift_block(self, subject_id: UUID, kind: BlockKind, now: datetime) -> UUID | None:
        """Lift the block of that kind in force: its id; None when none is."""
        result = await self._conn.execute(
            _B.update()
            .where(
                _B.c.tenant_id == self._tenant,
                _B.c.subject_id == subject_id,
                _B.c.kind == kind.value,
                _B.c.lifted_at.is_(None),
            )
            .values(lifted_at=now)
            .returning(_B.c.block_id)
        )
        block: UUID | None = result.scalar()
        return block

    async def block_history(self, subject_id: UUID) -> list[BlockRecord]:
        query = (
            sa.select(_B)
            .where(_B.c.tenant_id == self._tenant, _B.c.subject_id == subject_id)
            .order_by(_B.c.since)
        )
        return [
            BlockRecord(BlockKind(m["kind"]), m["since"], m["lifted_at"], m["request_id"])
            for m in (await self._conn.execute(query)).mappings()
        ]

    # Contact history -----------------------------------------------------------------------

    async def log_contact_changes(self, subject_id: UUID, changes: Sequence[ContactChange]) -> None:
        if not changes:
            return
        rows = [
            {
                "tenant_id": self._tenant,
                "change_id": c.change_id,
                "subject_id": subject_id,
                "kind": c.kind.value,
                "action": c.action,
                "sealed_value": c.sealed_value,
                "changed_at": c.changed_at,
                "actor": c.actor,
            }
            for c in changes
        ]
        await self._conn.execute(insert(_C), rows)

    async def contact_history(self, subject_id: UUID) -> list[ContactChange]:
        query = (
            sa.select(_C)
            .where(_C.c.tenant_id == self._tenant, _C.c.subject_id == subject_id)
            .order_by(_C.c.changed_at, _C.c.action.desc())
        )
        return [
            ContactChange(
                m["change_id"],
                IdentifierKind(m["kind"]),
                m["action"],
                m["sealed_value"],
                m["changed_at"],
                m["actor"],
            )
            for m in (await self._conn.execute(query)).mappings()
        ]


def _stored(m: sa.RowMapping) -> StoredIdentifier:
    kind = IdentifierKind(m["kind"])
    return StoredIdentifier(kind, m["digest"], m["sealed_value"], m["created_at"])
