"""The rights of the person against the log, for `audit verify` (store/audit_facts.py): a
rights request's row is what its latest transition entry says, and an erasure the log holds
stands on its subject's row (probe CE: setting `erased_at` back to NULL as the database owner
undid an erasure, `audit verify` still ok, before and after retention carried its entry)."""

from __future__ import annotations

from consentd.store.audit_carry import AS_LOGGED, PRUNED

# A rights request's row is its latest transition: the latest `rights_request.transitioned`
# entry of the request must say its state, kind, subject, whether it was extended and its due
# date (then in force: the first or the extended one), since this version its extended date and
# when the person was told (which decides the one in force), and how the identity was verified;
# its receipt entry its receipt time and first due date; its verification entry when it was
# verified; the entry that closed it when it was closed (probe ID: a close a year late moved
# before its due date verified ok, closed_late false); and an entry must have its row (probe
# GA: a request deleted, or its dates moved, verified ok). Its outcome and the operator's words
# are not in the log (they may name the person): not compared.
RIGHTS = f"""
WITH {PRUNED}, {AS_LOGGED}, latest AS (
    SELECT DISTINCT ON (a.payload->>'request_id') a.payload->>'request_id' AS request_id,
        a.seq, a.payload
    FROM as_logged a WHERE a.action = 'rights_request.transitioned'
    ORDER BY a.payload->>'request_id', a.seq DESC
), receipts AS (
    SELECT a.payload->>'request_id' AS request_id, a.recorded_at, a.payload FROM as_logged a
    WHERE a.action = 'rights_request.transitioned' AND a.payload->>'from' IS NULL
), moves AS (  -- the entries that moved a request to another state (not a told, an extension)
    SELECT a.payload->>'request_id' AS request_id, a.payload->>'to' AS state, a.recorded_at
    FROM as_logged a WHERE a.action = 'rights_request.transitioned'
      AND a.payload->>'from' IS DISTINCT FROM a.payload->>'to'
)
SELECT 'rights_requests' AS fact_table, r.request_id AS fact_id, l.seq,
    CASE WHEN l.seq IS NULL THEN 'is not in the log'
         ELSE 'differs from its latest log entry' END AS problem
FROM rights_requests r LEFT JOIN latest l ON l.request_id = r.request_id::text
WHERE r.tenant_id = $1
  AND NOT EXISTS (
    SELECT 1 FROM audit_queue q WHERE q.tenant_id = $1
    AND q.action = 'rights_request.transitioned' AND q.payload->>'request_id' = r.request_id::text
  )
  AND CASE WHEN l.seq IS NULL THEN NOT EXISTS (SELECT 1 FROM pruned p WHERE r.updated_at <= p.until)
    ELSE (l.payload->>'to', l.payload->>'kind', l.payload->>'subject_id',
          (l.payload->>'extended')::boolean)
         IS DISTINCT FROM (r.state, r.kind, r.subject_id::text, r.extended_due_at IS NOT NULL)
      OR (l.payload->>'due_at')::timestamptz
         NOT IN (r.due_at, coalesce(r.extended_due_at, r.due_at))
      OR (l.payload ? 'extended_due_at'
          AND (l.payload->>'extended_due_at')::timestamptz IS DISTINCT FROM r.extended_due_at)
      OR (l.payload ? 'person_told_at'
          AND (l.payload->>'person_told_at')::timestamptz IS DISTINCT FROM r.person_told_at)
      OR EXISTS (SELECT 1 FROM receipts c WHERE c.request_id = r.request_id::text
                 AND (c.recorded_at IS DISTINCT FROM r.received_at
                      -- null before 0012 (its due date came with the identity check)
                      OR (c.payload->>'due_at')::timestamptz <> r.due_at))
      OR EXISTS (SELECT 1 FROM moves m WHERE m.request_id = r.request_id::text
                 AND CASE WHEN m.state = 'identity_verified'
                          THEN m.recorded_at IS DISTINCT FROM r.verified_at
                          WHEN m.state IN ('done', 'refused')
                          THEN m.recorded_at IS DISTINCT FROM r.closed_at END)
      OR (l.payload ? 'verification' AND l.payload->>'verification'
          IS DISTINCT FROM nullif(split_part(r.verification_method, ':', 1), ''))
  END
UNION ALL
SELECT 'rights_requests', l.request_id::uuid, l.seq, 'its log entry has no request (deleted?)'
FROM latest l
WHERE NOT EXISTS (
    SELECT 1 FROM rights_requests r WHERE r.tenant_id = $1 AND r.request_id::text = l.request_id
)
"""  # noqa: S608 - only this module's constants are interpolated, no input


