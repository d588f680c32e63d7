"""Checkpoints of `consentd import consents`.

Why: a bulk import of consents collected elsewhere must survive being killed half-way without
importing a row twice. Each batch of rows is written through the RecordConsent/WithdrawConsent
use cases in one transaction that also advances this table's row for the file (its SHA-256), so
the checkpoint and the rows it counts commit together or not at all.

Isolation, as in 0002/0004/0005/0006: ENABLE + FORCE ROW LEVEL SECURITY and the
`tenant_isolation` policy; the runtime role may read, insert and advance a checkpoint, never
delete one. The tenant purge (consentd_purge_tenant_rows) may empty it too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "consent_imports"
GRANTS = "SELECT, INSERT, UPDATE (last_line, imported, superseded, updated_at, completed_at)"


# consentd_purge_tenant_rows as 0006 left it, allowed to empty the checkpoints too. Stated in
# full: the text below is what PostgreSQL stores.
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
    IF NOT (p_table = ANY (ARRAY['consent_imports', 'consent_changes', 'consent_change_heads', 'current_consents', 'consent_events', 'contact_changes', 'rights_requests', 'subject_blocks', 'subject_keys', 'cookie_choices', 'cookie_visitors', 'cookie_choice_counts', 'purge_runs', 'cookie_consent_modes', 'cookie_categories', 'cookie_policies', 'subject_identifiers', 'suppressions', 'subjects', 'purposes', 'notices', 'notice_heads', 'idempotency_keys', 'api_keys', 'token_issuers'])) THEN
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

# The downgrade puts back 0006's definition, restated here in full.
PURGE_FUNCTION_OF_0006 = """
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


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("superseded", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "file_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_consent_imports_file_sha256")
        ),
        sa.CheckConstraint(
            "last_line >= 1 AND imported >= 0 AND superseded >= 0",
            name=op.f("ck_consent_imports_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_consent_imports_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "file_sha256", name=op.f("pk_consent_imports")),
    )
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT {GRANTS} ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(PURGE_FUNCTION)


def downgrade() -> None:
    op.execute(PURGE_FUNCTION_OF_0006)
    op.execute(f"REVOKE ALL ON {TABLE} FROM {RUNTIME_ROLE}")
    op.drop_table(TABLE)  # with its policy
