"""A check of the service secret per tenant, kept when every subject is erased.

Why: at start, a secret that does not open a stored data key stops the process (0049); with
every subject of a database erased there is no data key left to try, a wrong
CONSENTD_SECRET_KEY started, and a system's grant then made an erased address a new subject
again (its suppression digest, keyed under the right secret, no longer matched; probe DU). Each
tenant now keeps `tenant_secret_checks.digest`, a keyed digest of a fixed text under the secret
(domain/sealing.secret_check), written once the secret is proven: at a start whose check opened
a data key (for every tenant, `consentd_secret_mark`), and by an erasure whose subject's key it
opened. `consentd_secret_check()` returns the first tenant's, so a start checks the secret on
it and on 0049's data key sample (left as it was: the release before reads it).

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
CHECK_SIGNATURE = "consentd_secret_check()"
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

# The first tenant's secret check found, walking the tenants as 0049's consentd_key_sample does
# (which stays as it was: a release before this one reads it at start, and a rollback to it
# crash-looped on a tenant with a check and no key; probe DY).
CHECK = """
CREATE OR REPLACE FUNCTION consentd_secret_check() RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    t uuid;
    found bytea;
BEGIN
    FOR t IN SELECT consentd_tenant_ids() LOOP
        PERFORM set_config('consentd.tenant_id', t::text, true);
        SELECT c.digest INTO found FROM tenant_secret_checks c WHERE c.tenant_id = t;
        IF found IS NOT NULL THEN
            RETURN found;
        END IF;
    END LOOP;
    RETURN NULL;
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
    _function(CHECK, CHECK_SIGNATURE)
    _function(MARK, MARK_SIGNATURE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {MARK_SIGNATURE}")
    op.execute(f"DROP FUNCTION {CHECK_SIGNATURE}")
    op.execute(f"DROP TABLE {TABLE}")
