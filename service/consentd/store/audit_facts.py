"""The facts against the log: each fact row recomputed as its entry, compared in SQL.

A consent event's entry holds consentd_event_payload(event) and a cookie choice's
consentd_cookie_choice_payload(choice) (migration 0009), so the same functions recompute them
from the fact tables now. Each query names what differs: a fact row whose entry says otherwise,
a fact row with no entry (and not queued: those are `pending`), an entry whose fact row is gone,
an entry for a fact that already has one, a current-state row that is not the latest event of
its key, a block (restriction, objection) whose row is not what its entries say, and a rights
request whose row is not what its latest transition entry says. Events
written before 0009 are covered by the event lists of format-1 entries.

Facts recorded before the signed checkpoint where retention pruned the log may have had their
entries in the pruned part: they are not reported as missing. Those still in force were logged
again (`consent.carried`) before the prune, and are compared with that entry. Cookie choices
leave the table by design (the cookie purge, erasure): an entry whose choice is gone is
accounted for when a later `cookies.purged` entry's cutoff is past the choice's expiry, or its
subject was erased, or a later erasure took its visitor too.
"""

from __future__ import annotations

from uuid import UUID

from consentd.domain.proofs import FactCheck, FactProblem
from consentd.store.audit_carry import AS_LOGGED, CARRIED, PRUNED
from consentd.store.audit_catalog import NOTICES, PURPOSES
from consentd.store.audit_pins import check_pins
from consentd.store.audit_rights import COOKIE_SUBJECTS, ERASURES, RIGHTS, SUPPRESSIONS
from consentd.store.deadlines import remaining_milliseconds
from consentd.store.driver import Driver

_CONSENT = "('consent.recorded', 'consent.withdrawn')"
# A fact in force logged again before a prune (store/audit.py _CARRY): compared as its first.
_CARRIED = "'consent.carried'"
_LIFTED = "'subject.restriction_lifted'"
_BLOCK_ACTIONS = f"('subject.restricted', 'subject.objected', {_LIFTED})"
# Retention pruned the log up to a signed checkpoint: facts recorded until then may have had
# their entries there.

_EVENTS = f"""
WITH v1 AS (
    SELECT (x->>'event_id')::uuid AS event_id, x->>'state' AS state, x->>'purpose' AS purpose,
        x->>'channel' AS channel, x->>'scope' AS scope, a.seq
    FROM audit_entries a CROSS JOIN jsonb_array_elements(a.payload->'events') AS x
    WHERE a.tenant_id = $1 AND a.format = 1 AND a.action IN {_CONSENT}
), logged AS (
    SELECT a.seq, a.fact_id, a.payload, a.action, a.subject_id FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.format = 2
      AND (a.action IN {_CONSENT} OR a.action = {_CARRIED})
), {PRUNED}
SELECT 'consent_events' AS fact_table, e.event_id AS fact_id, coalesce(l.seq, v.seq) AS seq,
    CASE
        WHEN l.seq IS NOT NULL THEN 'differs from its log entry'
        WHEN v.seq IS NOT NULL THEN 'differs from its (format 1) log entry'
        ELSE 'is not in the log'
    END AS problem
FROM consent_events e
LEFT JOIN logged l ON l.fact_id = e.event_id
LEFT JOIN v1 v ON v.event_id = e.event_id
WHERE e.tenant_id = $1
  AND NOT EXISTS (SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.fact_id = e.event_id)
  AND CASE
    WHEN l.seq IS NOT NULL THEN l.payload IS DISTINCT FROM consentd_event_payload(e)
        OR l.action NOT IN (consentd_event_action(e.state), {_CARRIED})
        OR l.subject_id IS DISTINCT FROM e.subject_id
    WHEN v.seq IS NOT NULL THEN (v.state, v.purpose, v.channel, v.scope)
        IS DISTINCT FROM (e.state, e.purpose_id, e.channel, e.scope)
    ELSE NOT EXISTS (SELECT 1 FROM pruned p WHERE e.recorded_at <= p.until)
  END
UNION ALL
SELECT 'consent_events', l.fact_id, l.seq, 'its log entry has no event (deleted?)'
FROM logged l
WHERE NOT EXISTS (
    SELECT 1 FROM consent_events e WHERE e.tenant_id = $1 AND e.event_id = l.fact_id
)
UNION ALL
SELECT 'consent_events', v.event_id, v.seq, 'its (format 1) log entry has no event (deleted?)'
FROM v1 v
WHERE NOT EXISTS (
    SELECT 1 FROM consent_events e WHERE e.tenant_id = $1 AND e.event_id = v.event_id
)
"""  # noqa: S608 - only this module's constants are interpolated, no input