ERASURES = f"""
WITH {AS_LOGGED}, erased AS (  -- erasures racing each other once logged one entry each
    SELECT a.subject_id, min(a.seq) AS seq, array_agg(a.recorded_at) AS times FROM as_logged a
    WHERE a.action = 'subject.erased' GROUP BY a.subject_id
)
SELECT 'subjects' AS fact_table, e.subject_id AS fact_id, e.seq,
    CASE WHEN s.subject_id IS NULL THEN 'its erasure entry has no subject (deleted?)'
         WHEN s.erased_at IS NULL THEN 'is not erased, though its log entry says it was'
         ELSE 'its erasure time differs from its log entries' END AS problem
FROM erased e LEFT JOIN subjects s ON s.tenant_id = $1 AND s.subject_id = e.subject_id
WHERE s.erased_at IS NULL OR s.erased_at <> ALL (e.times)
"""  # noqa: S608 - only this module's constants are interpolated, no input


# The contact points an erasure suppressed stay suppressed (the suppression list is never
# shortened): deleted, a system's grant made the erased person ALLOW again (probe ID).
# Erasures logged before they listed them are not compared.
SUPPRESSIONS = f"""
WITH {AS_LOGGED}
SELECT DISTINCT 'suppressions' AS fact_table, a.subject_id AS fact_id, a.seq,
    'a contact point its erasure suppressed is not suppressed (deleted?)' AS problem
FROM as_logged a CROSS JOIN LATERAL jsonb_array_elements_text(a.payload->'suppressed') x(point)
WHERE a.action = 'subject.erased'
  AND NOT EXISTS (
    SELECT 1 FROM suppressions s WHERE s.tenant_id = $1
    AND s.kind = split_part(x.point, ':', 1)
    AND s.digest = decode(split_part(x.point, ':', 2), 'hex')
  )
"""  # noqa: S608 - only this module's constants are interpolated, no input


# A cookie choice's person is its entry's, or else the one its visitor was first linked to
# after it (LinkVisitor attributes a visitor's unattributed choices; its entry names the
# visitor since this version): edited as the owner, a choice given to another person (their
# export, their erasure) or taken from one verified ok (probe ID). Not compared while a link
# is queued, nor past a link logged before its entries named the visitor.
COOKIE_SUBJECTS = """
WITH links AS (
    SELECT a.seq, a.subject_id, a.payload->>'visitor_sha256' AS visitor FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.action = 'cookies.visitor_linked'
), chosen AS (
    SELECT a.seq, a.fact_id, a.subject_id, a.payload->>'visitor_sha256' AS visitor
    FROM audit_entries a
    WHERE a.tenant_id = $1 AND a.format = 2 AND a.action = 'cookies.choice_recorded'
), unnamed AS (  -- the last link logged before its entries named the visitor
    SELECT coalesce(max(seq), 0) AS seq FROM links WHERE visitor IS NULL
), first_link AS (
    -- Each unattributed choice's first link after it, joined once: asked of each choice, the
    -- links were read again and again (19,600 choices, 16,450 links: 37 s; probe WB).
    SELECT DISTINCT ON (l.fact_id) l.fact_id, k.subject_id
    FROM chosen l JOIN links k ON k.visitor = l.visitor AND k.seq > l.seq
    WHERE l.subject_id IS NULL
    ORDER BY l.fact_id, k.seq
)
SELECT 'cookie_choices' AS fact_table, c.choice_id AS fact_id, l.seq,
    'its person differs from its log entries (its own, or its visitor''s link)' AS problem
FROM cookie_choices c JOIN chosen l ON l.fact_id = c.choice_id
CROSS JOIN unnamed u LEFT JOIN first_link f ON f.fact_id = l.fact_id
WHERE c.tenant_id = $1
  AND NOT EXISTS (SELECT 1 FROM audit_queue q
                  WHERE q.tenant_id = $1 AND q.action = 'cookies.visitor_linked')
  AND l.seq > u.seq
  AND c.subject_id IS DISTINCT FROM coalesce(l.subject_id, f.subject_id)
"""
