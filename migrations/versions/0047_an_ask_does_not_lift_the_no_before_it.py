"""An ask not confirmed does not lift the "no" before it: a check answers the refusal or
withdrawal a pending (or lapsed unconfirmed) double opt-in grant follows.

Why: a system's double opt-in ask over the person's own refusal became the target's current
fact: checks said DENY `pending_confirmation`, and the suppression list, which lists refusals,
withdrawals, objections, erasures and restrictions, dropped the person; once the ask lapsed
unconfirmed (DENY `expired`) they stayed off it for good (probe DE). A sender filtering with
the exported list would have mailed them. `consentd_check` now reads, when the fact that
decides is `pending`, the latest fact before it that is not pending, of the target or of
everything (a STOP); when that is a refusal or withdrawal it answers with it (probe DG: a STOP
alone before the ask). The person's confirmation (a `granted` event) is the
next fact and decides as before. Only the final select and one lateral join change.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0047"
down_revision: str | None = "0046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"

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

# 0041's function, for the downgrade.
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


def _create_check(text: str) -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {CHECK_SIGNATURE}")
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {CHECK_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {CHECK_SIGNATURE} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    _create_check(CHECK_FUNCTION)


def downgrade() -> None:
    _create_check(PREVIOUS)
