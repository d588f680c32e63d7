"""Holdings for the contact points `consentd import consents` linked without one.

Why: 0012 made every link of an identifier to a subject an open holding (who held which contact
point since when: what a check in the past resolves a contact point through, and what carries a
former holder's "no" over to the next). Live writers open one in the statement that links; the
import linked its new subjects' identifiers without, so a check `as_of` a time after the import
answered "no record" for an imported address, and an erasure or rectification of an imported
person had no holding to end. The import now opens them (store/subjects.py CREATE_LINKED); this
revision opens the missing ones, as 0012's backfill did: from the link's time, tenant by tenant
(the table is under forced row-level security). Downgrade leaves them: they are correct data.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
DO $$
DECLARE
    v_tenant uuid;
BEGIN
    FOR v_tenant IN SELECT tenant_id FROM tenants LOOP
        PERFORM set_config('consentd.tenant_id', v_tenant::text, true);
        INSERT INTO contact_point_holdings
            (tenant_id, holding_id, kind, digest, subject_id, held_from)
        SELECT i.tenant_id, gen_random_uuid(), i.kind, i.digest, i.subject_id, i.created_at
        FROM subject_identifiers i
        WHERE i.tenant_id = v_tenant AND NOT EXISTS (
            SELECT 1 FROM contact_point_holdings h
            WHERE h.tenant_id = i.tenant_id AND h.kind = i.kind AND h.digest = i.digest
              AND h.held_until IS NULL);
    END LOOP;
    PERFORM set_config('consentd.tenant_id', '', true);
END
$$
"""


def upgrade() -> None:
    op.execute(BACKFILL)


def downgrade() -> None:
    pass  # the holdings opened are true: nothing to undo
