"""Contact points with a history: who held which contact point over which interval.

Why (issue #14): a check by email or phone resolved the contact point to its holder *now*, so
`as_of` a time before a rectification or an erasure asked the wrong person (or nobody), and once
an address was rectified away or erased, the refusals, withdrawals and objections its holder had
recorded no longer applied to it: campaign lists still holding the address would mail the person.
contact_point_holdings records each (keyed digest, subject, held_from, held_until); the service
opens a holding when it links an identifier and closes it when a rectification or an erasure
unlinks it. Existing links are backfilled as open holdings from their creation; contact points
unlinked before this revision have no holding (an erased one keeps its suppression entry).

consentd_check() (last written by 0008) is replaced in full: it now resolves a contact point at
`as_of` through the holdings (now: through subject_identifiers, as before), reads the
suppressions of the contact points a subject held at `p_at` (not of those it holds now), and,
for each earlier holding of the contact point that ended by `p_at` (another subject's), returns
the holder's latest applicable fact recorded by then, the objection in force then and the
erasure that ended it: the domain rule (domain/contact_points.py) decides from them, for the
checks and the suppression list alike. The return type changes, so it is dropped and created
(same arguments, same grants: EXECUTE for consentd_app only). It stays SECURITY INVOKER and sets
the tenant for the caller's transaction only, as 0006 explains.

Rights requests are due one month after their acknowledged receipt, not after the identity
check (the seed policy's "à compter de la confirmation de réception"): existing requests get that
due date (received_at + 1 month, PostgreSQL's month arithmetic in UTC, which clamps to the
month's last day as domain/rights.add_months does) where they had none or a later one; an
extension granted before keeps its date. The CHECK constraint that tied a due date to the
identity check becomes `due_at IS NOT NULL`; the downgrade takes the due date of unverified
requests away again.

consentd_purge_tenant_rows() (last written by 0007) is replaced in full so that the tenant purge
may empty the new table (before subjects, which it references).

Isolation, as in 0002/0005/0006: ENABLE + FORCE ROW LEVEL SECURITY and the `tenant_isolation`
policy; the runtime role may read, open (INSERT) and close (UPDATE held_until) a holding, never
delete one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "contact_point_holdings"
GRANTS = "SELECT, INSERT, UPDATE (held_until)"
CHECK_SIGNATURE = (
    "consentd_check(uuid, text, text, text, text[], bytea[], uuid[], timestamptz, timestamptz)"
)

# Existing links become open holdings, tenant by tenant (the table is under forced RLS).
BACKFILL = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM set_config('consentd.tenant_id', v_tenant::text, true);
        INSERT INTO contact_point_holdings
            (tenant_id, holding_id, kind, digest, subject_id, held_from)
        SELECT tenant_id, gen_random_uuid(), kind, digest, subject_id, created_at
        FROM subject_identifiers WHERE tenant_id = v_tenant;
    END LOOP;
    PERFORM set_config('consentd.tenant_id', '', true);
END
$$
"""

DUE_FROM_RECEIPT = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    PERFORM set_config('TimeZone', 'UTC', true);
    FOR v_tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM set_config('consentd.tenant_id', v_tenant::text, true);
        UPDATE rights_requests SET due_at = received_at + interval '1 month'
        WHERE tenant_id = v_tenant
          AND (due_at IS NULL OR due_at > received_at + interval '1 month');
    END LOOP;
    PERFORM set_config('consentd.tenant_id', '', true);
END
$$
"""

# consentd_purge_tenant_rows as this revision leaves it: 0007's list of tables the tenant purge
# may empty, children first, with contact_point_holdings before subject_identifiers
# (store/retention.py PURGE_ORDER follows the same order).
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
    IF NOT EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now()) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY[
        'consent_imports', 'consent_changes', 'consent_change_heads', 'current_consents',
        'consent_events', 'contact_changes', 'rights_requests', 'subject_blocks',
        'subject_keys', 'cookie_choices', 'cookie_visitors', 'cookie_choice_counts',
        'purge_runs', 'cookie_consent_modes', 'cookie_categories', 'cookie_policies',
        'contact_point_holdings', 'subject_identifiers', 'suppressions', 'subjects',
        'purposes', 'notices', 'notice_heads', 'idempotency_keys',
        'api_keys', 'token_issuers'
    ])) THEN
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
"""

# As 0007 left it (the downgrade puts it back).
PURGE_FUNCTION_0007 = """
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
    IF NOT EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now()) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY[
        'consent_imports', 'consent_changes', 'consent_change_heads', 'current_consents',
        'consent_events', 'contact_changes', 'rights_requests', 'subject_blocks',
        'subject_keys', 'cookie_choices', 'cookie_visitors', 'cookie_choice_counts',
        'purge_runs', 'cookie_consent_modes', 'cookie_categories', 'cookie_policies',
        'subject_identifiers', 'suppressions', 'subjects', 'purposes',
        'notices', 'notice_heads', 'idempotency_keys', 'api_keys',
        'token_issuers'
    ])) THEN
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
"""


