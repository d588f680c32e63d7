"""The tables a tenant's people fill are analyzed once 10,000 rows changed, whatever their size.

Why: 0061's 1 % of a table still let a new tenant grow unseen in a large one: on a table of ten
million rows, autovacuum analyzed after 110,000 changes. Until then the planner read the new
tenant as "one row", and the change feed's page (each change's event found by scanning the
tenant's events) took 9 s for 1,000 changes of a tenant of 60,000, growing with the tenant,
the suppression export's page 3 s. With no scale factor, autovacuum analyzes such a table
within its next round (a minute) after 10,000 rows changed; an analyze samples a fixed 30,000
rows, so its cost does not grow with the table, and a busy table is analyzed at most once a
round.

Storage parameters only; the downgrade puts 0061's back.

Revision ID: 0062
Revises: 0061
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0062"
down_revision: str | None = "0061"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# store/imports.py ANALYZED (migrations import no service code).
TABLES = (
    "subjects",
    "subject_identifiers",
    "subject_keys",
    "contact_point_holdings",
    "consent_events",
    "current_consents",
    "consent_changes",
    "audit_entries",
)


def _scale(factor: str) -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (autovacuum_analyze_scale_factor = {factor})")


def upgrade() -> None:
    _scale("0")


def downgrade() -> None:
    _scale("0.01")
