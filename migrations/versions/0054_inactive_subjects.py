"""A tenant may have the subjects nobody heard from in N months erased by the retention job.

Why: the privacy policy keeps the data of which the tenant is the controller "only as long as
reasonably necessary" for its purposes, and the CNIL's reference for prospects is three years
after the last contact that came from them; consentd kept a person who never answered for as
long as the tenant's contract ran (probe GD). `inactive_subject_months` (0: never, the default;
else 12 to 120) is that limit; the job (app/inactive_subjects.py) erases such a subject as an
erasure does (the identifiers kept as suppression entries: an opt-out stays honoured).

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0054"
down_revision: str | None = "0053"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database stamped back to an older revision migrates again (a rollback).
    op.execute(
        "ALTER TABLE tenant_retention ADD COLUMN IF NOT EXISTS inactive_subject_months smallint "
        "NOT NULL DEFAULT 0 CONSTRAINT ck_tenant_retention_inactive_subject_months "
        "CHECK (inactive_subject_months = 0 OR inactive_subject_months BETWEEN 12 AND 120)"
    )
    op.execute("GRANT UPDATE (inactive_subject_months) ON tenant_retention TO consentd_app")


def downgrade() -> None:
    op.drop_column("tenant_retention", "inactive_subject_months")
