"""The runtime role reads the schema's revision.

Why: serving pods are given the runtime role's URL alone and run no migration. On a database one
migration behind, serve started without a word and the newer code's statements failed INTERNAL
call by call (probe EB: EraseSubject, a right of the person, on a table 0050 adds). With the
revision readable, a start on a schema older than its code stops, naming both revisions and the
command to run (store/schema.py).

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0051"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("GRANT SELECT ON alembic_version TO consentd_app")


def downgrade() -> None:
    op.execute("REVOKE SELECT ON alembic_version FROM consentd_app")
