"""The contact points only the person takes back (domain/contact_points.Closed): erased at their
request (the erasure's suppression), or left by a holder who objected (a holding that ended while
its subject's objection was in force, or after they withdrew everything on every channel or on
one the contact point reaches: a STOP; docs/contact-points.md, rule 2). Read by the one-call write
path (app/standing.py) and by imports (app/importing.py); the grouped write path reads the same
in its batch read (migration 0038)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from consentd.app.ports import Digest
from consentd.domain.contact_points import Closed, merged
from consentd.domain.identifiers import IdentifierKind
from consentd.domain.model import Channel, PartyScope, Target
from consentd.domain.rights import BlockKind
from consentd.store.driver import Driver

# A subject's own ended holding of a contact point it holds again is not another holder's.
_CLOSED = """
WITH named AS (SELECT * FROM unnest($2::text[], $3::bytea[]) AS n(kind, digest)),
left_ AS (
  SELECT h.* FROM contact_point_holdings h
  WHERE h.tenant_id = $1 AND h.held_until IS NOT NULL
    AND (h.kind, h.digest) IN (SELECT * FROM named)
    AND NOT EXISTS (
      SELECT FROM contact_point_holdings o
      WHERE o.tenant_id = h.tenant_id AND o.kind = h.kind AND o.digest = h.digest
        AND o.held_until IS NULL AND o.subject_id = h.subject_id))
SELECT s.kind, s.digest, 'erased' AS reason, s.created_at AS at, NULL AS purpose_id,
    NULL AS channel, NULL AS scope
