"""Consent change feed: a transactional outbox with gap-free per-tenant positions.

Why: marketing tools that cache answers must learn about withdrawals at once and must be able to
resume after a disconnection without missing or repeating a change. Every consent event gets a
row in consent_changes in the same transaction, numbered from a per-tenant head row that the
writer keeps locked until it commits, so positions are gap-free in commit order. Existing events
are numbered in sequence order so the feed starts complete.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("consent_change_heads", "consent_changes")
POLICY = """
CREATE POLICY tenant_isolation ON {table} FOR ALL
    USING (tenant_id = nullif(current_setting('consentd.tenant_id', true), '')::uuid)
    WITH CHECK (tenant_id = nullif(current_setting('consentd.tenant_id', true), '')::uuid)
"""
BACKFILL_CHANGES = """
INSERT INTO consent_changes (tenant_id, position, event_id)
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY sequence), event_id
FROM consent_events
"""
BACKFILL_HEADS = """
INSERT INTO consent_change_heads (tenant_id, last_position)
SELECT tenant_id, max(position) FROM consent_changes GROUP BY tenant_id
"""


def upgrade() -> None:
    op.create_table(
        "consent_change_heads",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "last_position >= 0", name=op.f("ck_consent_change_heads_last_position")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_consent_change_heads_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_consent_change_heads")),
    )
    op.create_table(
        "consent_changes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.CheckConstraint("position > 0", name=op.f("ck_consent_changes_position_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["consent_events.tenant_id", "consent_events.event_id"],
            name=op.f("fk_consent_changes_tenant_id_consent_events"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "position", name=op.f("pk_consent_changes")),
        sa.UniqueConstraint("tenant_id", "event_id", name="uq_consent_changes_event"),
    )
    op.execute(BACKFILL_CHANGES)
    op.execute(BACKFILL_HEADS)
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(POLICY.format(table=table))


def downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.drop_table("consent_changes")
    op.drop_table("consent_change_heads")