# One row per key (kind + digest, or subject id) in key order, each with the purpose's lawful
# basis, notice and notice floor, the holder at `as_of` (now: the linked subject) and its latest
# applicable fact and blocks, and the contact point's earlier holders as they stood when it left
# them; no row at all when the purpose is not in the catalogue.
CHECK_FUNCTION = """
CREATE FUNCTION consentd_check(
    p_tenant uuid, p_purpose text, p_channel text, p_scope text,
    p_kinds text[], p_digests bytea[], p_ids uuid[], p_as_of timestamptz, p_at timestamptz
) RETURNS TABLE (
    lawful_basis text, notice_id text, floor integer, ord bigint, subject_id uuid,
    event_id uuid, sequence bigint, purpose_id text, channel text, scope text, state text,
    notice_version integer, valid_until timestamptz, recorded_at timestamptz,
    block_kinds text[], block_since timestamptz[],
    prior_ended timestamptz[], prior_event_ids uuid[], prior_sequences bigint[],
    prior_states text[], prior_recorded timestamptz[], prior_objected timestamptz[],
    prior_erased timestamptz[]
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
            array_agg(ps.erased_at ORDER BY ph.held_until) AS erased
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
                   OR e.purpose_id = '*')
            ORDER BY e.sequence DESC LIMIT 1
        ) pf ON true
        LEFT JOIN LATERAL (
            SELECT min(sb.since) AS since FROM subject_blocks sb
            WHERE sb.tenant_id = p_tenant AND sb.subject_id = ph.subject_id
              AND sb.kind = 'objected' AND sb.since <= ph.held_until
              AND (sb.lifted_at IS NULL OR sb.lifted_at > ph.held_until)
        ) po ON true
        LEFT JOIN subjects ps
            ON ps.tenant_id = p_tenant AND ps.subject_id = ph.subject_id
           AND ps.erased_at <= ph.held_until
        GROUP BY x.ord
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        f.event_id, f.sequence, f.purpose_id, f.channel, f.scope, f.state, f.notice_version,
        f.valid_until, f.recorded_at, b.kinds, b.since,
        pr.ended, pr.event_ids, pr.sequences, pr.states, pr.recorded, pr.objected, pr.erased
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

# 0008's consentd_check, in full, for the downgrade.
CHECK_FUNCTION_0008 = """
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


# Before 0012 a received (unverified) request had no due date: the downgrade takes it away.
NO_DUE_BEFORE_VERIFICATION = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM set_config('consentd.tenant_id', v_tenant::text, true);
        UPDATE rights_requests SET due_at = NULL, extended_due_at = NULL
        WHERE tenant_id = v_tenant AND state = 'received';
    END LOOP;
    PERFORM set_config('consentd.tenant_id', '', true);
END
$$
"""
OLD_DUE_CHECK = (
    "(state = 'received') = (verified_at IS NULL AND due_at IS NULL) OR state = 'refused'"
)


def _due_from_receipt() -> None:
    op.drop_constraint(
        op.f("ck_rights_requests_due_once_verified"), "rights_requests", type_="check"
    )
    op.execute(DUE_FROM_RECEIPT)
    op.create_check_constraint(
        op.f("ck_rights_requests_verified_once"),
        "rights_requests",
        "(state = 'received') = (verified_at IS NULL) OR state = 'refused'",
    )
    op.create_check_constraint(
        op.f("ck_rights_requests_due_from_receipt"), "rights_requests", "due_at IS NOT NULL"
    )


def _due_from_verification() -> None:
    op.drop_constraint(
        op.f("ck_rights_requests_due_from_receipt"), "rights_requests", type_="check"
    )
    op.drop_constraint(op.f("ck_rights_requests_verified_once"), "rights_requests", type_="check")
    op.execute(NO_DUE_BEFORE_VERIFICATION)
    op.create_check_constraint(
        op.f("ck_rights_requests_due_once_verified"), "rights_requests", OLD_DUE_CHECK
    )


def _create_check(text: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {CHECK_SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {CHECK_SIGNATURE} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("holding_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("digest", postgresql.BYTEA(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("held_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('external_id','email','phone')", name=op.f("ck_contact_point_holdings_kind")
        ),
        sa.CheckConstraint(
            "octet_length(digest) = 32", name=op.f("ck_contact_point_holdings_digest_length")
        ),
        sa.CheckConstraint(
            "held_until IS NULL OR held_until >= held_from",
            name=op.f("ck_contact_point_holdings_held_after"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_contact_point_holdings_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "holding_id", name=op.f("pk_contact_point_holdings")),
    )
    op.create_index(
        "ix_contact_point_holdings_point", TABLE, ["tenant_id", "kind", "digest", "held_from"]
    )
    op.create_index("ix_contact_point_holdings_subject", TABLE, ["tenant_id", "subject_id"])
    op.create_index(
        "ix_contact_point_holdings_ended",
        TABLE,
        ["tenant_id", "kind", "digest"],
        postgresql_where=sa.text("held_until IS NOT NULL"),
    )
    op.create_index(
        "uq_contact_point_holdings_open",
        TABLE,
        ["tenant_id", "kind", "digest"],
        unique=True,
        postgresql_where=sa.text("held_until IS NULL"),
    )
    op.execute(BACKFILL)
    _due_from_receipt()
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT {GRANTS} ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(f"DROP FUNCTION {CHECK_SIGNATURE}")
    _create_check(CHECK_FUNCTION)
    op.execute(PURGE_FUNCTION)


def downgrade() -> None:
    _due_from_verification()
    op.execute(PURGE_FUNCTION_0007)
    op.execute(f"DROP FUNCTION {CHECK_SIGNATURE}")
    _create_check(CHECK_FUNCTION_0008)
    op.execute(f"REVOKE ALL ON {TABLE} FROM {RUNTIME_ROLE}")
    op.drop_table(TABLE)  # with its policy and indexes
