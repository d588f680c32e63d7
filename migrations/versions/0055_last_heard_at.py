"""When a person was last heard from by a path that keeps no row dated then.

Why: a sign-in linking the person's browser (LinkVisitor) did not count as hearing from them,
and the retention of inactive subjects (0054) erased them that night (probe HE): the visitor
row it touches goes 30 days after its last choice. `subjects.last_heard_at` keeps it; the
retention job's query reads it (store/retention.py `_INACTIVE`). A revision of its own: 0054
had been applied to databases before this column was thought of.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0055"
down_revision: str | None = "0054"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF NOT EXISTS: a database stamped back to an older revision migrates again (a rollback).
    op.execute("ALTER TABLE subjects ADD COLUMN IF NOT EXISTS last_heard_at timestamptz")
    op.execute("GRANT UPDATE (last_heard_at) ON subjects TO consentd_app")


def downgrade() -> None:
    op.drop_column("subjects", "last_heard_at")
