"""A check of the service secret per tenant, kept when every subject is erased.

Why: at start, a secret that does not open a stored data key stops the process (0049); with
every subject of a database erased there is no data key left to try, a wrong
CONSENTD_SECRET_KEY started, and a system's grant then made an erased address a new subject
again (its suppression digest, keyed under the right secret, no longer matched; probe DU). Each
tenant now keeps `tenant_secret_checks.digest`, a keyed digest of a fixed text under the secret
(domain/sealing.secret_check), written once the secret is proven: at a start whose check opened
a data key (for every tenant, `consentd_secret_mark`), and by an erasure whose subject's key it
opened. `consentd_key_sample()` returns it beside the data key, so a start checks either.

Not personal data, and kept by the tenant purge: a purged tenant's data is gone, and the digest
says nothing of anyone. Isolation as every tenant table (0002): ENABLE + FORCE ROW LEVEL
SECURITY and the `tenant_isolation` policy; the runtime role reads and inserts, never changes.

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0050"
down_revision: str | None = "0049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "tenant_secret_checks"
SAMPLE_SIGNATURE = "consentd_key_sample()"
MARK_SIGNATURE = "consentd_secret_mark(bytea, timestamptz)"

CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    tenant_id uuid NOT NULL,
    digest bytea NOT NULL,
    made_at timestamptz NOT NULL,
    CONSTRAINT pk_tenant_secret_checks PRIMARY KEY (tenant_id),
    CONSTRAINT fk_tenant_secret_checks_tenant_id_tenants FOREIGN KEY (tenant_id)
        REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    CONSTRAINT ck_tenant_secret_checks_digest_length CHECK (octet_length(digest) = 32)
)
"""

# One tenant's stored data key (when it has one) and secret check (when it has one), the first
# tenant with either, with the key id of its latest signed tree head.
SAMPLE = """
CREATE FUNCTION consentd_key_sample() RETURNS TABLE (
    tenant_id uuid, subject_id uuid, wrapped_key bytea, signed_by text, secret_check bytea
) LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
#variable_conflict use_column
DECLARE
    t uuid;
BEGIN
    FOR t IN SELECT consentd_tenant_ids() LOOP
        PERFORM set_config('consentd.tenant_id', t::text, true);
        RETURN QUERY
        SELECT t, k.subject_id, k.wrapped_key, (
            SELECT h.key_id FROM audit_tree_heads h
            WHERE h.tenant_id = t ORDER BY h.tree_size DESC LIMIT 1), c.digest
        FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (
            SELECT s.subject_id, s.wrapped_key FROM subject_keys s WHERE s.tenant_id = t LIMIT 1
        ) AS k ON true
        LEFT JOIN tenant_secret_checks c ON c.tenant_id = t
        WHERE k.subject_id IS NOT NULL OR c.digest IS NOT NULL;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
END
$$
"""

# Every tenant without a check gets `p_digest`: called once the secret is proven. The number
# of tenants marked.
MARK = """
CREATE OR REPLACE FUNCTION consentd_secret_mark(p_digest bytea, p_at timestamptz) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    t uuid;
    marked integer := 0;
BEGIN
    FOR t IN SELECT consentd_tenant_ids() LOOP
        PERFORM set_config('consentd.tenant_id', t::text, true);
        INSERT INTO tenant_secret_checks (tenant_id, digest, made_at) VALUES (t, p_digest, p_at)
        ON CONFLICT (tenant_id) DO NOTHING;
        IF FOUND THEN
            marked := marked + 1;
        END IF;
    END LOOP;
    RETURN marked;
END
$$
"""

# 0049's, for the downgrade.
SAMPLE_0049 = """
CREATE FUNCTION consentd_key_sample() RETURNS TABLE (
    tenant_id uuid, subject_id uuid, wrapped_key bytea, signed_by text
) LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
#variable_conflict use_column
DECLARE
    t uuid;
BEGIN
    FOR t IN SELECT consentd_tenant_ids() LOOP
        PERFORM set_config('consentd.tenant_id', t::text, true);
        RETURN QUERY
        SELECT k.tenant_id, k.subject_id, k.wrapped_key, (
            SELECT h.key_id FROM audit_tree_heads h
            WHERE h.tenant_id = t ORDER BY h.tree_size DESC LIMIT 1)
        FROM subject_keys k WHERE k.tenant_id = t LIMIT 1;
        IF FOUND THEN
            RETURN;
        END IF;
    END LOOP;
END
$$
"""


def _function(text: str, signature: str) -> None:
    op.execute(text)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    # Each statement can run again over its own result (a database at 0049 whose upgrade is
    # replayed: tests/integration/test_migrations.py).
    op.execute(CREATE)
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {TABLE}")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(f"DROP FUNCTION IF EXISTS {SAMPLE_SIGNATURE}")  # its columns change
    _function(SAMPLE, SAMPLE_SIGNATURE)
    _function(MARK, MARK_SIGNATURE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {MARK_SIGNATURE}")
    op.execute(f"DROP FUNCTION {SAMPLE_SIGNATURE}")
    _function(SAMPLE_0049, SAMPLE_SIGNATURE)
    op.execute(f"DROP TABLE {TABLE}")