_DUPLICATES = f"""
SELECT 'audit_entries' AS fact_table, fact_id, max(seq) AS seq,
    'has ' || count(*) || ' log entries' AS problem
FROM audit_entries WHERE tenant_id = $1 AND fact_id IS NOT NULL
  AND action NOT IN ({_CARRIED}, '{CARRIED}')
GROUP BY fact_id, action = {_LIFTED} HAVING count(*) > 1
"""  # noqa: S608 - only this module's constants are interpolated, no input

# A block (restriction, objection) is logged when put in force and, for a restriction, when
# lifted; since 0028 both entries carry the block's id as their fact. Earlier ones are matched
# by subject, action and time. A start must say the row's kind, subject, time and request; a
# lift the row's lift time; an entry with a block id must have its row.
_BLOCKS = f"""
WITH {PRUNED}, {AS_LOGGED}, logged AS (
    SELECT a.seq, a.fact_id, a.action, a.subject_id, a.recorded_at, a.payload
    FROM as_logged a WHERE a.action IN {_BLOCK_ACTIONS}
), facts AS (
    SELECT b.block_id, b.subject_id, b.since AS at, b.request_id::text AS request_id,
        CASE b.kind WHEN 'restricted' THEN 'subject.restricted' ELSE 'subject.objected' END
            AS action
    FROM subject_blocks b WHERE b.tenant_id = $1
    UNION ALL
    SELECT b.block_id, b.subject_id, b.lifted_at, NULL, {_LIFTED}
    FROM subject_blocks b WHERE b.tenant_id = $1 AND b.lifted_at IS NOT NULL
)
SELECT 'subject_blocks' AS fact_table, f.block_id AS fact_id, l.seq,
    CASE WHEN l.seq IS NULL THEN 'is not in the log' ELSE 'differs from its log entry' END
FROM facts f
LEFT JOIN logged l ON l.fact_id = f.block_id AND (l.action = {_LIFTED}) = (f.action = {_LIFTED})
WHERE NOT EXISTS (SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.fact_id = f.block_id)
  AND CASE WHEN l.seq IS NULL THEN NOT EXISTS (
        SELECT 1 FROM logged o WHERE o.fact_id IS NULL AND o.subject_id = f.subject_id
        AND o.action = f.action AND o.recorded_at = f.at
    ) AND NOT EXISTS (SELECT 1 FROM pruned p WHERE f.at <= p.until)
    ELSE (l.action, l.subject_id, l.recorded_at) IS DISTINCT FROM (f.action, f.subject_id, f.at)
      OR (f.action <> {_LIFTED} AND l.payload->>'request_id' IS DISTINCT FROM f.request_id)
  END
UNION ALL
-- no call lifts an objection: a lift of one, even with a forged entry queued, is tampering
SELECT 'subject_blocks', b.block_id, NULL, 'is an objection marked lifted (none is ever lifted)'
FROM subject_blocks b WHERE b.tenant_id = $1 AND b.kind = 'objected' AND b.lifted_at IS NOT NULL
UNION ALL
SELECT 'subject_blocks', l.fact_id, l.seq, 'its log entry has no block (deleted?)'
FROM logged l
WHERE l.fact_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM facts f
    WHERE f.block_id = l.fact_id AND (l.action = {_LIFTED}) = (f.action = {_LIFTED})
)
"""  # noqa: S608 - only this module's constants are interpolated, no input

