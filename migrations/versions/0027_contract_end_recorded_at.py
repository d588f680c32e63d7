"""The month of reversibility counts from when the contract's end was recorded, if later.

Why: a tenant's admin key set its contract's end 32 days in the past (and lifted its legal
hold), and the next scheduled run purged everything: the month after the contract's end that
the policy keeps for reversibility ("durant toute la durée du contrat puis un mois après sa
cessation") never existed (probe R). `contract_end_recorded_at` is when the current end was
set; the job purges a month after the later of the two (domain/retention.purge_due_at). Ends
set before this revision count as recorded at the end itself (as they did).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database stamped back to an older revision migrates again (a rollback).
    op.execute(
        "ALTER TABLE tenant_retention ADD COLUMN IF NOT EXISTS contract_end_recorded_at timestamptz"
    )
    # Under forced row-level security the owner sees no tenant's row without its tenant set:
    # each tenant in turn.
    op.execute(
        """
        DO $$
        DECLARE t uuid;
        BEGIN
          FOR t IN SELECT tenant_id FROM tenants LOOP
            PERFORM set_config('consentd.tenant_id', t::text, true);
            UPDATE tenant_retention SET contract_end_recorded_at = contract_ended_at
            WHERE tenant_id = t AND contract_end_recorded_at IS NULL;
          END LOOP;
          PERFORM set_config('consentd.tenant_id', '', true);
        END
        $$
        """
    )
    op.execute("GRANT UPDATE (contract_end_recorded_at) ON tenant_retention TO consentd_app")


def downgrade() -> None:
    op.drop_column("tenant_retention", "contract_end_recorded_at")
