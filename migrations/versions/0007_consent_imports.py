"""Checkpoints of `consentd import consents`.

Why: a bulk import of consents collected elsewhere must survive being killed half-way without
importing a row twice. Each batch of rows is written through the RecordConsent/WithdrawConsent
use cases in one transaction that also advances this table's row for the file (its SHA-256), so
the checkpoint and the rows it counts commit together or not at all.

Isolation, as in 0002/0004/0005/0006: ENABLE + FORCE ROW LEVEL SECURITY and the
`tenant_isolation` policy; the runtime role may read, insert and advance a checkpoint, never
delete one. The tenant purge (consentd_purge_tenant_rows) may empty it too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "consent_imports"
GRANTS = "SELECT, INSERT, UPDATE (last_line, imported, superseded, updated_at, completed_at)"


def _purge_function_of_0006() -> str:
    """0006's consentd_purge_tenant_rows, as that revision left it."""
    path = Path(__file__).with_name("0006_consent_change_feed.py")
    spec = importlib.util.spec_from_file_location("consentd_migration_0006", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module._purge_function_with_feed()
    return text


def _purge_function_with_imports() -> str:
    before = "'consent_changes', 'consent_change_heads',"
    text = _purge_function_of_0006()
    if before not in text:
        raise RuntimeError("0006's purge list changed: update 0007")
    return text.replace(before, f"'{TABLE}', {before}")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("last_line", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("superseded", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "file_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_consent_imports_file_sha256")
        ),
        sa.CheckConstraint(
            "last_line >= 1 AND imported >= 0 AND superseded >= 0",
            name=op.f("ck_consent_imports_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_consent_imports_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "file_sha256", name=op.f("pk_consent_imports")),
    )
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT {GRANTS} ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(_purge_function_with_imports())


def downgrade() -> None:
    op.execute(_purge_function_of_0006())
    op.execute(f"REVOKE ALL ON {TABLE} FROM {RUNTIME_ROLE}")
    op.drop_table(TABLE)  # with its policy
