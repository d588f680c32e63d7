"""An earlier holder's own "no" to a target stays on the contact point until a person takes it
back: the checks count only what its holder said since holding it, and a system's grant of
that target for it is written only once its holder came back in person.

Why (probe DJ): a person refused a newsletter in person (the portal), the operator moved them to
a new address (RectifyContact), and a CRM's grant of that newsletter for the old address made a
new subject and a check ALLOW: only an objection, an erasure or a STOP closed a contact point to
systems (0038, 0039), a targeted "no" gave way to any later fact of the next holder. Now:

- `consentd_persons_nos(tenant, subject, until, at)` (new): the targets whose latest word of
  the subject's own by `until` (decided then, on record by `at`) is a refusal or withdrawal.
  The person's own word is what domain/decision.persons_word says: a refusal or withdrawal made
  in person (source PORTAL, BANNER or SUPPORT), a grant in person from a caller that vouches
  for it (attested not false), a grant the person confirmed (attested true).
- `consentd_check` counts such a "no" of an earlier holder as closing the contact point for
  the target (`prior_stopped`, as a STOP): its holder's facts count from their holding on. Its
  earlier holders' facts skip asks (pending), as 0047 does for the holder's own.
- `consentd_batch_reads` returns the named contact points so left (`o_reason` 'refused'), and
  the named subjects' other contact points so left: a system's grant runs alone, where the
  one-call path reads which targets are closed (store/closed_points.py).

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0048"
down_revision: str | None = "0047"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

NOS_SIGNATURE = "consentd_persons_nos(uuid, uuid, timestamptz, timestamptz)"

# Plain SQL, STABLE: inlined where it is called.
NOS = """
CREATE OR REPLACE FUNCTION consentd_persons_nos(
    p_tenant uuid, p_subject uuid, p_until timestamptz, p_at timestamptz
) RETURNS TABLE (purpose_id text, channel text, scope text)
LANGUAGE sql STABLE SECURITY INVOKER AS $$
    SELECT w.purpose_id, w.channel, w.scope FROM (
        SELECT DISTINCT ON (e.purpose_id, e.channel, e.scope)
            e.purpose_id, e.channel, e.scope, e.state
        FROM consent_events e
        WHERE e.tenant_id = p_tenant AND e.subject_id = p_subject AND e.purpose_id <> '*'
          AND CASE WHEN e.decided_at IS NULL THEN e.recorded_at <= p_until
                   ELSE e.decided_at < p_until END
          AND e.recorded_at <= p_at
          AND ((e.state = 'granted' AND e.attested IS TRUE)
               OR (e.source IN ('portal', 'banner', 'support')
                   AND (e.state IN ('refused', 'withdrawn')
                        OR (e.state = 'granted' AND e.attested IS NOT FALSE))))
        ORDER BY e.purpose_id, e.channel, e.scope, e.sequence DESC
    ) w
    WHERE w.state IN ('refused', 'withdrawn')
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
            array_agg(pst.stopped OR pw.no ORDER BY ph.held_until) AS stopped,
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
            -- An ask (pending, or lapsed unconfirmed) answers nothing (0048, as 0047 for the
            -- holder's own facts): the "no" before it stays on the contact point.
            SELECT e.event_id, e.sequence, e.state, coalesce(e.decided_at, e.recorded_at)
                AS recorded_at
            FROM consent_events e
            WHERE e.tenant_id = p_tenant AND e.subject_id = ph.subject_id
              AND CASE WHEN e.decided_at IS NULL THEN e.recorded_at <= ph.held_until
                       ELSE e.decided_at < ph.held_until END
              AND e.recorded_at <= p_at AND e.state <> 'pending'
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
            -- Whether their own latest word on the target by then (consentd_persons_nos,
            -- 0048) was a "no": it closes the contact point to all but the person for that
            -- target, as a STOP does for all (probe DJ).
            SELECT EXISTS (
                SELECT FROM consentd_persons_nos(p_tenant, ph.subject_id, ph.held_until, p_at) w
                WHERE w.purpose_id = p_purpose AND w.channel = p_channel AND w.scope = p_scope
            ) AS no
        ) pw ON true
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
            -- theirs from before says nothing of it once an earlier holder closed it. Their
            -- first holding since this earlier one ended (0041): moved away and back, a grant
            -- they gave with it before the move counts (probe BR); a holder in between is an
            -- earlier holder of its own.
            SELECT min(hc.held_from) AS since FROM contact_point_holdings hc
            WHERE hc.tenant_id = p_tenant AND hc.kind = x.kind AND hc.digest = x.digest
              AND hc.subject_id = x.subject_id AND hc.held_from >= ph.held_until
              AND hc.held_from <= p_at
        ) hf ON true
        GROUP BY x.ord
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        coalesce(n.event_id, f.event_id), coalesce(n.sequence, f.sequence),
        coalesce(n.purpose_id, f.purpose_id), coalesce(n.channel, f.channel),
        coalesce(n.scope, f.scope), coalesce(n.state, f.state),
        CASE WHEN n.event_id IS NULL THEN f.notice_version ELSE n.notice_version END,
        CASE WHEN n.event_id IS NULL THEN f.valid_until ELSE n.valid_until END,
        coalesce(n.recorded_at, f.recorded_at), b.kinds, b.since,
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
        -- An ask not confirmed (pending, or lapsed unconfirmed) does not lift the "no" before
        -- it (0047): the refusal or withdrawal of the target it follows, or the withdrawal of
        -- everything (of every channel or of the target's: a STOP), stays the answer, and on
        -- the suppression list (probe DE: a CRM's ask took the person off the list, for good
        -- once it lapsed; probe DG: a STOP). A one-time filter: nothing is read for any other
        -- fact.
        SELECT ne.event_id, ne.sequence, ne.purpose_id, ne.channel, ne.scope, ne.state,
            ne.notice_version, ne.valid_until, ne.recorded_at
        FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until, e.recorded_at
            FROM consent_events e
            WHERE f.state = 'pending' AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.sequence < f.sequence
              AND ((e.purpose_id = f.purpose_id AND e.channel = f.channel
                    AND e.scope = f.scope)
                   OR (e.purpose_id = '*' AND e.channel IN ('*', f.channel)))
              AND e.state <> 'pending' AND (p_as_of IS NULL OR e.recorded_at <= p_as_of)
            ORDER BY e.sequence DESC LIMIT 1
        ) ne
        WHERE ne.state IN ('refused', 'withdrawn')
    ) n ON true LEFT JOIN LATERAL (
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

# 0047's function, for the downgrade.
PREVIOUS_CHECK = """
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
            -- theirs from before says nothing of it once an earlier holder closed it. Their
            -- first holding since this earlier one ended (0041): moved away and back, a grant
            -- they gave with it before the move counts (probe BR); a holder in between is an
            -- earlier holder of its own.
            SELECT min(hc.held_from) AS since FROM contact_point_holdings hc
            WHERE hc.tenant_id = p_tenant AND hc.kind = x.kind AND hc.digest = x.digest
              AND hc.subject_id = x.subject_id AND hc.held_from >= ph.held_until
              AND hc.held_from <= p_at
        ) hf ON true
        GROUP BY x.ord
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        coalesce(n.event_id, f.event_id), coalesce(n.sequence, f.sequence),
        coalesce(n.purpose_id, f.purpose_id), coalesce(n.channel, f.channel),
        coalesce(n.scope, f.scope), coalesce(n.state, f.state),
        CASE WHEN n.event_id IS NULL THEN f.notice_version ELSE n.notice_version END,
        CASE WHEN n.event_id IS NULL THEN f.valid_until ELSE n.valid_until END,
        coalesce(n.recorded_at, f.recorded_at), b.kinds, b.since,
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
        -- An ask not confirmed (pending, or lapsed unconfirmed) does not lift the "no" before
        -- it (0047): the refusal or withdrawal of the target it follows, or the withdrawal of
        -- everything (of every channel or of the target's: a STOP), stays the answer, and on
        -- the suppression list (probe DE: a CRM's ask took the person off the list, for good
        -- once it lapsed; probe DG: a STOP). A one-time filter: nothing is read for any other
        -- fact.
        SELECT ne.event_id, ne.sequence, ne.purpose_id, ne.channel, ne.scope, ne.state,
            ne.notice_version, ne.valid_until, ne.recorded_at
        FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until, e.recorded_at
            FROM consent_events e
            WHERE f.state = 'pending' AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.sequence < f.sequence
              AND ((e.purpose_id = f.purpose_id AND e.channel = f.channel
                    AND e.scope = f.scope)
                   OR (e.purpose_id = '*' AND e.channel IN ('*', f.channel)))
              AND e.state <> 'pending' AND (p_as_of IS NULL OR e.recorded_at <= p_as_of)
            ORDER BY e.sequence DESC LIMIT 1
        ) ne
        WHERE ne.state IN ('refused', 'withdrawn')
    ) n ON true LEFT JOIN LATERAL (
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

READS_SIGNATURE = "consentd_batch_reads(uuid[], int[], text[], int[], text[], bytea[])"

READS = """
CREATE OR REPLACE FUNCTION consentd_batch_reads(
    p_tenants uuid[], p_purpose_counts int[], p_purposes text[],
    p_digest_counts int[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (
    o_tenant uuid, o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea,
    o_notice text, o_versions int[], o_floor int, o_objected timestamptz, o_reason text
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  p int := 0;
  d int := 0;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    RETURN QUERY SELECT p_tenants[t], b.*, NULL::text, NULL::int[], NULL::int, NULL::timestamptz,
        NULL::text
      FROM consentd_batch_part(
        p_tenants[t], p_purposes[p + 1 : p + p_purpose_counts[t]],
        p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
      ) AS b;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, NULL::uuid,
        NULL::bytea, n.notice_id, array_agg(n.version ORDER BY n.version), max(h.reconsent_floor),
        NULL::timestamptz, NULL::text
      FROM notices n
      JOIN notice_heads h ON h.tenant_id = n.tenant_id AND h.notice_id = n.notice_id
      WHERE n.tenant_id = p_tenants[t] AND n.notice_id IN (
        SELECT u.notice_id FROM purposes u
        WHERE u.tenant_id = p_tenants[t] AND u.purpose_id = ANY(p_purposes[p + 1 : p + p_purpose_counts[t]])
      )
      GROUP BY n.notice_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, o.subject_id,
        NULL::bytea, NULL::text, NULL::int[], NULL::int, max(o.since), NULL::text
      FROM subject_blocks o
      WHERE o.tenant_id = p_tenants[t] AND o.kind = 'objected' AND o.lifted_at IS NULL
        AND o.subject_id IN (
          SELECT i.subject_id FROM subject_identifiers i
          WHERE i.tenant_id = p_tenants[t] AND (i.kind, i.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        )
      GROUP BY o.subject_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, s.kind, s.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, s.created_at, 'erased'::text
      FROM suppressions s
      WHERE s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND (s.kind, s.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      );
    -- Contact points left (RectifyContact) by a holder whose objection was in force then; a
    -- subject's own ended holding of a contact point it holds again is not another's.
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'objected'::text
      FROM contact_point_holdings h
      JOIN subject_blocks b
        ON b.tenant_id = h.tenant_id AND b.subject_id = h.subject_id AND b.kind = 'objected'
       AND b.since <= h.held_until AND (b.lifted_at IS NULL OR b.lifted_at > h.held_until)
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      )
      GROUP BY h.kind, h.digest;
    -- Contact points left by a holder who had withdrawn everything, on every channel or on the
    -- contact point's (a STOP), by then (0038): a STOP is an objection to the channel.
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'objected'::text
      FROM contact_point_holdings h
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      ) AND EXISTS (
        SELECT FROM consent_events e
        WHERE e.tenant_id = h.tenant_id AND e.subject_id = h.subject_id AND e.purpose_id = '*'
          AND e.state = 'withdrawn' AND e.recorded_at <= h.held_until
          AND (e.channel = '*' OR (h.kind, e.channel) IN (
            ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
      )
      GROUP BY h.kind, h.digest;
    -- Contact points left by a holder whose own latest word on a target was a "no" by then
    -- (0048): a system's grant runs alone, where the one-call path reads which targets
    -- (store/closed_points.py).
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'refused'::text
      FROM contact_point_holdings h
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      ) AND EXISTS (
        SELECT FROM consentd_persons_nos(h.tenant_id, h.subject_id, h.held_until, 'infinity')
      )
      GROUP BY h.kind, h.digest;
    -- The contact points the named subjects hold besides the named ones that only a person
    -- takes back (erased, or left by an objector or under a STOP): a system's grant naming the
    -- subject by another identifier took an erased address back (probe BI). A row per such
    -- contact point with its holder in `o_subject` and `o_reason` set: the call runs alone.
    -- And (0048) those an earlier holder left with their own "no" to a target standing.
    -- Only in a tenant where a contact point was ever erased or left (most writes' batches
    -- pay nothing for it).
    IF EXISTS (
      SELECT FROM contact_point_holdings e
      WHERE e.tenant_id = p_tenants[t] AND e.held_until IS NOT NULL
    ) THEN
    RETURN QUERY WITH held AS (
        SELECT i.subject_id, i.kind, i.digest FROM subject_identifiers i
        WHERE i.tenant_id = p_tenants[t] AND i.subject_id IN (
          SELECT n.subject_id FROM subject_identifiers n
          WHERE n.tenant_id = p_tenants[t] AND (n.kind, n.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        ) AND (i.kind, i.digest) NOT IN (
          SELECT * FROM unnest(
            p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
          )
        )
      )
      SELECT p_tenants[t], NULL::purposes, c.kind, c.digest, c.subject_id, NULL::bytea,
          NULL::text, NULL::int[], NULL::int, max(c.at), min(c.reason)
        FROM (
          SELECT h.subject_id, h.kind, h.digest, s.created_at AS at, 'erased'::text AS reason
          FROM held h JOIN suppressions s
            ON s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND s.kind = h.kind
           AND s.digest = h.digest
          UNION ALL
          SELECT h.subject_id, h.kind, h.digest, o.held_until, 'objected'
          FROM held h JOIN contact_point_holdings o
            ON o.tenant_id = p_tenants[t] AND o.kind = h.kind AND o.digest = h.digest
           AND o.held_until IS NOT NULL AND o.subject_id <> h.subject_id
          WHERE EXISTS (
              SELECT FROM subject_blocks b
              WHERE b.tenant_id = o.tenant_id AND b.subject_id = o.subject_id
                AND b.kind = 'objected' AND b.since <= o.held_until
                AND (b.lifted_at IS NULL OR b.lifted_at > o.held_until)
            ) OR EXISTS (
              SELECT FROM consent_events e
              WHERE e.tenant_id = o.tenant_id AND e.subject_id = o.subject_id
                AND e.purpose_id = '*' AND e.state = 'withdrawn' AND e.recorded_at <= o.held_until
                AND (e.channel = '*' OR (o.kind, e.channel) IN (
                  ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
            ) OR EXISTS (
              SELECT FROM consentd_persons_nos(o.tenant_id, o.subject_id, o.held_until, 'infinity')
            )
        ) AS c
        GROUP BY c.subject_id, c.kind, c.digest;
    END IF;
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""

# 0038's function, for the downgrade.
PREVIOUS_READS = """
CREATE OR REPLACE FUNCTION consentd_batch_reads(
    p_tenants uuid[], p_purpose_counts int[], p_purposes text[],
    p_digest_counts int[], p_kinds text[], p_digests bytea[]
)
RETURNS TABLE (
    o_tenant uuid, o_purpose purposes, o_kind text, o_digest bytea, o_subject uuid, o_key bytea,
    o_notice text, o_versions int[], o_floor int, o_objected timestamptz, o_reason text
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t int;
  p int := 0;
  d int := 0;
BEGIN
  FOR t IN 1 .. coalesce(array_length(p_tenants, 1), 0) LOOP
    RETURN QUERY SELECT p_tenants[t], b.*, NULL::text, NULL::int[], NULL::int, NULL::timestamptz,
        NULL::text
      FROM consentd_batch_part(
        p_tenants[t], p_purposes[p + 1 : p + p_purpose_counts[t]],
        p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
      ) AS b;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, NULL::uuid,
        NULL::bytea, n.notice_id, array_agg(n.version ORDER BY n.version), max(h.reconsent_floor),
        NULL::timestamptz, NULL::text
      FROM notices n
      JOIN notice_heads h ON h.tenant_id = n.tenant_id AND h.notice_id = n.notice_id
      WHERE n.tenant_id = p_tenants[t] AND n.notice_id IN (
        SELECT u.notice_id FROM purposes u
        WHERE u.tenant_id = p_tenants[t] AND u.purpose_id = ANY(p_purposes[p + 1 : p + p_purpose_counts[t]])
      )
      GROUP BY n.notice_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, NULL::text, NULL::bytea, o.subject_id,
        NULL::bytea, NULL::text, NULL::int[], NULL::int, max(o.since), NULL::text
      FROM subject_blocks o
      WHERE o.tenant_id = p_tenants[t] AND o.kind = 'objected' AND o.lifted_at IS NULL
        AND o.subject_id IN (
          SELECT i.subject_id FROM subject_identifiers i
          WHERE i.tenant_id = p_tenants[t] AND (i.kind, i.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        )
      GROUP BY o.subject_id;
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, s.kind, s.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, s.created_at, 'erased'::text
      FROM suppressions s
      WHERE s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND (s.kind, s.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      );
    -- Contact points left (RectifyContact) by a holder whose objection was in force then; a
    -- subject's own ended holding of a contact point it holds again is not another's.
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'objected'::text
      FROM contact_point_holdings h
      JOIN subject_blocks b
        ON b.tenant_id = h.tenant_id AND b.subject_id = h.subject_id AND b.kind = 'objected'
       AND b.since <= h.held_until AND (b.lifted_at IS NULL OR b.lifted_at > h.held_until)
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      )
      GROUP BY h.kind, h.digest;
    -- Contact points left by a holder who had withdrawn everything, on every channel or on the
    -- contact point's (a STOP), by then (0038): a STOP is an objection to the channel.
    RETURN QUERY SELECT p_tenants[t], NULL::purposes, h.kind, h.digest, NULL::uuid, NULL::bytea,
        NULL::text, NULL::int[], NULL::int, max(h.held_until), 'objected'::text
      FROM contact_point_holdings h
      WHERE h.tenant_id = p_tenants[t] AND h.held_until IS NOT NULL AND (h.kind, h.digest) IN (
        SELECT * FROM unnest(
          p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
        )
      ) AND NOT EXISTS (
        SELECT FROM contact_point_holdings x
        WHERE x.tenant_id = h.tenant_id AND x.kind = h.kind AND x.digest = h.digest
          AND x.held_until IS NULL AND x.subject_id = h.subject_id
      ) AND EXISTS (
        SELECT FROM consent_events e
        WHERE e.tenant_id = h.tenant_id AND e.subject_id = h.subject_id AND e.purpose_id = '*'
          AND e.state = 'withdrawn' AND e.recorded_at <= h.held_until
          AND (e.channel = '*' OR (h.kind, e.channel) IN (
            ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
      )
      GROUP BY h.kind, h.digest;
    -- The contact points the named subjects hold besides the named ones that only a person
    -- takes back (erased, or left by an objector or under a STOP): a system's grant naming the
    -- subject by another identifier took an erased address back (probe BI). A row per such
    -- contact point with its holder in `o_subject` and `o_reason` set: the call runs alone.
    -- Only in a tenant where a contact point was ever erased or left (most writes' batches
    -- pay nothing for it).
    IF EXISTS (
      SELECT FROM contact_point_holdings e
      WHERE e.tenant_id = p_tenants[t] AND e.held_until IS NOT NULL
    ) THEN
    RETURN QUERY WITH held AS (
        SELECT i.subject_id, i.kind, i.digest FROM subject_identifiers i
        WHERE i.tenant_id = p_tenants[t] AND i.subject_id IN (
          SELECT n.subject_id FROM subject_identifiers n
          WHERE n.tenant_id = p_tenants[t] AND (n.kind, n.digest) IN (
            SELECT * FROM unnest(
              p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
            )
          )
        ) AND (i.kind, i.digest) NOT IN (
          SELECT * FROM unnest(
            p_kinds[d + 1 : d + p_digest_counts[t]], p_digests[d + 1 : d + p_digest_counts[t]]
          )
        )
      )
      SELECT p_tenants[t], NULL::purposes, c.kind, c.digest, c.subject_id, NULL::bytea,
          NULL::text, NULL::int[], NULL::int, max(c.at), min(c.reason)
        FROM (
          SELECT h.subject_id, h.kind, h.digest, s.created_at AS at, 'erased'::text AS reason
          FROM held h JOIN suppressions s
            ON s.tenant_id = p_tenants[t] AND s.reason = 'erased' AND s.kind = h.kind
           AND s.digest = h.digest
          UNION ALL
          SELECT h.subject_id, h.kind, h.digest, o.held_until, 'objected'
          FROM held h JOIN contact_point_holdings o
            ON o.tenant_id = p_tenants[t] AND o.kind = h.kind AND o.digest = h.digest
           AND o.held_until IS NOT NULL AND o.subject_id <> h.subject_id
          WHERE EXISTS (
              SELECT FROM subject_blocks b
              WHERE b.tenant_id = o.tenant_id AND b.subject_id = o.subject_id
                AND b.kind = 'objected' AND b.since <= o.held_until
                AND (b.lifted_at IS NULL OR b.lifted_at > o.held_until)
            ) OR EXISTS (
              SELECT FROM consent_events e
              WHERE e.tenant_id = o.tenant_id AND e.subject_id = o.subject_id
                AND e.purpose_id = '*' AND e.state = 'withdrawn' AND e.recorded_at <= o.held_until
                AND (e.channel = '*' OR (o.kind, e.channel) IN (
                  ('email', 'email'), ('phone', 'sms'), ('phone', 'voice_call')))
            )
        ) AS c
        GROUP BY c.subject_id, c.kind, c.digest;
    END IF;
    p := p + p_purpose_counts[t];
    d := d + p_digest_counts[t];
  END LOOP;
END
$$
"""


def _grant(signature: str) -> None:
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {RUNTIME_ROLE}")


def _create_check(text: str) -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {CHECK_SIGNATURE}")
    op.execute(text)
    _grant(CHECK_SIGNATURE)


def upgrade() -> None:
    op.execute(NOS)
    _grant(NOS_SIGNATURE)
    _create_check(CHECK_FUNCTION)
    op.execute(READS)
    _grant(READS_SIGNATURE)


def downgrade() -> None:
    _create_check(PREVIOUS_CHECK)
    op.execute(PREVIOUS_READS)
    _grant(READS_SIGNATURE)
    op.execute(f"DROP FUNCTION IF EXISTS {NOS_SIGNATURE}")
