"""The runtime role can tell a tenant that exists from a made-up tenant id.

Why: after a restart the service knew no tenant yet, and every credential it had not seen
accepted drew on one shared allowance of look-ups; a caller without any key sending made-up keys
naming random tenant ids (about 1,000 a second) drained it, and every tenant's withdrawals were
RESOURCE_EXHAUSTED until one of their credentials happened to win a look-up (probe R). The
service now reads the ids of the tenants (nothing else) through `consentd_tenant_ids()`
(SECURITY DEFINER: the runtime role sees only the tenant it is in) and gives each tenant that
exists its own allowance (app/auth.py); made-up ids share the one that is left.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "consentd_tenant_ids()"

TENANT_IDS_FUNCTION = """
CREATE OR REPLACE FUNCTION consentd_tenant_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
SELECT tenant_id FROM tenants
$$
"""


def upgrade() -> None:
    op.execute(TENANT_IDS_FUNCTION)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO consentd_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
