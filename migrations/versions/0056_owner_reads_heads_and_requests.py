"""The owner reads every tenant's audit heads, audit entries and rights requests.

Why: two watches of the serving process read across tenants as the owner: the clock check
(`clock_behind_database`: the newest audit entry of any tenant) and the rights-request deadline
watch (`rights_requests_overdue`, `consentd_rights_requests_open`). Under FORCE row-level
security an owner role without BYPASSRLS, as docs/operations.md sets up an external database,
saw no row of them: the clock alarm could never fire and no request was ever overdue (probe
IA). Embedded mode's owner is a superuser and saw them. Like `owner_lookup` on tenants (0002),
a SELECT-only policy for the role that runs migrations; the runtime role's policies are as
they were.

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0056"
down_revision: str | None = "0055"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("audit_heads", "audit_entries", "rights_requests")


def upgrade() -> None:
    for table in _TABLES:
        # Dropped first: a database stamped back to an older revision migrates again.
        op.execute(f"DROP POLICY IF EXISTS owner_read ON {table}")
        op.execute(f"CREATE POLICY owner_read ON {table} FOR SELECT TO CURRENT_USER USING (true)")


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP POLICY IF EXISTS owner_read ON {table}")
