"""Webhooks: the change feed pushed to a tenant's own HTTPS endpoint.

Why: a CRM or campaign tool had to hold a WatchConsentChanges stream open to hear of a
withdrawal; the consent platforms it is compared with (OneTrust, Didomi, fides) push changes to
an endpoint instead. A `webhooks` row is one endpoint of one tenant: its URL, the salt its
signing secret is derived from with the service secret (the secret itself is never stored), the
feed cursor after the last change it acknowledged (and its position), the last position of the
page being sent (a retry sends that same page again), its failures and next attempt, and the
lease of the serving process that delivers to it (one at a time, whatever the replicas).

Isolation as every tenant table (0002): ENABLE + FORCE ROW LEVEL SECURITY and the
`tenant_isolation` policy; `owner_read` as 0056. The runtime role reads, adds, and changes only
the delivery columns and `removed_at` (a webhook is removed, never deleted: its id stays in the
audit log). `consentd_webhooks()` (SECURITY DEFINER, the owner's read) lists the webhooks not
removed: the serving processes find them without looping over every tenant (a purged tenant's
are listed too; its guarded transactions refuse to deliver).

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0057"
down_revision: str | None = "0056"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "webhooks"
SIGNATURE = "consentd_webhooks()"

CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    tenant_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    url text NOT NULL,
    salt bytea NOT NULL,
    created_at timestamptz NOT NULL,
    removed_at timestamptz,
    generation integer NOT NULL DEFAULT 0,
    cursor text NOT NULL DEFAULT '',
    delivered_position bigint NOT NULL DEFAULT 0,
    attempted_through bigint NOT NULL DEFAULT 0,
    delivered_at timestamptz,
    failures integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    leased_by uuid,
    leased_until timestamptz,
    CONSTRAINT pk_webhooks PRIMARY KEY (tenant_id, webhook_id),
    CONSTRAINT fk_webhooks_tenant_id_tenants FOREIGN KEY (tenant_id)
        REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    CONSTRAINT ck_webhooks_url_length CHECK (char_length(url) BETWEEN 8 AND 2048),
    CONSTRAINT ck_webhooks_salt_length CHECK (octet_length(salt) = 32),
    CONSTRAINT ck_webhooks_cursor_length CHECK (char_length(cursor) <= 512),
    CONSTRAINT ck_webhooks_error_length CHECK (char_length(last_error) <= 300)
)
"""

LIST = """
CREATE OR REPLACE FUNCTION consentd_webhooks() RETURNS TABLE (tenant_id uuid, webhook_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
SELECT w.tenant_id, w.webhook_id FROM webhooks w
WHERE w.removed_at IS NULL
ORDER BY w.tenant_id, w.webhook_id
$$
"""

_DELIVERY = (
    "generation, cursor, delivered_position, attempted_through, delivered_at, failures, "
    "next_attempt_at, "
    "last_error, leased_by, leased_until, removed_at"
)


def upgrade() -> None:
    # Each statement can run again over its own result (tests/integration/test_migrations.py).
    op.execute(CREATE)
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {TABLE}")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"DROP POLICY IF EXISTS owner_read ON {TABLE}")
    op.execute(f"CREATE POLICY owner_read ON {TABLE} FOR SELECT TO CURRENT_USER USING (true)")
    op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(f"GRANT UPDATE ({_DELIVERY}) ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(LIST)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    op.execute(f"DROP TABLE IF EXISTS {TABLE}")
