"""One stored data key, and the key its tenant's latest tree head was signed with, for the
runtime role at start: whether the service secret and the signing key given are the data's.

Why: with DATABASE_URL a wrong CONSENTD_SECRET_KEY served beside the data, finding nobody by
e-mail or phone (embedded mode refused it). The runtime role sees one tenant at a time (row-level
security on `consentd.tenant_id`): tenant by tenant from the service, the first tenants of a
database with many had no subject, and the check passed with the wrong secret. This function
walks the tenants inside the database, one round trip, as the caller (row-level security holds).

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0049"
down_revision: str | None = "0048"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_key_sample()"

SAMPLE = """
CREATE OR REPLACE FUNCTION consentd_key_sample() RETURNS TABLE (
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


def upgrade() -> None:
    op.execute(SAMPLE)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
