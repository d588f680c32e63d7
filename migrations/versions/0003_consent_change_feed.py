"""Consent change feed (a transactional outbox with gap-free per-tenant positions), and the
check of many subjects as one function call.

Why: marketing tools that cache answers must learn about withdrawals at once and must be able to
resume after a disconnection without missing or repeating a change. Every consent event gets a
row in consent_changes in the same transaction, numbered from a per-tenant head row that the
writer keeps locked until it commits, so positions are gap-free in commit order. Existing events
are numbered in sequence order so the feed starts complete.

consentd_check() answers a batch of checks in one round trip: it sets the tenant for its own
transaction (transaction-local, as every unit of work does) and then reads, so a check needs no
BEGIN / set_config / ROLLBACK exchange around its one query. It always uses the generic plan:
planning the query afresh for every call (PL/pgSQL's custom plans) cost PostgreSQL more CPU than
running it.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("consent_change_heads", "consent_changes")
POLICY = """
CREATE POLICY tenant_isolation ON {table} FOR ALL
    USING (tenant_id = nullif(current_setting('consentd.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('consentd.tenant_id', true), '')::uuid)
"""
BACKFILL_CHANGES = """
INSERT INTO consent_changes (tenant_id, position, event_id)
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY sequence), event_id
FROM consent_events
"""
BACKFILL_HEADS = """
INSERT INTO consent_change_heads (tenant_id, last_position)
SELECT tenant_id, max(position) FROM consent_changes GROUP BY tenant_id
"""


# One row per key (kind + digest, or subject id) in key order, each with the purpose's lawful
# basis, notice and notice floor and the latest fact for the target or for "everything" (now, or
# as of p_as_of from the history); no row at all when the purpose is not in the catalogue.
CHECK_FUNCTION = """
CREATE FUNCTION consentd_check(
    p_tenant uuid, p_purpose text, p_channel text, p_scope text,
    p_kinds text[], p_digests bytea[], p_ids uuid[], p_as_of timestamptz
) RETURNS TABLE (
    lawful_basis text, notice_id text, floor integer, ord bigint, subject_id uuid,
    event_id uuid, sequence bigint, purpose_id text, channel text, scope text, state text,
    notice_version integer, valid_until timestamptz
) LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $$
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
        SELECT k.ord, coalesce(i.subject_id, s.subject_id) AS subject_id
        FROM keys k
        LEFT JOIN subject_identifiers i
            ON i.tenant_id = p_tenant AND i.kind = k.kind AND i.digest = k.digest
        LEFT JOIN subjects s ON s.tenant_id = p_tenant AND s.subject_id = k.sid
    )
    SELECT p.lawful_basis, p.notice_id, p.floor, x.ord, x.subject_id,
        f.event_id, f.sequence, f.purpose_id, f.channel, f.scope, f.state, f.notice_version,
        f.valid_until
    FROM purpose p
    LEFT JOIN (subject x LEFT JOIN LATERAL (
        SELECT t.event_id, t.sequence, t.purpose_id, t.channel, t.scope, t.state,
            t.notice_version, t.valid_until
        FROM current_consents t
        WHERE p_as_of IS NULL AND t.tenant_id = p_tenant AND t.subject_id = x.subject_id
          AND ((t.purpose_id = p_purpose AND t.channel = p_channel AND t.scope = p_scope)
               OR t.purpose_id = '*')
        UNION ALL
        SELECT * FROM (
            SELECT e.event_id, e.sequence, e.purpose_id, e.channel, e.scope, e.state,
                e.notice_version, e.valid_until
            FROM consent_events e
            WHERE p_as_of IS NOT NULL AND e.tenant_id = p_tenant
              AND e.subject_id = x.subject_id AND e.recorded_at <= p_as_of
              AND ((e.purpose_id = p_purpose AND e.channel = p_channel AND e.scope = p_scope)
                   OR e.purpose_id = '*')
            ORDER BY e.sequence DESC LIMIT 1
        ) history
        ORDER BY sequence DESC LIMIT 1
    ) f ON true) ON true
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
    op.execute(CHECK_FUNCTION)
    op.execute(BACKFILL_CHANGES)
    op.execute(BACKFILL_HEADS)
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(POLICY.format(table=table))


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION consentd_check(uuid, text, text, text, text[], bytea[], uuid[], timestamptz)"
    )
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.drop_table("consent_changes")
    op.drop_table("consent_change_heads")
