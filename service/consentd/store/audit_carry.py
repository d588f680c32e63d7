"""What retention logs again before it prunes a segment of the audit log (app/retention.py):
every word still standing whose entries are all in that segment, so the log a year on still
proves what decides a check and what the person asked for.

Consent facts in force (the latest event of each current state) are logged again as
`consent.carried`, with the payload and fact id of a consent entry. The other standing words
are carried as `audit.entry_carried`, holding the entry as it was (its `seq`, `action`,
`recorded_at` and `payload`; a carried entry is carried again as the one it holds) with its
subject and fact id: a restriction or objection in force, an erasure, every notice version
published, the latest definition of each purpose, of each cookie policy revision and of the
retention settings, and the latest transition of each rights request on record. A year on,
the log proved none of those (probe CD: an objection in force, the erasure, how the person's
requests were answered, the notice text's hash were all gone from it). Neither is on the
change feed (store/sequencer.py FEED_ACTIONS): nothing changed.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from consentd.store.driver import Driver, affected

CARRIED = "audit.entry_carried"
# Retention pruned the log up to a signed checkpoint: facts recorded until then may have had
# their entries there (store/audit_facts.py, store/audit_rights.py).
PRUNED = """pruned AS (
    SELECT k.signed_at AS until FROM audit_heads h
    JOIN audit_checkpoints k ON k.tenant_id = h.tenant_id AND k.seq = h.pruned_through
    WHERE h.tenant_id = $1
)"""
# The tenant's entries as they were logged, a carried one as the entry it holds (at its own
# seq): what audit verify compares a block or a rights request with (store/audit_facts.py).
AS_LOGGED = f"""as_logged AS (
    SELECT a.seq, a.fact_id, a.subject_id,
        CASE WHEN a.action = '{CARRIED}' THEN a.payload->>'action' ELSE a.action END AS action,
        CASE WHEN a.action = '{CARRIED}' THEN (a.payload->>'recorded_at')::timestamptz
            ELSE a.recorded_at END AS recorded_at,
        CASE WHEN a.action = '{CARRIED}' THEN a.payload->'payload' ELSE a.payload END AS payload
    FROM audit_entries a WHERE a.tenant_id = $1
)"""  # noqa: S608 - only this module's constant is interpolated, no input

_CONSENTS = """
INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
SELECT e.tenant_id, 'consent.carried', $3, e.subject_id, e.event_id, consentd_event_payload(e)
FROM current_consents c
JOIN consent_events e ON e.tenant_id = c.tenant_id AND e.event_id = c.event_id
WHERE c.tenant_id = $1
  AND NOT EXISTS (
    SELECT 1 FROM audit_entries a WHERE a.tenant_id = $1 AND a.fact_id = e.event_id AND a.seq > $2
  )
  AND NOT EXISTS (SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.fact_id = e.event_id)
ORDER BY c.sequence
"""

# Each entry of the kinds carried, as the entry it holds when it is a carried one (its first
# `seq`); keyed by what a later entry of its kind replaces; the latest of its key and the newest
# copy of its first entry.
_ENTRIES = """
WITH logged AS (
    SELECT a.seq, a.subject_id, a.fact_id, a.action = 'audit.entry_carried' AS copy, a.action,
        a.payload, a.recorded_at
    FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.action IN (
        'subject.restricted', 'subject.objected', 'subject.erased', 'catalog.notice_published',
        'catalog.purpose_put', 'cookies.policy_put', 'retention.settings_put',
        'rights_request.transitioned', 'audit.entry_carried')
), held AS (
    SELECT l.seq, l.subject_id, l.fact_id,
        CASE WHEN l.copy THEN l.payload->>'action' ELSE l.action END AS action,
        CASE WHEN l.copy THEN l.payload->'payload' ELSE l.payload END AS payload,
        CASE WHEN l.copy THEN (l.payload->>'seq')::bigint ELSE l.seq END AS first_seq,
        CASE WHEN l.copy THEN l.payload->>'recorded_at'
            ELSE to_char(l.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        END AS first_at
    FROM logged l
), keyed AS (
    SELECT h.*, CASE h.action
            WHEN 'catalog.purpose_put' THEN h.payload->>'purpose'
            WHEN 'cookies.policy_put' THEN h.payload->>'revision'
            WHEN 'rights_request.transitioned' THEN h.payload->>'request_id'
            WHEN 'retention.settings_put' THEN ''
        END AS key
    FROM held h
), ranked AS (
    SELECT k.*, max(k.seq) OVER (PARTITION BY k.action, k.key) AS latest,
        max(k.seq) OVER (PARTITION BY k.first_seq) AS newest
    FROM keyed k
)
INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
SELECT $1, 'audit.entry_carried', $3, r.subject_id, r.fact_id, jsonb_build_object(
    'seq', r.first_seq, 'action', r.action, 'recorded_at', r.first_at, 'payload', r.payload)
FROM ranked r
WHERE r.seq = r.newest AND r.newest <= $2
  AND CASE
    WHEN r.action IN ('subject.restricted', 'subject.objected') THEN EXISTS (
        SELECT 1 FROM subject_blocks b
        WHERE b.tenant_id = $1 AND b.block_id = r.fact_id AND b.lifted_at IS NULL)
    WHEN r.action IN ('subject.erased', 'catalog.notice_published') THEN true
    WHEN r.action = 'rights_request.transitioned' THEN r.seq = r.latest AND EXISTS (
        SELECT 1 FROM rights_requests q WHERE q.tenant_id = $1 AND q.request_id::text = r.key)
    ELSE r.seq = r.latest
  END
ORDER BY r.seq
"""


async def carry_forward(raw: Driver, tenant_id: UUID, through: int, at: datetime) -> int:
    """Queue the standing words whose entries are all through `through`; how many."""
    consents = affected(await raw.execute(_CONSENTS, tenant_id, through, at))
    return consents + affected(await raw.execute(_ENTRIES, tenant_id, through, at))
