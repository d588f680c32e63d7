"""consentd_check() reads every table by index again under row-level security.

Why: 0006's function joined current_consents, consent_events, subjects and the block tables on
`coalesce(i.subject_id, s.subject_id)`, the subject resolved from a digest or an id. Under the
forced row-level security of 0002 PostgreSQL may only push a condition into an index scan ahead
of the `tenant_isolation` policy if it cannot leak values, and it treats any COALESCE as leaky: as
the runtime role every per-subject lookup became a sequential scan (1,000 known subjects on 10,000
stored: 12 s per call instead of 0.07 s; the owner, who bypasses row-level security in a test,
never saw it). Materialising the resolved subjects turns the join key into a plain column, which
the planner may use in an index condition. Same answers, same signature, same grants (CREATE OR
REPLACE keeps them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# consentd_check() as 0006 created it, with the resolved subjects MATERIALIZED (the only
# change). Stated in full: the text below is what PostgreSQL stores.
CHECK_FUNCTION = """
CREATE OR REPLACE FUNCTION consentd_check(
    p_tenant uuid, p_purpose text, p_channel text, p_scope text,
    p_kinds text[], p_digests bytea[], p_ids uuid[], p_as_of timestamptz, p_at timestamptz
) RETURNS TABLE (
    lawful_basis text, notice_id text, floor integer, ord bigint, subject_id uuid,
    event_id uuid, sequence bigint, purpose_id text, channel text, scope text, state text,
    notice_version integer, valid_until timestamptz, recorded_at timestamptz,
    block_kinds text[], block_since timestamptz[]
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
        SELECT k.ord, k.kind, k.digest, coalesce(i.subject_id, s.subject_id) AS subject_id
        FROM keys k
        LEFT JOIN subject_identifiers i
            ON i.tenant_id = p_tenant AND i.kind = k.kind AND i.digest = k.digest
        LEFT JOIN subjects s ON s.tenant_id = p_tenant AND s.subject_id = k.sid
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        f.event_id, f.sequence, f.purpose_id, f.channel, f.scope, f.state, f.notice_version,
        f.valid_until, f.recorded_at, b.kinds, b.since
    FROM purpose p
    LEFT JOIN (subject x LEFT JOIN LATERAL (
        SELECT t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state,
            t.notice_version, t.valid_until, t.updated_at AS recorded_at
        FROM current_consents t
        WHERE p_as_of IS NULL AND t.tenant_id = p_tenant AND t.subject_id = x.subject_id
          AND ((t.purpose_id = p_purpose AND t.channel = p_channel AND t.scope = p_scope)
               OR t.purpose_id = '*')
        UNION ALL
        SELECT * FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until, e.recorded_at
            FROM consent_events e
            WHERE p_as_of IS NOT NULL AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.recorded_at <= p_as_of
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR e.purpose_id = '*')
            ORDER BY e.sequence DESC LIMIT 1
        ) history
        ORDER BY sequence DESC LIMIT 1
    ) f ON true LEFT JOIN LATERAL (
        -- What SqlRights.blocks() (a known subject) or .suppressions() (a contact point that
        -- names nobody) return to the unary check: restrictions and objections in force at
        -- p_at, the erasure, and suppressions.
        SELECT array_agg(bk.kind) AS kinds, array_agg(bk.since) AS since FROM (
            SELECT sb.kind, sb.since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = x.subject_id AND sb.since <= p_at
              AND (sb.lifted_at IS NULL OR sb.lifted_at > p_at)
            UNION ALL
            SELECT 'erased', s.erased_at FROM subjects s
            WHERE s.tenant_id = p_tenant AND s.subject_id = x.subject_id
              AND s.erased_at IS NOT NULL
            UNION ALL
            SELECT sp.reason, sp.created_at FROM suppressions sp
            JOIN subject_identifiers i
                ON i.tenant_id = sp.tenant_id AND i.kind = sp.kind AND i.digest = sp.digest
            WHERE i.tenant_id = p_tenant AND i.subject_id = x.subject_id
            UNION ALL
            SELECT sp.reason, sp.created_at FROM suppressions sp
            WHERE x.subject_id IS NULL AND sp.tenant_id = p_tenant AND sp.kind = x.kind
              AND sp.digest = x.digest
        ) bk
    ) b ON true) ON true
    ORDER BY x.ord;
