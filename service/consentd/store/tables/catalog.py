"""The catalogue: purposes and their versioned notices."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from consentd.store.tables._base import KEY, TZ, metadata, tenant_fk

notice_heads = sa.Table(
    "notice_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("notice_id", sa.Text, primary_key=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("reconsent_floor", sa.Integer),
    sa.CheckConstraint(f"notice_id ~ {KEY}", name="notice_id_format"),
    sa.CheckConstraint("latest_version > 0", name="latest_version_positive"),
    sa.CheckConstraint("reconsent_floor <= latest_version", name="floor_not_ahead"),
)


notices = sa.Table(
    "notices",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("notice_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.Text, nullable=False),
    sa.Column("requires_reconsent", sa.Boolean, nullable=False),
    sa.Column("published_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "notice_id"], ["notice_heads.tenant_id", "notice_heads.notice_id"]
    ),
    sa.CheckConstraint("version > 0", name="version_positive"),
    sa.CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
)


purposes = sa.Table(
    "purposes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("purpose_id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("lawful_basis", sa.Text, nullable=False),
    sa.Column("notice_id", sa.Text),
    sa.Column("max_validity_days", sa.Integer, nullable=False),
    # Double opt-in (migration 0013): grants stay pending until the person confirms them.
    sa.Column("requires_confirmation", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "notice_id"], ["notice_heads.tenant_id", "notice_heads.notice_id"]
    ),
    sa.CheckConstraint(f"purpose_id ~ {KEY}", name="purpose_id_format"),
    sa.CheckConstraint("lawful_basis IN ('consent','legitimate_interest')", name="lawful_basis"),
    sa.CheckConstraint("max_validity_days >= 0", name="max_validity_days"),
    sa.CheckConstraint(
        "NOT requires_confirmation OR lawful_basis = 'consent'", name="confirmation_needs_consent"
    ),
)
