"""A person may object again after taking a target back: one restriction in force at a time,
objections as many as the person makes.

Why: an objection, then the person's own grant in person (which takes that target back), then
RecordObjection again answered OK and changed nothing: the unique index allowed one objection
"in force" per subject, and an objection is never lifted, so the second wrote no row, no entry
and no feed position, and the check stayed ALLOW (probe Y). The index now holds restrictions
only; app/rights.py records a new objection unless the newest one already follows every fact
of the subject (nothing was taken back since: repeating it changes nothing).

The downgrade puts the old index back, which fails while a subject has two objections.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS uq_subject_blocks_active")
    op.execute(
        "CREATE UNIQUE INDEX uq_subject_blocks_active ON subject_blocks "
        "(tenant_id, subject_id, kind) WHERE lifted_at IS NULL AND kind = 'restricted'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX uq_subject_blocks_active")
    op.execute(
        "CREATE UNIQUE INDEX uq_subject_blocks_active ON subject_blocks "
        "(tenant_id, subject_id, kind) WHERE lifted_at IS NULL"
    )
