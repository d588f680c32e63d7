"""Initial consent schema: tenants, subjects, catalogue, consent events and their projection.

Why: the foundation of consentd. Every tenant table leads its keys with tenant_id (row-level
security and distribution by tenant need no rewrite later); consent events are append-only
(a trigger refuses UPDATE and DELETE) and the current-state projection points at the event
behind each row.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION consentd_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER consent_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION consentd_refuse_change()
"""


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("processing_role", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "processing_role IN ('controller','processor')", name=op.f("ck_tenants_processing_role")
        ),
        sa.CheckConstraint("slug ~ '^[a-z][a-z0-9-]{0,62}$'", name=op.f("ck_tenants_slug_format")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "notice_heads",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("notice_id", sa.Text(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("reconsent_floor", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "notice_id ~ '^[a-z][a-z0-9_-]{0,63}$'", name=op.f("ck_notice_heads_notice_id_format")
        ),
        sa.CheckConstraint(
            "latest_version > 0", name=op.f("ck_notice_heads_latest_version_positive")
        ),
        sa.CheckConstraint(
            "reconsent_floor <= latest_version", name=op.f("ck_notice_heads_floor_not_ahead")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_notice_heads_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "notice_id", name=op.f("pk_notice_heads")),
    )
    op.create_table(
        "subjects",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_subjects_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "subject_id", name=op.f("pk_subjects")),
    )
    op.create_table(
        "notices",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("notice_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.Text(), nullable=False),
        sa.Column("requires_reconsent", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_notices_sha256_hex")),
        sa.CheckConstraint("version > 0", name=op.f("ck_notices_version_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notice_id"],
            ["notice_heads.tenant_id", "notice_heads.notice_id"],
            name=op.f("fk_notices_tenant_id_notice_heads"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "notice_id", "version", name=op.f("pk_notices")),
    )
    op.create_table(
        "purposes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("purpose_id", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lawful_basis", sa.Text(), nullable=False),
        sa.Column("notice_id", sa.Text(), nullable=True),
        sa.Column("max_validity_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "lawful_basis IN ('consent','legitimate_interest')",
            name=op.f("ck_purposes_lawful_basis"),
        ),
        sa.CheckConstraint(
            "purpose_id ~ '^[a-z][a-z0-9_-]{0,63}$'", name=op.f("ck_purposes_purpose_id_format")
        ),
        sa.CheckConstraint("max_validity_days >= 0", name=op.f("ck_purposes_max_validity_days")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notice_id"],
            ["notice_heads.tenant_id", "notice_heads.notice_id"],
            name=op.f("fk_purposes_tenant_id_notice_heads"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_purposes_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "purpose_id", name=op.f("pk_purposes")),
    )
    op.create_table(
        "subject_identifiers",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("digest", postgresql.BYTEA(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('external_id','email','phone')", name=op.f("ck_subject_identifiers_kind")
        ),
        sa.CheckConstraint(
            "octet_length(digest) = 32", name=op.f("ck_subject_identifiers_digest_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_subject_identifiers_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "digest", name=op.f("pk_subject_identifiers")),
    )
    op.create_index(
        "ix_subject_identifiers_subject",
        "subject_identifiers",
        ["tenant_id", "subject_id"],
        unique=False,
    )
    op.create_table(
        "consent_events",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("purpose_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("notice_id", sa.Text(), nullable=True),
        sa.Column("notice_version", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("processing_role", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evidence_reference", sa.Text(), nullable=False),
        sa.Column("evidence_ip_digest", postgresql.BYTEA(), nullable=True),
        sa.Column("evidence_ua_digest", postgresql.BYTEA(), nullable=True),
        sa.CheckConstraint(
            "(purpose_id = '*') = (channel = '*') AND (channel = '*') = (scope = '*')",
            name=op.f("ck_consent_events_all_target_whole"),
        ),
        sa.CheckConstraint(
            "channel IN ('email','sms','voice_call','chat','social','postal','push','*')",
            name=op.f("ck_consent_events_channel"),
        ),
        sa.CheckConstraint(
            "processing_role IN ('controller','processor')",
            name=op.f("ck_consent_events_processing_role"),
        ),
        sa.CheckConstraint(
            "purpose_id <> '*' OR state = 'withdrawn'",
            name=op.f("ck_consent_events_all_only_withdrawn"),
        ),
        sa.CheckConstraint(
            "scope IN ('first_party','partners','*')", name=op.f("ck_consent_events_scope")
        ),
        sa.CheckConstraint(
            "source IN ('portal','banner','api','import','support')",
            name=op.f("ck_consent_events_source"),
        ),
        sa.CheckConstraint(
            "state IN ('granted','refused','withdrawn','expired','erased')",
            name=op.f("ck_consent_events_state"),
        ),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until > recorded_at",
            name=op.f("ck_consent_events_valid_after"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notice_id", "notice_version"],
            ["notices.tenant_id", "notices.notice_id", "notices.version"],
            name=op.f("fk_consent_events_tenant_id_notices"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_consent_events_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_subject_sequence",
        "consent_events",
        ["tenant_id", "subject_id", "sequence"],
        unique=False,
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    op.create_table(
        "current_consents",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("purpose_id", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(purpose_id = '*') = (channel = '*') AND (channel = '*') = (scope = '*')",
            name=op.f("ck_current_consents_all_target_whole"),
        ),
        sa.CheckConstraint(
            "channel IN ('email','sms','voice_call','chat','social','postal','push','*')",
            name=op.f("ck_current_consents_channel"),
        ),
        sa.CheckConstraint(
            "purpose_id <> '*' OR state = 'withdrawn'",
            name=op.f("ck_current_consents_all_only_withdrawn"),
        ),
        sa.CheckConstraint(
            "scope IN ('first_party','partners','*')", name=op.f("ck_current_consents_scope")
        ),
        sa.CheckConstraint(
            "state IN ('granted','refused','withdrawn','expired','erased')",
            name=op.f("ck_current_consents_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"],
            ["consent_events.tenant_id", "consent_events.event_id"],
            name=op.f("fk_current_consents_tenant_id_consent_events"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "subject_id",
            "purpose_id",
            "channel",
            "scope",
            name=op.f("pk_current_consents"),
        ),
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER consent_events_append_only ON consent_events")
    op.execute("DROP FUNCTION consentd_refuse_change()")
    op.drop_table("current_consents")
    op.drop_index("ix_consent_events_subject_sequence", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index("ix_subject_identifiers_subject", table_name="subject_identifiers")
    op.drop_table("subject_identifiers")
    op.drop_table("purposes")
    op.drop_table("notices")
    op.drop_table("subjects")
    op.drop_table("notice_heads")
    op.drop_table("tenants")