# The change feed against the log (the feed is a promise too: gap-free, in the log's order,
# every change once): positions 1..head with none missing or extra; every change the log
# holds since its entries name their fact (consent events; blocks since 0028) at a position,
# the right one (a block's start or lift); positions in the log's order.
_FEED = f"""
WITH fed AS (
    SELECT a.seq, a.fact_id, a.action = {_LIFTED} AS lifted, a.action IN {_CONSENT} AS event
    FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.format = 2 AND a.fact_id IS NOT NULL
      AND (a.action IN {_CONSENT} OR a.action IN {_BLOCK_ACTIONS})
), placed AS (
    SELECT f.seq, f.fact_id, coalesce(e.position, b.position) AS position FROM fed f
    LEFT JOIN consent_changes e ON f.event AND e.tenant_id = $1 AND e.event_id = f.fact_id
    LEFT JOIN consent_changes b ON NOT f.event AND b.tenant_id = $1 AND b.block_id = f.fact_id
        AND b.block_lifted = f.lifted
), ordered AS (
    -- BETWEEN ... AND 1 PRECEDING: a running max (EXCLUDE CURRENT ROW recomputed the frame for
    -- every row: 50,000 events took 3 minutes instead of 5 s; probe Z)
    SELECT p.*, max(p.position) OVER (
        ORDER BY p.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS before FROM placed p WHERE p.position IS NOT NULL
)
SELECT 'consent_changes' AS fact_table, NULL::uuid AS fact_id, NULL::bigint AS seq,
    'positions 1 to ' || coalesce(h.last_position, 0) || ' hold ' || count(c.position)
        || ' changes, the last at ' || coalesce(max(c.position), 0) AS problem
FROM (SELECT 1) AS one
LEFT JOIN consent_change_heads h ON h.tenant_id = $1
LEFT JOIN consent_changes c ON c.tenant_id = $1
GROUP BY h.last_position
HAVING count(c.position) <> coalesce(h.last_position, 0)
    OR coalesce(max(c.position), 0) <> coalesce(h.last_position, 0)
UNION ALL
SELECT 'consent_changes', p.fact_id, p.seq, 'is not on the change feed'
FROM placed p WHERE p.position IS NULL
  AND NOT EXISTS (SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.fact_id = p.fact_id)
UNION ALL
SELECT 'consent_changes', o.fact_id, o.seq, 'is on the change feed before a change logged earlier'
FROM ordered o WHERE o.position < o.before
"""  # noqa: S608 - only this module's constants are interpolated, no input

# The projection is each key's latest event, which is also its newest: writers append an event
# only when it is not older than the key's latest (a write dated before it is superseded), so
# one that is was written around them (probe GA: a grant dated a month back, appended after a
# withdrawal as the runtime role, answered ALLOW and verified ok).
_PROJECTION = """
WITH keyed AS (
    SELECT *, max(recorded_at) OVER (PARTITION BY subject_id, purpose_id, channel, scope)
        AS newest
    FROM consent_events WHERE tenant_id = $1
), latest AS (
    SELECT DISTINCT ON (subject_id, purpose_id, channel, scope) * FROM keyed
    ORDER BY subject_id, purpose_id, channel, scope, sequence DESC
)
SELECT 'current_consents' AS fact_table, coalesce(c.event_id, l.event_id) AS fact_id,
    NULL::bigint AS seq,
    CASE WHEN l.event_id IS NULL THEN 'has no event of its key'
         WHEN c.event_id IS NULL THEN 'is missing the latest event of its key'
         WHEN l.recorded_at < l.newest
         THEN 'its latest event is dated before an earlier one of its key (backdated?)'
         ELSE 'differs from the latest event of its key' END AS problem
FROM latest l
FULL JOIN (SELECT * FROM current_consents WHERE tenant_id = $1) c
    ON (c.subject_id, c.purpose_id, c.channel, c.scope)
     = (l.subject_id, l.purpose_id, l.channel, l.scope)
WHERE c.event_id IS NULL OR l.event_id IS NULL OR l.recorded_at < l.newest
   OR (c.state, c.event_id, c.sequence, c.notice_version, c.valid_until, c.updated_at)
      IS DISTINCT FROM
      (l.state, l.event_id, l.sequence, l.notice_version, l.valid_until, l.recorded_at)
"""

