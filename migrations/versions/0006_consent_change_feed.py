"""Consent change feed (a transactional outbox with gap-free per-tenant positions), and the
check of many subjects as one function call.

Why: marketing tools that cache answers must learn about withdrawals at once and must be able to
resume after a disconnection without missing or repeating a change. Every consent event gets a
row in consent_changes in the same transaction, numbered from a per-tenant head row that the
writer keeps locked until it commits, so positions are gap-free in commit order. Existing events
are numbered in sequence order so the feed starts complete (tenant by tenant, inside each
tenant, because consent_events is under forced row-level security since 0002).

Isolation, as in 0002/0004/0005: both tables get ENABLE + FORCE ROW LEVEL SECURITY and the
`tenant_isolation` policy on consentd_current_tenant(); the runtime role gets SELECT and INSERT
on the outbox, and on the head SELECT, INSERT and UPDATE of last_position only. The tenant purge
(0005's consentd_purge_tenant_rows) may now empty both tables too: the outbox references
consent_events, so it goes first.

consentd_check() answers a batch of checks in one round trip: the subjects (by keyed digest or
id), the purpose, its notice floor, the latest applicable fact, and the blocks of issue #5
(restrictions and objections in force, the erasure, suppressions of the subject's identifiers,
or of the contact point itself when it names nobody) that decide() weighs exactly as the unary
check does. It always uses the generic plan: planning afresh for every call cost PostgreSQL more
CPU than running it.

Why it is safe that consentd_check() sets the tenant itself: it is SECURITY INVOKER, so every
read runs as the caller (consentd_app) under the forced RLS policies, and sees only rows of the
tenant named in `consentd.tenant_id`. It sets that with is_local = true, i.e. for the caller's
current transaction only (the read pool sends it as a statement of its own, so the setting dies
with that statement's implicit transaction and never reaches the next user of the connection).
It grants nothing the caller lacks: any session of consentd_app can call set_config itself, and
the service always names the tenant of the authenticated principal, exactly as SqlUnitOfWork
does. EXECUTE is revoked from PUBLIC and granted to consentd_app only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
# New table -> privileges of the runtime role (both are tenant tables under RLS).
GRANTS = {
    # The outbox is only appended to (and read by the feed).
    "consent_changes": "SELECT, INSERT",
    # The head is upserted by every write: it moves, it is never deleted by the service.
    "consent_change_heads": "SELECT, INSERT, UPDATE (last_position)",
}
CHECK_SIGNATURE = (
    "consentd_check(uuid, text, text, text, text[], bytea[], uuid[], timestamptz, timestamptz)"
)
# Numbers existing events tenant by tenant: consent_events is under forced RLS, so each
# tenant's rows are read with that tenant set (transaction-local) — by the owner too.
BACKFILL = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM set_config('consentd.tenant_id', v_tenant::text, true);
        INSERT INTO consent_changes (tenant_id, position, event_id)
        SELECT tenant_id, row_number() OVER (ORDER BY sequence), event_id
        FROM consent_events WHERE tenant_id = v_tenant;
        INSERT INTO consent_change_heads (tenant_id, last_position)
        SELECT v_tenant, max(position) FROM consent_changes WHERE tenant_id = v_tenant
        HAVING count(*) > 0;
    END LOOP;
    PERFORM set_config('consentd.tenant_id', '', true);
END
$$
"""


# 0005's consentd_purge_tenant_rows, allowed to empty the outbox (before the events it
# references) and the head as well. Stated in full: the text below is what PostgreSQL stores.
PURGE_FUNCTION = """
CREATE OR REPLACE FUNCTION consentd_purge_tenant_rows(p_tenant uuid, p_table text, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF p_tenant IS DISTINCT FROM consentd_current_tenant() THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT 
    EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now())
 THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY['consent_changes', 'consent_change_heads', 'current_consents', 'consent_events', 'contact_changes', 'rights_requests', 'subject_blocks', 'subject_keys', 'cookie_choices', 'cookie_visitors', 'cookie_choice_counts', 'purge_runs', 'cookie_consent_modes', 'cookie_categories', 'cookie_policies', 'subject_identifiers', 'suppressions', 'subjects', 'purposes', 'notices', 'notice_heads', 'idempotency_keys', 'api_keys', 'token_issuers'])) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: % is not purged this way', p_table
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('consentd.tenant_purge', 'on', true);
    EXECUTE format('DELETE FROM %I WHERE tenant_id = $1 AND ctid = ANY (ARRAY('
                   'SELECT ctid FROM %I WHERE tenant_id = $1 LIMIT $2))', p_table, p_table)
        USING p_tenant, p_limit;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('consentd.tenant_purge', 'off', true);
    RETURN v_deleted;
END
$$
"""  # noqa: W291

# The downgrade puts back 0005's definition, restated here in full.
PURGE_FUNCTION_OF_0005 = """
CREATE OR REPLACE FUNCTION consentd_purge_tenant_rows(p_tenant uuid, p_table text, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF p_tenant IS DISTINCT FROM consentd_current_tenant() THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT 
    EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now())
 THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY['current_consents', 'consent_events', 'contact_changes', 'rights_requests', 'subject_blocks', 'subject_keys', 'cookie_choices', 'cookie_visitors', 'cookie_choice_counts', 'purge_runs', 'cookie_consent_modes', 'cookie_categories', 'cookie_policies', 'subject_identifiers', 'suppressions', 'subjects', 'purposes', 'notices', 'notice_heads', 'idempotency_keys', 'api_keys', 'token_issuers'])) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: % is not purged this way', p_table
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('consentd.tenant_purge', 'on', true);
    EXECUTE format('DELETE FROM %I WHERE tenant_id = $1 AND ctid = ANY (ARRAY('
                   'SELECT ctid FROM %I WHERE tenant_id = $1 LIMIT $2))', p_table, p_table)
        USING p_tenant, p_limit;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('consentd.tenant_purge', 'off', true);
    RETURN v_deleted;
END
$$
"""  # noqa: W291


# One row per key (kind + digest, or subject id) in key order, each with the purpose's lawful
# basis, notice and notice floor and the latest fact for the target or for "everything" (now, or
# as of p_as_of from the history); no row at all when the purpose is not in the catalogue.
CHECK_FUNCTION = """
CREATE FUNCTION consentd_check(
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
    op.create_table(
        "consent_change_heads",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "last_position >= 0", name=op.f("ck_consent_change_heads_last_position")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_consent_change_heads_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_consent_change_heads")),
    )
    op.create_table(
        "consent_changes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("position > 0", name=op.f("ck_consent_changes_position_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["consent_events.tenant_id", "consent_events.event_id"],
            name=op.f("fk_consent_changes_tenant_id_consent_events"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "position", name=op.f("pk_consent_changes")),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_consent_changes_event"),
    )
    op.execute(BACKFILL)
    for table, grants in GRANTS.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
        op.execute(f"GRANT {grants} ON {table} TO {RUNTIME_ROLE}")
    op.execute(CHECK_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {CHECK_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {CHECK_SIGNATURE} TO {RUNTIME_ROLE}")
    op.execute(PURGE_FUNCTION)


def downgrade() -> None:
    op.execute(PURGE_FUNCTION_OF_0005)
    op.execute(f"DROP FUNCTION {CHECK_SIGNATURE}")  # with its EXECUTE grants
    for table in reversed(tuple(GRANTS)):
        op.execute(f"REVOKE ALL ON {table} FROM {RUNTIME_ROLE}")
    op.drop_table("consent_changes")  # with its policy
    op.drop_table("consent_change_heads")
