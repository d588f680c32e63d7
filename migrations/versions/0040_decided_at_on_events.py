"""A consent event keeps when the person decided (RecordConsent's decided_at), and a check
reads an earlier holder's refusal sent late as of then.

Why: a paper refusal of a contact point's earlier holder, decided while they held it and sent
late with its `decided_at`, is recorded on them (app/late_choices.py), but the check read an
earlier holder's facts "recorded by the time the contact point left them": the late event,
recorded after, did not count, and the address read ALLOW for its new holder's older "yes" (probe
BN; on time it read DENY). `consent_events.decided_at`: the caller's decided_at when it was
given and earlier than the write, NULL otherwise (and for every event written before). The
event's log entry covers it (`consentd_event_payload` adds `decided_at` when set, so entries
written before keep their hash). `consentd_append_events` gets an overload taking it (0037's
stays for the previous code). `consentd_check` reads each earlier holder's facts decided while
the contact point was theirs (a late one: `decided_at` before its holding ended, as
store/closed_points.py finds whose word it is; others as before) and on record by the time
asked (a check `as_of` before the late write answers as it did then), and returns that time as
the fact's. It also asks, for a check by subject id, external id or CAL id, or of an address or
phone that does not reach the channel asked (not of one that does: probe BR, the person's own
second number read DENY), about the contact points the subject holds that reach the channel (probe BO: a CRM customer given a number left under
a STOP read ALLOW by external id, DENY by the number), each earlier holder with since when the
subject holds that point (`prior_held_from`).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

_PAYLOAD_FIELDS = """jsonb_build_object(
    'event_id', e.event_id::text,
    'sequence', e.sequence,
    'subject_id', e.subject_id::text,
    'purpose', e.purpose_id,
    'channel', e.channel,
    'scope', e.scope,
    'state', e.state,
    'notice_id', e.notice_id,
    'notice_version', e.notice_version,
    'source', e.source,
    'actor_sha256', encode(sha256(convert_to(e.actor, 'UTF8')), 'hex'),
    'processing_role', e.processing_role,
    'recorded_at', to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'valid_until', to_char(e.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'evidence_reference_sha256', encode(sha256(convert_to(e.evidence_reference, 'UTF8')), 'hex'),
    'evidence_ip_digest', encode(e.evidence_ip_digest, 'hex'),
    'evidence_ua_digest', encode(e.evidence_ua_digest, 'hex'),
    'evidence_sealed_sha256', encode(sha256(e.evidence_sealed), 'hex')
)"""

# 0033's payload; `decided_at` only when set, so an entry of an older event keeps its hash.
PAYLOAD = f"""
CREATE OR REPLACE FUNCTION consentd_event_payload(e consent_events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT {_PAYLOAD_FIELDS}
    || CASE WHEN e.attested IS NULL THEN '{{}}'::jsonb
       ELSE jsonb_build_object('attested', e.attested) END
    || CASE WHEN e.decided_at IS NULL THEN '{{}}'::jsonb
       ELSE jsonb_build_object('decided_at',
           to_char(e.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) END
$$
"""

# 0033's, for the downgrade (migrations state every function they create).
PAYLOAD_BEFORE = f"""
CREATE OR REPLACE FUNCTION consentd_event_payload(e consent_events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT {_PAYLOAD_FIELDS}
    || CASE WHEN e.attested IS NULL THEN '{{}}'::jsonb
       ELSE jsonb_build_object('attested', e.attested) END
$$
"""

APPEND_SIGNATURE = (
    "consentd_append_events(uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], "
    "text[], integer[], text[], text[], text[], timestamptz[], timestamptz[], text[], bytea[], "
    "bytea[], bytea[], timestamptz, boolean[], timestamptz[])"
)

# 0037's function with $22, each event's decided_at.
APPEND = """
CREATE OR REPLACE FUNCTION consentd_append_events(
    uuid, uuid[], uuid[], uuid[], text[], text[], text[], text[], text[], integer[], text[],
    text[], text[], timestamptz[], timestamptz[], text[], bytea[], bytea[], bytea[], timestamptz,
    boolean[], timestamptz[]
) RETURNS SETOF consent_events
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(k)
  FROM (SELECT DISTINCT consentd_subject_lock($1, s) AS k FROM unnest($2) AS s) AS keys
  ORDER BY k;
  IF EXISTS (
    SELECT 1 FROM subjects s
    WHERE s.tenant_id = $1 AND s.subject_id = ANY($2) AND s.erased_at IS NOT NULL
  ) THEN
    RAISE EXCEPTION 'a subject of these events was erased' USING ERRCODE = 'CDP03';
  END IF;
  IF EXISTS (
    SELECT 1
    FROM unnest($4::uuid[], $8::text[], $11::text[], $21::boolean[])
      AS x(subject_id, state, source, attested)
    JOIN subject_blocks b ON b.tenant_id = $1 AND b.subject_id = x.subject_id
      AND b.kind = 'objected' AND b.lifted_at IS NULL
    WHERE x.state = 'granted' AND (x.source IN ('api', 'import') OR x.attested IS FALSE)
  ) THEN
    RAISE EXCEPTION 'a subject of these grants objected' USING ERRCODE = 'CDP04';
  END IF;
  -- A system's grant of a target under a withdrawal of everything, of every channel or of its
  -- own (a STOP), with no grant of that target since: only the person lifts it.
  IF EXISTS (
    SELECT 1
    FROM unnest(
      $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $11::text[], $21::boolean[]
    ) AS x(subject_id, purpose_id, channel, scope, state, source, attested)
    WHERE x.state = 'granted' AND (x.source IN ('api', 'import') OR x.attested IS FALSE)
      AND consentd_stop_stands($1, x.subject_id, x.purpose_id, x.channel, x.scope)
  ) THEN
    RAISE EXCEPTION 'a subject of these grants withdrew everything' USING ERRCODE = 'CDP05';
  END IF;
  RETURN QUERY
    WITH given AS (
        SELECT * FROM unnest(
            $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::int[], $11::text[], $12::text[], $13::text[], $14::timestamptz[],
            $15::timestamptz[], $16::text[], $17::bytea[], $18::bytea[], $19::bytea[],
            $21::boolean[], $22::timestamptz[]
        ) WITH ORDINALITY AS g(
            event_id, subject_id, purpose_id, channel, scope, state, notice_id, notice_version,
            source, actor, processing_role, recorded_at, valid_until, evidence_reference,
            evidence_ip_digest, evidence_ua_digest, evidence_sealed, attested, decided_at, ord
        )
    ), inserted AS (
        INSERT INTO consent_events (
            tenant_id, event_id, subject_id, purpose_id, channel, scope, state, notice_id,
            notice_version, source, actor, processing_role, recorded_at, valid_until,
            evidence_reference, evidence_ip_digest, evidence_ua_digest, evidence_sealed, attested,
            decided_at
        )
        SELECT $1, g.event_id, g.subject_id, g.purpose_id, g.channel, g.scope, g.state, g.notice_id,
            g.notice_version, g.source, g.actor, g.processing_role, greatest(g.recorded_at, (
            SELECT max(c.updated_at) FROM current_consents c
            WHERE c.tenant_id = $1 AND c.subject_id = g.subject_id
              AND (c.purpose_id = '*' OR g.purpose_id = '*'
                OR (c.purpose_id, c.channel, c.scope) = (g.purpose_id, g.channel, g.scope)))),
            g.valid_until, g.evidence_reference, g.evidence_ip_digest, g.evidence_ua_digest,
            g.evidence_sealed, g.attested, g.decided_at
        FROM given g ORDER BY g.ord
        RETURNING *
    ), queued AS (
        INSERT INTO audit_queue (tenant_id, action, recorded_at, subject_id, fact_id, payload)
        SELECT i.tenant_id, consentd_event_action(i.state), $20, i.subject_id, i.event_id,
            consentd_event_payload(i::consent_events)
        FROM inserted i ORDER BY i.sequence
    ), projected AS (
        -- The projection only moves forward: a later event committed first is never overwritten.
        INSERT INTO current_consents AS c (
            tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence,
            notice_version, valid_until, updated_at
        )
        SELECT tenant_id, subject_id, purpose_id, channel, scope, state, event_id, sequence,
            notice_version, valid_until, recorded_at
        FROM inserted
        ON CONFLICT (tenant_id, subject_id, purpose_id, channel, scope) DO UPDATE SET
            state = excluded.state, event_id = excluded.event_id, sequence = excluded.sequence,
            notice_version = excluded.notice_version, valid_until = excluded.valid_until,
            updated_at = excluded.updated_at
        WHERE c.sequence < excluded.sequence
    )
    SELECT * FROM inserted ORDER BY sequence;
END
$$
"""

CHECK_SIGNATURE = (
    "consentd_check(uuid, text, text, text, text[], bytea[], uuid[], timestamptz, timestamptz)"
)

CHECK_FUNCTION = """
CREATE OR REPLACE FUNCTION consentd_check(
    p_tenant uuid, p_purpose text, p_channel text, p_scope text,
    p_kinds text[], p_digests bytea[], p_ids uuid[], p_as_of timestamptz, p_at timestamptz
) RETURNS TABLE (
    lawful_basis text, notice_id text, floor integer, ord bigint, subject_id uuid,
    event_id uuid, sequence bigint, purpose_id text, channel text, scope text, state text,
    notice_version integer, valid_until timestamptz, recorded_at timestamptz,
    block_kinds text[], block_since timestamptz[],
    prior_ended timestamptz[], prior_event_ids uuid[], prior_sequences bigint[],
    prior_states text[], prior_recorded timestamptz[], prior_objected timestamptz[],
    prior_erased timestamptz[], prior_stopped boolean[], holder_from timestamptz,
    prior_held_from timestamptz[]
) LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('consentd.tenant_id', p_tenant::text, true);
    RETURN QUERY
    WITH purpose AS (
        SELECT p.lawful_basis, p.notice_id,
            CASE WHEN p_as_of IS NULL THEN
                (SELECT h.reconsent_floor FROM notice_heads h
                 WHERE h.tenant_id = p.tenant_id AND h.notice_id = p.notice_id)
            ELSE
                (SELECT max(n.version) FROM notices n
                 WHERE n.tenant_id = p.tenant_id AND n.notice_id = p.notice_id
                   AND n.requires_reconsent AND n.published_at <= p_as_of)
            END AS floor
        FROM purposes p
        WHERE p.tenant_id = p_tenant AND p.purpose_id = p_purpose
    ), keys AS (
        SELECT * FROM unnest(p_kinds, p_digests, p_ids) WITH ORDINALITY AS k(kind, digest, sid, ord)
    ), subject AS MATERIALIZED (
        -- Materialised (see 0008): the resolved subject is a plain column for the joins below,
        -- which row-level security lets the planner use in index conditions.
        SELECT k.ord, k.kind, k.digest,
            CASE WHEN k.sid IS NOT NULL THEN s.subject_id
                 WHEN p_as_of IS NULL THEN i.subject_id
                 ELSE hh.subject_id END AS subject_id
        FROM keys k
        LEFT JOIN subject_identifiers i
            ON p_as_of IS NULL AND i.tenant_id = p_tenant AND i.kind = k.kind
           AND i.digest = k.digest
        LEFT JOIN LATERAL (
            SELECT ch.subject_id FROM contact_point_holdings ch
            WHERE p_as_of IS NOT NULL AND ch.tenant_id = p_tenant AND ch.kind = k.kind
              AND ch.digest = k.digest AND ch.held_from <= p_as_of
              AND (ch.held_until IS NULL OR ch.held_until > p_as_of)
            ORDER BY ch.held_from DESC LIMIT 1
        ) hh ON true
        LEFT JOIN subjects s ON s.tenant_id = p_tenant AND s.subject_id = k.sid
    ), points AS (
        -- The contact points a check asks about, each with since when the holder asked about
        -- holds it: the one named, and (0040), unless the one named reaches the channel asked
        -- itself (a check of a subject id, an external id, a CAL id, or of an address for
        -- SMS), those the subject holds at p_at that reach it (an address: e-mail; a phone: SMS
        -- and calls). A check by external id of a customer given a number left under a STOP
        -- read ALLOW where a check of the number read DENY (probe BO), and so did a check of
        -- their e-mail address for SMS (probe BT): not knowing which the send uses, the answer
        -- is no freer than a check of any of them. A check of the address or phone a send
        -- uses asks about it alone (probe BR: the person's own second number read DENY).
        SELECT x.ord, x.kind, x.digest, x.subject_id, true AS named,
            NULL::timestamptz AS held_from  -- read below, only with an earlier holder
        FROM subject x WHERE x.kind IS NOT NULL
        UNION ALL
        SELECT x.ord, hc.kind, hc.digest, x.subject_id, false, hc.held_from
        FROM subject x
        JOIN contact_point_holdings hc
            ON hc.tenant_id = p_tenant AND hc.subject_id = x.subject_id
           AND hc.held_from <= p_at AND (hc.held_until IS NULL OR hc.held_until > p_at)
           AND CASE hc.kind WHEN 'email' THEN p_channel = 'email'
                            WHEN 'phone' THEN p_channel IN ('sms', 'voice_call')
                            ELSE false END
           AND (hc.kind, hc.digest) IS DISTINCT FROM (x.kind, x.digest)
        WHERE x.subject_id IS NOT NULL
          AND NOT coalesce(CASE x.kind WHEN 'email' THEN p_channel = 'email'
                                       WHEN 'phone' THEN p_channel IN ('sms', 'voice_call')
                                       END, false)
    ), prior AS (
        -- Those contact points' earlier holders (other subjects), each as it stood when the
        -- contact point left them: what domain/contact_points.py carries over. Few contact
        -- points have one: a join on the small index of ended holdings, then per holding.
        SELECT x.ord,
            array_agg(ph.held_until ORDER BY ph.held_until) AS ended,
            array_agg(pf.event_id ORDER BY ph.held_until) AS event_ids,
            array_agg(pf.sequence ORDER BY ph.held_until) AS sequences,
            array_agg(pf.state ORDER BY ph.held_until) AS states,
            array_agg(pf.recorded_at ORDER BY ph.held_until) AS recorded,
            array_agg(po.since ORDER BY ph.held_until) AS objected,
            array_agg(ps.erased_at ORDER BY ph.held_until) AS erased,
            array_agg(pst.stopped ORDER BY ph.held_until) AS stopped,
            array_agg(hf.since ORDER BY ph.held_until) AS held_from,
            -- The named one's, for the code before 0040.
            max(hf.since) FILTER (WHERE x.named) AS holder_from
        FROM points x
        JOIN contact_point_holdings ph
            ON ph.tenant_id = p_tenant AND ph.kind = x.kind AND ph.digest = x.digest
           AND ph.held_until IS NOT NULL AND ph.held_until <= p_at
           AND ph.subject_id IS DISTINCT FROM x.subject_id
        LEFT JOIN LATERAL (
            -- Decided while the contact point was theirs (a refusal sent late with its
            -- decided_at counts from then, 0040: before the holding ended, as
            -- store/closed_points.py finds whose word it is), and on record by the time asked.
            SELECT e.event_id, e.sequence, e.state, coalesce(e.decided_at, e.recorded_at)
                AS recorded_at
            FROM consent_events e
            WHERE e.tenant_id = p_tenant AND e.subject_id = ph.subject_id
              AND CASE WHEN e.decided_at IS NULL THEN e.recorded_at <= ph.held_until
                       ELSE e.decided_at < ph.held_until END
              AND e.recorded_at <= p_at
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR (e.purpose_id = '*' AND e.channel IN ('*', p_channel)))
            ORDER BY e.sequence DESC LIMIT 1
        ) pf ON true
        LEFT JOIN LATERAL (
            -- Whether they had withdrawn everything (of every channel or of this one: a STOP)
            -- by then, which closes the contact point to all but the person (0039).
            SELECT EXISTS (
                SELECT FROM consent_events w
                WHERE w.tenant_id = p_tenant AND w.subject_id = ph.subject_id
                  AND w.purpose_id = '*' AND w.channel IN ('*', p_channel)
                  AND CASE WHEN w.decided_at IS NULL THEN w.recorded_at <= ph.held_until
                           ELSE w.decided_at < ph.held_until END
                  AND w.recorded_at <= p_at
            ) AS stopped
        ) pst ON true
        LEFT JOIN LATERAL (
            SELECT min(sb.since) AS since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = ph.subject_id
              AND sb.kind = 'objected' AND sb.since <= ph.held_until
              AND (sb.lifted_at IS NULL OR sb.lifted_at > ph.held_until)
        ) po ON true
        LEFT JOIN subjects ps
            ON ps.tenant_id = p_tenant AND ps.subject_id = ph.subject_id
           AND ps.erased_at <= ph.held_until
        LEFT JOIN LATERAL (
            -- Since when the holder asked about holds the contact point (0039): a fact of
            -- theirs from before says nothing of it once an earlier holder closed it.
            SELECT coalesce(x.held_from, (
                SELECT max(hc.held_from) FROM contact_point_holdings hc
                WHERE hc.tenant_id = p_tenant AND hc.kind = x.kind AND hc.digest = x.digest
                  AND hc.subject_id = x.subject_id AND hc.held_from <= p_at)) AS since
        ) hf ON true
        GROUP BY x.ord
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        f.event_id, f.sequence, f.purpose_id, f.channel, f.scope, f.state, f.notice_version,
        f.valid_until, f.recorded_at, b.kinds, b.since,
        pr.ended, pr.event_ids, pr.sequences, pr.states, pr.recorded, pr.objected, pr.erased,
        pr.stopped, pr.holder_from, pr.held_from
    FROM purpose p
    LEFT JOIN (subject x LEFT JOIN LATERAL (
        SELECT t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state,
            t.notice_version, t.valid_until, t.updated_at AS recorded_at
        FROM current_consents t
        WHERE p_as_of IS NULL AND t.tenant_id = p_tenant AND t.subject_id = x.subject_id
          AND ((t.purpose_id = p_purpose AND t.channel = p_channel AND t.scope = p_scope)
               OR (t.purpose_id = '*' AND t.channel IN ('*', p_channel)))
        UNION ALL
        SELECT * FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until, e.recorded_at
            FROM consent_events e
            WHERE p_as_of IS NOT NULL AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.recorded_at <= p_as_of
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR (e.purpose_id = '*' AND e.channel IN ('*', p_channel)))
            ORDER BY e.sequence DESC LIMIT 1
        ) history
        ORDER BY sequence DESC LIMIT 1
    ) f ON true LEFT JOIN LATERAL (
        -- What SqlRights.blocks() (a known subject) or .suppressions() (a contact point that
        -- names nobody) return to the unary check: restrictions and objections in force at
        -- p_at, the erasure, and suppressions.
        SELECT array_agg(bk.kind) AS kinds, array_agg(bk.since) AS since FROM (
            SELECT sb.kind, sb.since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = x.subject_id
              -- Now: every block on record, one stamped ahead of p_at by a clock stepped back
              -- since too; as of a past time: those begun by then.
              AND (p_as_of IS NULL OR sb.since <= p_at)
              AND (sb.lifted_at IS NULL OR sb.lifted_at > p_at)
            UNION ALL
            SELECT 'erased', s.erased_at FROM subjects s
            WHERE s.tenant_id = p_tenant AND s.subject_id = x.subject_id
              AND s.erased_at IS NOT NULL
            UNION ALL
            -- Suppressions of the contact points the subject held at p_at (now: those linked).
            SELECT sp.reason, sp.created_at FROM suppressions sp
            JOIN contact_point_holdings ch
                ON ch.tenant_id = sp.tenant_id AND ch.kind = sp.kind AND ch.digest = sp.digest
            WHERE ch.tenant_id = p_tenant AND ch.subject_id = x.subject_id
              AND ch.held_from <= p_at AND (ch.held_until IS NULL OR ch.held_until > p_at)
            UNION ALL
            SELECT sp.reason, sp.created_at FROM suppressions sp
            WHERE x.subject_id IS NULL AND sp.tenant_id = p_tenant AND sp.kind = x.kind
              AND sp.digest = x.digest
        ) bk
    ) b ON true LEFT JOIN prior pr ON pr.ord = x.ord) ON true
    ORDER BY x.ord;
END
$$
"""

# 0039's function, for the downgrade.
PREVIOUS = """
CREATE OR REPLACE FUNCTION consentd_check(
    p_tenant uuid, p_purpose text, p_channel text, p_scope text,
    p_kinds text[], p_digests bytea[], p_ids uuid[], p_as_of timestamptz, p_at timestamptz
) RETURNS TABLE (
    lawful_basis text, notice_id text, floor integer, ord bigint, subject_id uuid,
    event_id uuid, sequence bigint, purpose_id text, channel text, scope text, state text,
    notice_version integer, valid_until timestamptz, recorded_at timestamptz,
    block_kinds text[], block_since timestamptz[],
    prior_ended timestamptz[], prior_event_ids uuid[], prior_sequences bigint[],
    prior_states text[], prior_recorded timestamptz[], prior_objected timestamptz[],
    prior_erased timestamptz[], prior_stopped boolean[], holder_from timestamptz
) LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('consentd.tenant_id', p_tenant::text, true);
    RETURN QUERY
    WITH purpose AS (
        SELECT p.lawful_basis, p.notice_id,
            CASE WHEN p_as_of IS NULL THEN
                (SELECT h.reconsent_floor FROM notice_heads h
                 WHERE h.tenant_id = p.tenant_id AND h.notice_id = p.notice_id)
            ELSE
                (SELECT max(n.version) FROM notices n
                 WHERE n.tenant_id = p.tenant_id AND n.notice_id = p.notice_id
                   AND n.requires_reconsent AND n.published_at <= p_as_of)
            END AS floor
        FROM purposes p
        WHERE p.tenant_id = p_tenant AND p.purpose_id = p_purpose
    ), keys AS (
        SELECT * FROM unnest(p_kinds, p_digests, p_ids) WITH ORDINALITY AS k(kind, digest, sid, ord)
    ), subject AS MATERIALIZED (
        -- Materialised (see 0008): the resolved subject is a plain column for the joins below,
        -- which row-level security lets the planner use in index conditions.
        SELECT k.ord, k.kind, k.digest,
            CASE WHEN k.sid IS NOT NULL THEN s.subject_id
                 WHEN p_as_of IS NULL THEN i.subject_id
                 ELSE hh.subject_id END AS subject_id
        FROM keys k
        LEFT JOIN subject_identifiers i
            ON p_as_of IS NULL AND i.tenant_id = p_tenant AND i.kind = k.kind
           AND i.digest = k.digest
        LEFT JOIN LATERAL (
            SELECT ch.subject_id FROM contact_point_holdings ch
            WHERE p_as_of IS NOT NULL AND ch.tenant_id = p_tenant AND ch.kind = k.kind
              AND ch.digest = k.digest AND ch.held_from <= p_as_of
              AND (ch.held_until IS NULL OR ch.held_until > p_as_of)
            ORDER BY ch.held_from DESC LIMIT 1
        ) hh ON true
        LEFT JOIN subjects s ON s.tenant_id = p_tenant AND s.subject_id = k.sid
    ), prior AS (
        -- The contact point's earlier holders (other subjects), each as it stood when the
        -- contact point left them: what domain/contact_points.py carries over. Few contact
        -- points have one: a join on the small index of ended holdings, then per holding.
        SELECT x.ord,
            array_agg(ph.held_until ORDER BY ph.held_until) AS ended,
            array_agg(pf.event_id ORDER BY ph.held_until) AS event_ids,
            array_agg(pf.sequence ORDER BY ph.held_until) AS sequences,
            array_agg(pf.state ORDER BY ph.held_until) AS states,
            array_agg(pf.recorded_at ORDER BY ph.held_until) AS recorded,
            array_agg(po.since ORDER BY ph.held_until) AS objected,
            array_agg(ps.erased_at ORDER BY ph.held_until) AS erased,
            array_agg(pst.stopped ORDER BY ph.held_until) AS stopped,
            -- Since when the holder asked about holds the contact point (0039): a fact of
            -- theirs from before says nothing of it once an earlier holder closed it.
            (SELECT max(hc.held_from) FROM contact_point_holdings hc
             WHERE hc.tenant_id = p_tenant AND hc.kind = x.kind AND hc.digest = x.digest
               AND hc.subject_id = x.subject_id AND hc.held_from <= p_at) AS holder_from
        FROM subject x
        JOIN contact_point_holdings ph
            ON ph.tenant_id = p_tenant AND ph.kind = x.kind AND ph.digest = x.digest
           AND ph.held_until IS NOT NULL AND ph.held_until <= p_at
           AND ph.subject_id IS DISTINCT FROM x.subject_id
        LEFT JOIN LATERAL (
            SELECT e.event_id, e.sequence, e.state, e.recorded_at FROM consent_events e
            WHERE e.tenant_id = p_tenant AND e.subject_id = ph.subject_id
              AND e.recorded_at <= ph.held_until
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR (e.purpose_id = '*' AND e.channel IN ('*', p_channel)))
            ORDER BY e.sequence DESC LIMIT 1
        ) pf ON true
        LEFT JOIN LATERAL (
            -- Whether they had withdrawn everything (of every channel or of this one: a STOP)
            -- by then, which closes the contact point to all but the person (0039).
            SELECT EXISTS (
                SELECT FROM consent_events w
                WHERE w.tenant_id = p_tenant AND w.subject_id = ph.subject_id
                  AND w.purpose_id = '*' AND w.channel IN ('*', p_channel)
                  AND w.recorded_at <= ph.held_until
            ) AS stopped
        ) pst ON true
        LEFT JOIN LATERAL (
            SELECT min(sb.since) AS since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = ph.subject_id
              AND sb.kind = 'objected' AND sb.since <= ph.held_until
              AND (sb.lifted_at IS NULL OR sb.lifted_at > ph.held_until)
        ) po ON true
        LEFT JOIN subjects ps
            ON ps.tenant_id = p_tenant AND ps.subject_id = ph.subject_id
           AND ps.erased_at <= ph.held_until
        GROUP BY x.ord, x.kind, x.digest, x.subject_id
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        f.event_id, f.sequence, f.purpose_id, f.channel, f.scope, f.state, f.notice_version,
        f.valid_until, f.recorded_at, b.kinds, b.since,
        pr.ended, pr.event_ids, pr.sequences, pr.states, pr.recorded, pr.objected, pr.erased,
        pr.stopped, pr.holder_from
    FROM purpose p
    LEFT JOIN (subject x LEFT JOIN LATERAL (
        SELECT t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state,
            t.notice_version, t.valid_until, t.updated_at AS recorded_at
        FROM current_consents t
        WHERE p_as_of IS NULL AND t.tenant_id = p_tenant AND t.subject_id = x.subject_id
          AND ((t.purpose_id = p_purpose AND t.channel = p_channel AND t.scope = p_scope)
               OR (t.purpose_id = '*' AND t.channel IN ('*', p_channel)))
        UNION ALL
        SELECT * FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until, e.recorded_at
            FROM consent_events e
            WHERE p_as_of IS NOT NULL AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.recorded_at <= p_as_of
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR (e.purpose_id = '*' AND e.channel IN ('*', p_channel)))
            ORDER BY e.sequence DESC LIMIT 1
        ) history
        ORDER BY sequence DESC LIMIT 1
    ) f ON true LEFT JOIN LATERAL (
        -- What SqlRights.blocks() (a known subject) or .suppressions() (a contact point that
        -- names nobody) return to the unary check: restrictions and objections in force at
        -- p_at, the erasure, and suppressions.
        SELECT array_agg(bk.kind) AS kinds, array_agg(bk.since) AS since FROM (
            SELECT sb.kind, sb.since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = x.subject_id
              -- Now: every block on record, one stamped ahead of p_at by a clock stepped back
              -- since too; as of a past time: those begun by then.
              AND (p_as_of IS NULL OR sb.since <= p_at)
              AND (sb.lifted_at IS NULL OR sb.lifted_at > p_at)
            UNION ALL
            SELECT 'erased', s.erased_at FROM subjects s
            WHERE s.tenant_id = p_tenant AND s.subject_id = x.subject_id
              AND s.erased_at IS NOT NULL
            UNION ALL
            -- Suppressions of the contact points the subject held at p_at (now: those linked).
            SELECT sp.reason, sp.created_at FROM suppressions sp
            JOIN contact_point_holdings ch
                ON ch.tenant_id = sp.tenant_id AND ch.kind = sp.kind AND ch.digest = sp.digest
            WHERE ch.tenant_id = p_tenant AND ch.subject_id = x.subject_id
              AND ch.held_from <= p_at AND (ch.held_until IS NULL OR ch.held_until > p_at)
            UNION ALL
            SELECT sp.reason, sp.created_at FROM suppressions sp
            WHERE x.subject_id IS NULL AND sp.tenant_id = p_tenant AND sp.kind = x.kind
              AND sp.digest = x.digest
        ) bk
    ) b ON true LEFT JOIN prior pr ON pr.ord = x.ord) ON true
    ORDER BY x.ord;
END
$$
"""


def _create_check(text: str) -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {CHECK_SIGNATURE}")
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {CHECK_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {CHECK_SIGNATURE} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    op.execute("ALTER TABLE consent_events ADD COLUMN IF NOT EXISTS decided_at timestamptz")
    op.execute("ALTER TABLE consent_events DROP CONSTRAINT IF EXISTS decided_before_recorded")
    op.execute(
        "ALTER TABLE consent_events ADD CONSTRAINT decided_before_recorded "
        "CHECK (decided_at IS NULL OR decided_at <= recorded_at)"
    )
    op.execute(PAYLOAD)
    op.execute(APPEND)
    op.execute(f"REVOKE ALL ON FUNCTION {APPEND_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {APPEND_SIGNATURE} TO {RUNTIME_ROLE}")
    _create_check(CHECK_FUNCTION)


def downgrade() -> None:
    _create_check(PREVIOUS)
    op.execute(f"DROP FUNCTION {APPEND_SIGNATURE}")
    op.execute(PAYLOAD_BEFORE)
    op.execute("ALTER TABLE consent_events DROP COLUMN decided_at")
