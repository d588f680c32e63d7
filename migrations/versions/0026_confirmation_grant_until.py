"""A double opt-in confirmation keeps the end of validity asked for each grant it confirms.

Why: RecordConsent on a purpose that requires confirmation, with `valid_until` an hour ahead,
was recorded pending (its valid_until the confirmation's deadline, 7 days), and the grant that
ConfirmConsent recorded had the purpose's validity only: a day later it still allowed, where the
same grant without double opt-in was DENY expired after the hour (probe P). `grant_until` holds,
in the order of `event_ids`, the end each grant was asked for (NULL: none asked); confirming
grants them until then (never past the purpose's maximum), and not at all once it has passed.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database stamped back to an older revision migrates again (a rollback).
    op.execute(
        "ALTER TABLE consent_confirmations ADD COLUMN IF NOT EXISTS grant_until timestamptz[]"
    )


def downgrade() -> None:
    op.drop_column("consent_confirmations", "grant_until")
