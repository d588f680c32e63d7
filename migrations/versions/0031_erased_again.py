"""An address erased again is closed from its latest erasure.

Why: erase S1 holding A, S2 takes A back in person, erase S2: the suppression entry kept S1's
time, so a grant decided between S2's return and S2's erasure was not superseded (A was ALLOW
again), and EraseSubject again by A said the first erasure's time (probe Y). An erasure now
moves the entry to its own time and reason (store/rights.py suppress): the runtime role may
update those two columns.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("GRANT UPDATE (reason, created_at) ON suppressions TO consentd_app")


def downgrade() -> None:
    op.execute("REVOKE UPDATE (reason, created_at) ON suppressions FROM consentd_app")
