"""The tables a tenant's people fill are analyzed once 1 % of them (and 10,000 rows) changed.

Why: the planner's statistics did not know a tenant that had just grown (an import stopped
mid-way, a CRM's sync through the API): it read the tenant as "one row", and its plans scanned
all the tenant's rows once per row looked up. Every call naming a person by e-mail, the change
feed, the suppression export and `audit verify` outlived the statement timeout until the next
ANALYZE (probe RB). PostgreSQL's own threshold is 10 % of a table: on a table of ten million
rows, a new tenant of a hundred thousand people never reaches it. At 1 % and 10,000 rows,
autovacuum analyzes such a table within its next round (a minute) after the tenant grew.

Storage parameters only; RESET puts PostgreSQL's defaults back.

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0061"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# store/imports.py ANALYZED: what an import fills, and the checks, the feed and verify read.
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


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} SET (autovacuum_analyze_scale_factor = 0.01, "
            "autovacuum_analyze_threshold = 10000)"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(
            f"ALTER TABLE {table} RESET (autovacuum_analyze_scale_factor, "
            "autovacuum_analyze_threshold)"
        )