FROM suppressions s
WHERE s.tenant_id = $1 AND s.reason = 'erased' AND (s.kind, s.digest) IN (SELECT * FROM named)
UNION ALL
-- Left by a holder whose own latest word on a target was a "no" by then (migration 0048):
-- closed for that target.
SELECT h.kind, h.digest, 'refused', max(h.held_until), n.purpose_id, n.channel, n.scope
FROM left_ h
CROSS JOIN LATERAL consentd_persons_nos(h.tenant_id, h.subject_id, h.held_until, 'infinity') n
GROUP BY h.kind, h.digest, n.purpose_id, n.channel, n.scope
UNION ALL
-- Left by a holder who had withdrawn everything themselves (in person: a STOP of their own):
-- taken back target by target, as their own STOP would be (probe DS).
-- On its channel only (an SMS STOP says nothing of calls; probe DU).
SELECT h.kind, h.digest, 'stopped', max(h.held_until), NULL, e.channel, NULL
FROM left_ h
JOIN consent_events e
  ON e.tenant_id = h.tenant_id AND e.subject_id = h.subject_id AND e.purpose_id = '*'
 AND e.state = 'withdrawn' AND e.recorded_at <= h.held_until
 AND e.source IN ('portal', 'banner', 'support')
 AND (e.channel = '*' OR (h.kind, e.channel) IN (
   ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
GROUP BY h.kind, h.digest, e.channel
UNION ALL
-- Left by a holder whose objection was in force then, or who had withdrawn everything (of every
-- channel or of one the contact point reaches: a STOP) by then.
SELECT h.kind, h.digest, 'objected', max(h.held_until), NULL, NULL, NULL
FROM left_ h
WHERE EXISTS (
    SELECT FROM subject_blocks b
    WHERE b.tenant_id = h.tenant_id AND b.subject_id = h.subject_id AND b.kind = 'objected'
      AND b.since <= h.held_until AND (b.lifted_at IS NULL OR b.lifted_at > h.held_until)
  ) OR EXISTS (
    SELECT FROM consent_events e
    WHERE e.tenant_id = h.tenant_id AND e.subject_id = h.subject_id AND e.purpose_id = '*'
      AND e.state = 'withdrawn' AND e.recorded_at <= h.held_until
      AND (e.channel = '*' OR (h.kind, e.channel) IN (
        ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call'))))
GROUP BY h.kind, h.digest
"""


async def closed_points(
    raw: Driver, tenant_id: UUID, digests: Sequence[Digest]
) -> dict[Digest, Closed]:
    """Each of the contact points that only the person takes back, why and since when; an
    erasure wins over an objection left on the same contact point, and either over the
    targets an earlier holder's own "no" closed (Closed.targets)."""
    if not digests:
        return {}
    kinds, values = _columns(digests)
    found: dict[Digest, Closed] = {}
    for m in await raw.fetch(_CLOSED, tenant_id, kinds, values):
        key = (IdentifierKind(m["kind"]), bytes(m["digest"]))
        found[key] = merged(found.get(key), _closed_of(m))
    return found


def _closed_of(m: Any) -> Closed:
    """One row of _CLOSED."""
    if m["reason"] == "stopped":
        return Closed(BlockKind.OBJECTED, m["at"], per_target=frozenset({Channel(m["channel"])}))
    if m["reason"] != "refused":
        return Closed(BlockKind(m["reason"]), m["at"])
    target = Target(m["purpose_id"], Channel(m["channel"]), PartyScope(m["scope"]))
    return Closed(BlockKind.OBJECTED, m["at"], frozenset({target}), whole=False)


# When one of these contact points last left a subject that holds none of them now (an earlier
# holder of it: not the subject a record naming them lands on).
_HANDED_OVER = """
WITH named AS (SELECT * FROM unnest($2::text[], $3::bytea[]) AS n(kind, digest))
SELECT max(h.held_until) AS at FROM contact_point_holdings h
WHERE h.tenant_id = $1 AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (SELECT * FROM named)
  AND NOT EXISTS (
    SELECT FROM subject_identifiers i
    WHERE i.tenant_id = h.tenant_id AND i.subject_id = h.subject_id
      AND (i.kind, i.digest) IN (SELECT * FROM named))
"""


# Whether, at $4, one of these contact points was held by a subject that holds one of them now.
_HELD_THEN = """
WITH named AS (SELECT * FROM unnest($2::text[], $3::bytea[]) AS n(kind, digest))
SELECT EXISTS (
  SELECT FROM contact_point_holdings h
  WHERE h.tenant_id = $1 AND (h.kind, h.digest) IN (SELECT * FROM named)
    AND h.held_from <= $4 AND (h.held_until IS NULL OR h.held_until > $4)
    AND h.subject_id IN (
      SELECT i.subject_id FROM subject_identifiers i
      WHERE i.tenant_id = $1 AND (i.kind, i.digest) IN (SELECT * FROM named))
) AS held
"""


async def handed_over(
    raw: Driver, tenant_id: UUID, digests: Sequence[Digest], decided: datetime
) -> datetime | None:
    """When one of these contact points last left a subject that holds none of them now;
    None when none did, or when the subject that holds them now held one of them at `decided`
    already (a record naming its own address beside one it took over since is its word)."""
    if not digests:
        return None
    kinds, values = _columns(digests)
    rows = await raw.fetch(_HANDED_OVER, tenant_id, kinds, values)
    found: datetime | None = rows[0]["at"]
    if found is None or found < decided:
        return found
    held = await raw.fetch(_HELD_THEN, tenant_id, kinds, values, decided)
    return None if held[0]["held"] else found


# Who held these contact points at $4; when nobody did, the first subject to hold one after.
_HOLDERS_THEN = """
WITH h AS (
  SELECT subject_id, held_from, held_until FROM contact_point_holdings
  WHERE tenant_id = $1 AND (kind, digest) IN (SELECT * FROM unnest($2::text[], $3::bytea[]))
), then_ AS (
  SELECT DISTINCT subject_id FROM h
  WHERE held_from <= $4 AND (held_until IS NULL OR held_until > $4)
)
SELECT subject_id FROM then_
UNION ALL
(SELECT subject_id FROM h WHERE held_from > $4 AND NOT EXISTS (SELECT FROM then_)
 ORDER BY held_from LIMIT 1)
"""


async def holders_then(
    raw: Driver, tenant_id: UUID, digests: Sequence[Digest], decided: datetime
) -> set[UUID]:
    """The subjects that held these contact points at `decided`; when nobody did, the first to
    hold one of them after (whose word a choice decided then most likely is)."""
    if not digests:
        return set()
    kinds, values = _columns(digests)
    return {
        m["subject_id"] for m in await raw.fetch(_HOLDERS_THEN, tenant_id, kinds, values, decided)
    }


# Per contact point: when it last left a subject that does not hold it now.
_HANDED_OVER_EACH = """
SELECT h.kind, h.digest, max(h.held_until) AS at FROM contact_point_holdings h
WHERE h.tenant_id = $1 AND h.held_until IS NOT NULL
  AND (h.kind, h.digest) IN (SELECT * FROM unnest($2::text[], $3::bytea[]))
  AND NOT EXISTS (
    SELECT FROM subject_identifiers i
    WHERE i.tenant_id = h.tenant_id AND i.subject_id = h.subject_id AND i.kind = h.kind
      AND i.digest = h.digest)
GROUP BY h.kind, h.digest
"""


async def handed_over_each(
    raw: Driver, tenant_id: UUID, digests: Sequence[Digest]
) -> dict[Digest, datetime]:
    """For each of these contact points that changed hands, when it last left a subject that
    does not hold it now (what a row of the import naming it alone lands on)."""
    if not digests:
        return {}
    kinds, values = _columns(digests)
    rows = await raw.fetch(_HANDED_OVER_EACH, tenant_id, kinds, values)
    return {(IdentifierKind(m["kind"]), bytes(m["digest"])): m["at"] for m in rows}


_HELD = """
SELECT h.kind, h.digest, h.subject_id, coalesce((
    SELECT min(o.held_from) FROM contact_point_holdings o
    WHERE o.tenant_id = h.tenant_id AND o.kind = h.kind AND o.digest = h.digest
      AND o.subject_id = h.subject_id AND o.held_from >= n.since), h.held_from) AS held_from
FROM unnest($2::text[], $3::bytea[], $4::timestamptz[]) AS n(kind, digest, since)
JOIN contact_point_holdings h
  ON h.tenant_id = $1 AND h.held_until IS NULL AND h.kind = n.kind AND h.digest = n.digest
"""


async def open_holdings(
    raw: Driver, tenant_id: UUID, since: Mapping[Digest, datetime]
) -> dict[Digest, tuple[UUID, datetime]]:
    """Who holds each of these contact points now, and since when: their first holding from
    its `since` on (a customer who moved away and back since: the first; the latest read a
    grant given with it before the move as older than their holding, probe BR)."""
    if not since:
        return {}
    kinds, values = _columns(list(since))
    rows = await raw.fetch(_HELD, tenant_id, kinds, values, list(since.values()))
    return {
        (IdentifierKind(m["kind"]), bytes(m["digest"])): (m["subject_id"], m["held_from"])
        for m in rows
    }


# A subject's earlier contact points (a holding of theirs ended: RectifyContact) that nobody
# holds now and that are not suppressed already: the erasure closes them too.
_FORMER = """
SELECT DISTINCT h.kind, h.digest FROM contact_point_holdings h
WHERE h.tenant_id = $1 AND h.subject_id = $2 AND h.held_until IS NOT NULL
  AND NOT EXISTS (
    SELECT FROM contact_point_holdings o
    WHERE o.tenant_id = h.tenant_id AND o.kind = h.kind AND o.digest = h.digest
      AND o.held_until IS NULL)
  AND NOT EXISTS (
    SELECT FROM suppressions s
    WHERE s.tenant_id = h.tenant_id AND s.kind = h.kind AND s.digest = h.digest)
"""


async def former_points(raw: Driver, tenant_id: UUID, subject_id: UUID) -> list[Digest]:
    """The contact points the subject held before (rectified away) that nobody holds now and
    that are not suppressed already."""
    rows = await raw.fetch(_FORMER, tenant_id, subject_id)
    return [(IdentifierKind(m["kind"]), bytes(m["digest"])) for m in rows]


# The kinds of the contact points a subject holds now, taken after $3, that another subject held
# before: one the record names ($4, $5) only when that subject still held it at $3 (a point
# nobody held then is the record's word), one it does not name whenever.
_TAKEN_OVER = """
SELECT DISTINCT h.kind FROM contact_point_holdings h
WHERE h.tenant_id = $1 AND h.subject_id = $2 AND h.held_until IS NULL AND h.held_from > $3
  AND EXISTS (
    SELECT FROM contact_point_holdings o
    WHERE o.tenant_id = h.tenant_id AND o.kind = h.kind AND o.digest = h.digest
      AND o.subject_id <> h.subject_id AND o.held_until IS NOT NULL
      AND (o.held_until > $3
           OR (h.kind, h.digest) NOT IN (SELECT * FROM unnest($4::text[], $5::bytea[]))))
"""


async def taken_over(
    raw: Driver, tenant_id: UUID, subject_id: UUID, decided: datetime, named: Sequence[Digest]
) -> set[IdentifierKind]:
    """The kinds of the contact points the subject took over from another person after
    `decided` (RectifyContact): a grant decided then says nothing of them. A point the record
    names that nobody held at `decided` is its word (probe BN: one it does not name, vacant
    then and given to the subject since, was reopened by a late grant)."""
    kinds, values = _columns(named)
    rows = await raw.fetch(_TAKEN_OVER, tenant_id, subject_id, decided, kinds, values)
    return {IdentifierKind(m["kind"]) for m in rows}


_SUBJECTS_POINTS = """
SELECT subject_id, kind, digest FROM subject_identifiers
WHERE tenant_id = $1 AND subject_id = ANY($2::uuid[])
"""


async def held_closures(
    raw: Driver, tenant_id: UUID, subject_ids: Sequence[UUID]
) -> dict[UUID, dict[Digest, Closed]]:
    """For each of these subjects that holds contact points only the person takes back
    (closed_points), those contact points: why and since when."""
    if not subject_ids:
        return {}
    rows = await raw.fetch(_SUBJECTS_POINTS, tenant_id, list(subject_ids))
    holder = {(IdentifierKind(m["kind"]), bytes(m["digest"])): m["subject_id"] for m in rows}
    found: dict[UUID, dict[Digest, Closed]] = {}
    for digest, closed in (await closed_points(raw, tenant_id, list(holder))).items():
        found.setdefault(holder[digest], {})[digest] = closed
    return found


def _columns(digests: Sequence[Digest]) -> tuple[list[str], list[bytes]]:
    """Digests as the two arrays the statements unnest: their kinds, their values."""
    return [kind.value for kind, _ in digests], [digest for _, digest in digests]