_COOKIES = f"""
WITH {PRUNED}, logged AS (
    SELECT a.seq, a.fact_id, a.payload, a.subject_id FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.format = 2 AND a.action = 'cookies.choice_recorded'
), purged AS (
    SELECT max((a.payload->>'cutoff')::timestamptz) AS cutoff FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.action = 'cookies.purged'
), gone AS MATERIALIZED (
    -- First (asked of every logged choice, the erasures after it took 212 s; probe UD).
    SELECT l.* FROM logged l
    WHERE NOT EXISTS (
        SELECT 1 FROM cookie_choices c WHERE c.tenant_id = $1 AND c.choice_id = l.fact_id
    )
), erasures AS MATERIALIZED (
    SELECT x.seq, x.subject_id, x.payload FROM audit_entries x
    WHERE x.tenant_id = $1 AND x.action = 'subject.erased'
)
SELECT 'cookie_choices' AS fact_table, c.choice_id AS fact_id, l.seq,
    CASE WHEN l.seq IS NULL THEN 'is not in the log' ELSE 'differs from its log entry' END
FROM cookie_choices c LEFT JOIN logged l ON l.fact_id = c.choice_id
WHERE c.tenant_id = $1
  AND NOT EXISTS (SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.fact_id = c.choice_id)
  AND NOT (l.seq IS NULL AND EXISTS (SELECT 1 FROM pruned p WHERE c.recorded_at <= p.until))
  AND (l.seq IS NULL OR l.payload IS DISTINCT FROM consentd_cookie_choice_payload(c))
UNION ALL
SELECT 'cookie_choices', l.fact_id, l.seq, 'its log entry has no choice (deleted?)'
FROM gone l CROSS JOIN purged p
WHERE NOT coalesce((l.payload->>'expires_at')::timestamptz <= p.cutoff, false)
  -- Its person's erasure logged after it, or queued (erased_at alone hid a delete; probe WB).
  AND NOT EXISTS (SELECT 1 FROM erasures x WHERE x.seq > l.seq AND x.subject_id = l.subject_id)
  AND NOT EXISTS (
    SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1 AND q.action = 'subject.erased'
      AND q.subject_id = l.subject_id
) AND NOT EXISTS (  -- an erasure that names it (a visitor's choice, kept or made again)
    SELECT 1 FROM erasures x
    WHERE x.seq > l.seq AND x.payload->'cookie_choices_erased' ? l.fact_id::text
) AND NOT (
    -- erased with a visitor linked after the choice, the visitor gone with it: a guess kept
    -- for erasures logged before they listed their choices (any later erasure let the owner
    -- delete a choice and its visitor unseen; probe FJ)
    EXISTS (SELECT 1 FROM erasures x
            WHERE x.seq > l.seq AND NOT x.payload ? 'cookie_choices_erased')
    AND NOT EXISTS (SELECT 1 FROM cookie_visitors v WHERE v.tenant_id = $1
                    AND encode(sha256(convert_to(v.visitor_id, 'UTF8')), 'hex')
                        = l.payload->>'visitor_sha256')
)
"""  # noqa: S608 - only this module's constants are interpolated, no input

_COUNTS = """
SELECT (SELECT count(*) FROM consent_events WHERE tenant_id = $1)
     + (SELECT count(*) FROM cookie_choices WHERE tenant_id = $1)
     + (SELECT count(*) FROM rights_requests WHERE tenant_id = $1)
     + (SELECT count(*) FROM subject_blocks WHERE tenant_id = $1) AS facts,
       (SELECT count(*) FROM audit_queue WHERE tenant_id = $1) AS pending
"""


_CHECKS = tuple(
    f"SELECT * FROM ({query}) AS p ORDER BY 2 LIMIT $2"  # noqa: S608 - constants only
    for query in (
        _EVENTS,
        _DUPLICATES,
        _BLOCKS,
        _FEED,
        _PROJECTION,
        _COOKIES,
        COOKIE_SUBJECTS,
        RIGHTS,
        ERASURES,
        SUPPRESSIONS,
        PURPOSES,
        NOTICES,
    )
)


# These statements read the tenant's fact tables whole: past one statement's ceiling
# (CONSENTD_DB_TIMEOUT_SECONDS) once a tenant holds a few hundred thousand facts (430,000
# entries: 20 s; `audit verify` ended in a TimeoutError traceback, the RPC whatever its
# deadline). They get the call's deadline instead, or this when it has none (the CLI).
LONG_READ_SECONDS = 600.0
_LONG = "SELECT set_config('statement_timeout', $1, true)"


async def check_facts(raw: Driver, tenant_id: UUID, limit: int) -> FactCheck:
    """Every fact problem of the tenant (the first `limit` of each kind), with the counts."""
    wait = remaining_milliseconds() or int(LONG_READ_SECONDS * 1000)
    seconds = wait / 1000
    await raw.execute(_LONG, str(wait), timeout=seconds)  # this transaction's statements only
    problems = await check_pins(raw, timeout=seconds)
    for query in _CHECKS:
        rows = await raw.fetch(query, tenant_id, limit, timeout=seconds)
        problems += [
            FactProblem(r[0], r[1], int(r[2]) if r[2] is not None else None, r[3]) for r in rows
        ]
    counts = await raw.fetchrow(_COUNTS, tenant_id, timeout=seconds)
    return FactCheck(int(counts["facts"]), int(counts["pending"]), tuple(problems))
