"""Tenants: a rights desk's address, mailed a daily digest of the rights requests to answer.

Why: a request near or past its month was said in the service's log and metrics, which the
operator reads, not the tenant's DPO who answers it (a SaaS's customer has neither); nothing
reminded them. A tenant may name an address (`consentd tenants rights-desk acme dpo@acme.fr`):
once a day it is mailed the requests received since, those due within seven days and those
late, by reference, kind, state and due date (never a person's contact point).

`rights_digest_at` is when the last digest was taken: by an UPDATE of a tenant whose last was
before the day's hour (08:00, Europe/Paris), so one replica sends it however many run; put
back when the relay refused (the next watch tries again). Read and written by the owner, as the deadline watch
reads the requests of every tenant; the runtime role clears both when it purges the tenant (the
address is often a named person's: the purge keeps nothing of the tenant's).

Revision ID: 0059
Revises: 0058
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0059"
down_revision: str | None = "0058"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
TABLE = "tenants"


def upgrade() -> None:
    # Each statement can run again over its own result (tests/integration/test_migrations.py).
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS rights_desk text")
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS rights_digest_at timestamptz")
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS ck_tenants_rights_desk")
    op.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT ck_tenants_rights_desk CHECK "
        "(rights_desk IS NULL OR length(rights_desk) BETWEEN 3 AND 320)"
    )
    op.execute(f"GRANT UPDATE (rights_desk, rights_digest_at) ON {TABLE} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE (rights_desk, rights_digest_at) ON {TABLE} FROM {RUNTIME_ROLE}")
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS ck_tenants_rights_desk")
    for column in ("rights_digest_at", "rights_desk"):
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {column}")
