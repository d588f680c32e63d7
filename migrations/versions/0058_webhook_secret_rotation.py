"""Webhooks: a signing secret rotated with an overlap.

Why: a receiver's secret had one value for the webhook's life; a secret that leaked, or a
receiver's own rotation policy, meant removing the webhook and adding another (a new id, the
delivery started again from now: the changes in between were never pushed). Standard Webhooks
lets one delivery carry several signatures, so a rotation signs with the new secret and, until
`previous_until`, with the one before too: the receiver switches its secret when it likes
within that time, and no delivery is refused meanwhile. The previous secret, like the current,
is derived from the service secret and a salt the row keeps (`previous_salt`), never stored.

The runtime role may change the salts (`consentd webhooks rotate` runs as it, inside the
tenant, as every other webhook change); it could already read them.

Revision ID: 0058
Revises: 0057
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0058"
down_revision: str | None = "0057"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
TABLE = "webhooks"


def upgrade() -> None:
    # Each statement can run again over its own result (tests/integration/test_migrations.py).
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS previous_salt bytea")
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS previous_until timestamptz")
    op.execute(f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS rotated_at timestamptz")
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS ck_webhooks_previous_salt")
    op.execute(
        f"ALTER TABLE {TABLE} ADD CONSTRAINT ck_webhooks_previous_salt CHECK "
        "((previous_salt IS NULL) = (previous_until IS NULL) "
        "AND (previous_salt IS NULL OR octet_length(previous_salt) = 32))"
    )
    op.execute(
        f"GRANT UPDATE (salt, previous_salt, previous_until, rotated_at) ON {TABLE} "
        f"TO {RUNTIME_ROLE}"
    )


def downgrade() -> None:
    op.execute(
        f"REVOKE UPDATE (salt, previous_salt, previous_until, rotated_at) ON {TABLE} "
        f"FROM {RUNTIME_ROLE}"
    )
    op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS ck_webhooks_previous_salt")
    for column in ("rotated_at", "previous_until", "previous_salt"):
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {column}")
