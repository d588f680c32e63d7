"""A write batch's reads and writes, every tenant's part in one statement each (migration 0018:
consentd_batch_reads, restated by 0038, and consentd_batch_writes, the latter's overload of
0033). Each part travels as a slice of flat arrays, its length in a `*_counts` array, the
tenants in the order given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from consentd.app.ports import IdentifiersTaken, PartQuery, PartRead, PartWrite
from consentd.domain.contact_points import Closed, merged
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import ConsentEvent
from consentd.domain.rights import BlockKind
from consentd.store.catalog import purpose_of
from consentd.store.consents import event_columns, event_of
from consentd.store.driver import Driver
from consentd.store.subjects import LOCK_POINTS

_READS = "SELECT * FROM consentd_batch_reads($1, $2, $3, $4, $5, $6)"
_WRITES = """
SELECT * FROM consentd_batch_writes(
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25, $26, $27, $28, $29
)
"""
# consentd_batch_writes' refusal: an identifier of the batch was linked by another writer first.
TAKEN_STATE = "CDP02"


async def read_parts(raw: Driver, parts: Sequence[PartQuery]) -> list[PartRead]:
    """Every part's purposes, owners with their data keys, and notice versions, in one round
    trip; the transaction is left inside the last part's tenant."""
    rows = await raw.fetch(
        _READS,
        [p.tenant_id for p in parts],
        [len(p.purpose_ids) for p in parts],
        list(chain.from_iterable(p.purpose_ids for p in parts)),
        [len(p.digests) for p in parts],
        [kind.value for p in parts for kind, _ in p.digests],
        [digest for p in parts for _, digest in p.digests],
    )
    read = {p.tenant_id: PartRead({}, {}) for p in parts}
    for row in rows:
        _take(read[row["o_tenant"]], row)
    for part in read.values():  # a notice without versions has none to name
        for purpose in part.purposes.values():
            if purpose.notice_id is not None:
                part.versions.setdefault(purpose.notice_id, set())
    return [read[p.tenant_id] for p in parts]


def _take(part: PartRead, row: Any) -> None:
    """One row of consentd_batch_reads into its tenant's part."""
    if row["o_purpose"] is not None:
        purpose = purpose_of(row["o_purpose"])
        part.purposes[purpose.purpose_id] = purpose
    elif row["o_kind"] is not None and row["o_subject"] is None:
        key = (IdentifierKind(row["o_kind"]), row["o_digest"])
        if row["o_reason"] == "refused":  # for some targets (0048)
            part.refusing.add(key)
            return
        closed = Closed(BlockKind(row["o_reason"]), row["o_objected"])
        part.closed[key] = merged(part.closed.get(key), closed)
    elif row["o_kind"] is not None and row["o_reason"] is not None:
        part.holding_closed.add(row["o_subject"])
    elif row["o_kind"] is not None:
        subject_id = row["o_subject"]
        part.owners[IdentifierKind(row["o_kind"]), row["o_digest"]] = subject_id
        if row["o_key"] is not None:
            part.keys[subject_id] = bytes(row["o_key"])
    elif row["o_objected"] is not None:
        part.objections[row["o_subject"]] = row["o_objected"]
    else:
        part.versions[row["o_notice"]] = set(row["o_versions"])
        if row["o_floor"] is not None:
            part.floors[row["o_notice"]] = row["o_floor"]


async def write_parts(raw: Driver, parts: Sequence[PartWrite], now: datetime) -> list[ConsentEvent]:
    """Every part's new subjects (their identifiers linked in digest order: two batches linking
    the same identifiers wait for each other in one order) and events, in one round trip.
    IdentifiersTaken when another writer linked one of the identifiers first."""
    links = [
        sorted((d, sealed, s.subject_id) for s in p.created for d, sealed in s.identifiers)
        for p in parts
    ]
    events = [event_columns(e) for p in parts for e in p.events]
    # One array per value of event_columns (18), empty when no part has events. A record with a
    # decided_at never comes here (app/grouped_writes.py runs it alone): the events' decided_at
    # are written by SqlConsents.append only.
    columns = [list(c) for c in zip(*events, strict=True)] if events else [[]] * 18
    await _lock_several(raw, parts)
    try:
        rows = await raw.fetch(
            _WRITES,
            [p.tenant_id for p in parts],
            now,
            [len(p.created) for p in parts],
            [s.subject_id for p in parts for s in p.created],
            [s.wrapped_key for p in parts for s in p.created],
            [len(mine) for mine in links],
            [kind.value for mine in links for (kind, _), _, _ in mine],
            [digest for mine in links for (_, digest), _, _ in mine],
            [subject_id for mine in links for _, _, subject_id in mine],
            [sealed for mine in links for _, sealed, _ in mine],
            [len(p.events) for p in parts],
            *columns,
        )
    except Exception as error:
        if getattr(error, "sqlstate", None) == TAKEN_STATE:
            raise IdentifiersTaken from error
        raise
    return [event_of(row) for row in rows]


async def _lock_several(raw: Driver, parts: Sequence[PartWrite]) -> None:
    """The locks of the contact points of each subject made with several, as the one-call path
    takes them (app/subjects.py): one linking them beside the batch found one taken by it and
    was refused IDENTIFIERS_OF_TWO_SUBJECTS (probe DY)."""
    several = [
        (p.tenant_id, d)
        for p in parts
        for s in p.created
        if len(s.identifiers) > 1
        for d, _ in s.identifiers
    ]
    if several:
        tenants, kinds = [t for t, _ in several], [k.value for _, (k, _) in several]
        await raw.execute(LOCK_POINTS, tenants, kinds, [v for _, (_, v) in several])
