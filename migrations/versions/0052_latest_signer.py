"""The key id of the audit log's latest signature, tree head or checkpoint, for the runtime role.

Why: a start compares CONSENTD_AUDIT_SIGNING_KEY with the key the log was last signed with and
warns `audit_signing_key_changed` when they differ (a rotation, or a mistake `audit verify` then
reads as a bad signature). It read the latest tree head only: a tenant below the tree heads'
interval, signed by `consentd audit checkpoint` alone, was served with another key without a
word, and a checkpoint signed with it then failed verification under either key (probe FG).
0049's consentd_key_sample() is left as it is (a rollback runs the code that reads it).

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0052"
down_revision: str | None = "0051"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_latest_signer()"

# Each tenant's latest tree head and latest checkpoint (walking the tenants as 0049's
# consentd_key_sample does, row-level security set for each): the key id of the newest of all.
LATEST = """
CREATE OR REPLACE FUNCTION consentd_latest_signer() RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
    t uuid;
    found_key text;
    found_at timestamptz;
    k text;
    at timestamptz;
BEGIN
    FOR t IN SELECT consentd_tenant_ids() LOOP
        PERFORM set_config('consentd.tenant_id', t::text, true);
        SELECT s.key_id, s.signed_at INTO k, at FROM (
            (SELECT h.key_id, h.signed_at FROM audit_tree_heads h
             WHERE h.tenant_id = t ORDER BY h.tree_size DESC LIMIT 1)
            UNION ALL
            (SELECT c.key_id, c.signed_at FROM audit_checkpoints c
             WHERE c.tenant_id = t ORDER BY c.seq DESC LIMIT 1)
        ) s ORDER BY s.signed_at DESC LIMIT 1;
        IF k IS NOT NULL AND (found_at IS NULL OR at > found_at) THEN
            found_key := k;
            found_at := at;
        END IF;
    END LOOP;
    RETURN found_key;
END
$$
"""


def upgrade() -> None:
    op.execute(LATEST)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
