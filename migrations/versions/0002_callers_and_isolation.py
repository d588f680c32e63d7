"""Callers and tenant isolation: API keys, portal token issuers, idempotency keys, row-level
security on every tenant table, and the runtime role.

Why: a tenant must never read or change another tenant's rows, even through a bug in a query.
Every tenant table gets ENABLE + FORCE ROW LEVEL SECURITY with one policy comparing tenant_id to
the per-transaction setting `consentd.tenant_id` (set by the unit of work with is_local = true):
a connection with no tenant set sees nothing. The service runs as `consentd_app`, which owns
nothing, is no superuser, has no BYPASSRLS, and gets only the privileges each table needs
(consent events: SELECT and INSERT only). Migrations run as the owner.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
# table -> privileges of the runtime role; every one of them is a tenant table under RLS.
GRANTS = {
    "tenants": "SELECT",
    "subjects": "SELECT, INSERT, DELETE",
    "subject_identifiers": "SELECT, INSERT",
    "notice_heads": "SELECT, INSERT, UPDATE",
    "notices": "SELECT, INSERT",
    "purposes": "SELECT, INSERT, UPDATE",
    "consent_events": "SELECT, INSERT",
    "current_consents": "SELECT, INSERT, UPDATE",
    "api_keys": "SELECT",
    "token_issuers": "SELECT",
    "idempotency_keys": "SELECT, INSERT, UPDATE, DELETE",
}
CURRENT_TENANT = """
CREATE FUNCTION consentd_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('consentd.tenant_id', true), '')::uuid $$
"""


def isolate(table: str, grants: str) -> None:
    """RLS with the tenant policy, and the runtime role's privileges, for one tenant table."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = consentd_current_tenant()) "
        "WITH CHECK (tenant_id = consentd_current_tenant())"
    )
    op.execute(f"GRANT {grants} ON {table} TO {RUNTIME_ROLE}")


def release(table: str) -> None:
    op.execute(f"REVOKE ALL ON {table} FROM {RUNTIME_ROLE}")
    op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("secret_sha256", postgresql.BYTEA(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("key_id ~ '^[a-z2-7]{16}$'", name=op.f("ck_api_keys_key_id_format")),
        sa.CheckConstraint(
            "scopes <@ ARRAY['consent:check', 'consent:write', 'cookies:write', 'subject:self', 'admin']::text[]",
            name=op.f("ck_api_keys_known_scopes"),
        ),
        sa.CheckConstraint("cardinality(scopes) > 0", name=op.f("ck_api_keys_some_scope")),
        sa.CheckConstraint(
            "octet_length(secret_sha256) = 32", name=op.f("ck_api_keys_secret_sha256_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key_id", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("caller", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("request_sha256", postgresql.BYTEA(), nullable=False),
        sa.Column("response", postgresql.BYTEA(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "char_length(key) BETWEEN 1 AND 255", name=op.f("ck_idempotency_keys_key_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_idempotency_keys_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "caller", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        "ix_idempotency_keys_expires", "idempotency_keys", ["tenant_id", "expires_at"], unique=False
    )
    op.create_table(
        "token_issuers",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_token_issuers_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "issuer", name=op.f("pk_token_issuers")),
    )
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RUNTIME_ROLE}') "
        f"THEN CREATE ROLE {RUNTIME_ROLE} NOLOGIN NOINHERIT; END IF; END $$"
    )
    op.execute(CURRENT_TENANT)
    for table, grants in GRANTS.items():
        isolate(table, grants)
    op.execute(f"GRANT USAGE ON SEQUENCE consent_events_sequence_seq TO {RUNTIME_ROLE}")
    # The owner (the role running migrations, and the admin CLI) finds tenants by slug.
    op.execute("CREATE POLICY owner_lookup ON tenants FOR SELECT TO CURRENT_USER USING (true)")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON SEQUENCE consent_events_sequence_seq FROM {RUNTIME_ROLE}")
    op.execute("DROP POLICY owner_lookup ON tenants")
    for table in GRANTS:
        release(table)
    op.execute("DROP FUNCTION consentd_current_tenant()")
    op.drop_table("token_issuers")
    op.drop_index("ix_idempotency_keys_expires", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("api_keys")
