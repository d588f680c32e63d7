"""Idempotency keys inside a unit of work's transaction (see app/idempotency.py)."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consentd.app.idempotency import ERASED_ANSWER, KEEP, IdempotencyKey, Replayed
from consentd.domain.errors import FailedPrecondition, InvalidInput
from consentd.store.tables import idempotency_keys

_K = idempotency_keys


class SqlIdempotency:
    def __init__(self, conn: AsyncConnection, tenant_id: UUID) -> None:
        self._conn = conn
        self._tenant = tenant_id

    def _where(self, key: IdempotencyKey) -> tuple[sa.ColumnElement[bool], ...]:
        return (_K.c.tenant_id == self._tenant, _K.c.caller == key.caller, _K.c.key == key.key)

    async def claim(self, key: IdempotencyKey) -> None:
        """An insert: a concurrent call with the same key waits on the key's unique index until
        the first commits (then this one replays its answer) or rolls back (then this one runs).
        An expired key is taken afresh."""
        where = self._where(key)
        await self._conn.execute(_K.delete().where(*where, _K.c.expires_at <= key.at))
        claimed = (
            insert(_K)
            .values(
                tenant_id=self._tenant,
                caller=key.caller,
                key=key.key,
                method=key.method,
                request_sha256=key.request_sha256,
                response=b"",
                created_at=key.at,
                expires_at=key.at + KEEP,
            )
            .on_conflict_do_nothing()
            .returning(_K.c.key)
        )
        if (await self._conn.execute(claimed)).first() is not None:
            return
        stored = (await self._conn.execute(sa.select(_K).where(*where))).mappings().one()
        if stored["response"] == ERASED_ANSWER and stored["method"] == key.method:
            # Its fingerprint went with the person (rights.forget_replays).
            raise FailedPrecondition(
                "the person this write named was erased after it: nothing is replayed or written",
                code="SUBJECT_ERASED",
            )
        asked = stored["request_sha256"]
        if stored["method"] != key.method or asked not in (key.request_sha256, key.earlier_sha256):
            raise InvalidInput("idempotency-key", "was already used with a different request")
        raise Replayed(stored["response"])

    async def complete(self, key: IdempotencyKey, response: bytes) -> None:
        await self._conn.execute(_K.update().where(*self._where(key)).values(response=response))

    async def release(self, key: IdempotencyKey) -> None:
        await self._conn.execute(_K.delete().where(*self._where(key)))


# What an erasure leaves of the stored answers naming the person (store/rights.py).
FORGET = """
UPDATE idempotency_keys SET response = $4, request_sha256 = '\\x'::bytea
WHERE tenant_id = $1 AND (position($2 IN response) > 0
  OR (method = '/consent.v1.CookieService/RecordCookieChoice'
    AND EXISTS (SELECT FROM unnest($3::bytea[]) AS n WHERE position(n IN response) > 0)))
"""


def visitor_field(visitor_id: str) -> bytes:
    """CookieChoice.visitor_id (field 2, length-delimited) as protobuf writes it: a visitor
    id is 16 to 64 ASCII characters, so its length is one byte."""
    value = visitor_id.encode()
    return b"\x12" + bytes([len(value)]) + value