END
$$
"""

# The downgrade puts back 0006's definition, restated here in full.
CHECK_FUNCTION_OF_0006 = """
CREATE OR REPLACE FUNCTION consentd_check(
    p_tenant uuid, p_purpose text, p_channel text, p_scope text,
    p_kinds text[], p_digests bytea[], p_ids uuid[], p_as_of timestamptz, p_at timestamptz
) RETURNS TABLE (
    lawful_basis text, notice_id text, floor integer, ord bigint, subject_id uuid,
    event_id uuid, sequence bigint, purpose_id text, channel text, scope text, state text,
    notice_version integer, valid_until timestamptz, recorded_at timestamptz,
    block_kinds text[], block_since timestamptz[]
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
    ), subject AS (
        SELECT k.ord, k.kind, k.digest, coalesce(i.subject_id, s.subject_id) AS subject_id
        FROM keys k
        LEFT JOIN subject_identifiers i
            ON i.tenant_id = p_tenant AND i.kind = k.kind AND i.digest = k.digest
        LEFT JOIN subjects s ON s.tenant_id = p_tenant AND s.subject_id = k.sid
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        f.event_id, f.sequence, f.purpose_id, f.channel, f.scope, f.state, f.notice_version,
        f.valid_until, f.recorded_at, b.kinds, b.since
    FROM purpose p
    LEFT JOIN (subject x LEFT JOIN LATERAL (
        SELECT t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state,
            t.notice_version, t.valid_until, t.updated_at AS recorded_at
        FROM current_consents t
        WHERE p_as_of IS NULL AND t.tenant_id = p_tenant AND t.subject_id = x.subject_id
          AND ((t.purpose_id = p_purpose AND t.channel = p_channel AND t.scope = p_scope)
               OR t.purpose_id = '*')
        UNION ALL
        SELECT * FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until, e.recorded_at
            FROM consent_events e
            WHERE p_as_of IS NOT NULL AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.recorded_at <= p_as_of
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR e.purpose_id = '*')
            ORDER BY e.sequence DESC LIMIT 1
        ) history
        ORDER BY sequence DESC LIMIT 1
    ) f ON true LEFT JOIN LATERAL (
        -- What SqlRights.blocks() (a known subject) or .suppressions() (a contact point that
        -- names nobody) return to the unary check: restrictions and objections in force at
        -- p_at, the erasure, and suppressions.
        SELECT array_agg(bk.kind) AS kinds, array_agg(bk.since) AS since FROM (
            SELECT sb.kind, sb.since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = x.subject_id AND sb.since <= p_at
              AND (sb.lifted_at IS NULL OR sb.lifted_at > p_at)
            UNION ALL
            SELECT 'erased', s.erased_at FROM subjects s
            WHERE s.tenant_id = p_tenant AND s.subject_id = x.subject_id
              AND s.erased_at IS NOT NULL
            UNION ALL
            SELECT sp.reason, sp.created_at FROM suppressions sp
            JOIN subject_identifiers i
                ON i.tenant_id = sp.tenant_id AND i.kind = sp.kind AND i.digest = sp.digest
            WHERE i.tenant_id = p_tenant AND i.subject_id = x.subject_id
            UNION ALL
            SELECT sp.reason, sp.created_at FROM suppressions sp
            WHERE x.subject_id IS NULL AND sp.tenant_id = p_tenant AND sp.kind = x.kind
              AND sp.digest = x.digest
        ) bk
    ) b ON true) ON true
    ORDER BY x.ord;
END
$$
"""


def upgrade() -> None:
    op.execute(CHECK_FUNCTION)


def downgrade() -> None:
    op.execute(CHECK_FUNCTION_OF_0006)
