"""Consent events (append-only), the current-state projection, the change feed's outbox, the
import ledger and double opt-in confirmations."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, UUID

from consentd.store.tables._base import (
    ROLES,
    SOURCES,
    TZ,
    metadata,
    target_checks,
    target_columns,
    tenant_fk,
)

consent_events = sa.Table(
    "consent_events",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("sequence", sa.BigInteger, sa.Identity(always=True), nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    *target_columns(),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("notice_id", sa.Text),
    sa.Column("notice_version", sa.Integer),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("processing_role", sa.Text, nullable=False),
    sa.Column("recorded_at", TZ, nullable=False),
    sa.Column("valid_until", TZ),
    sa.Column("evidence_reference", sa.Text, nullable=False),
    sa.Column("evidence_ip_digest", BYTEA),
    sa.Column("evidence_ua_digest", BYTEA),
    sa.Column("evidence_sealed", BYTEA),
    # Whether the caller spoke for the person (migration 0033); NULL: not said (older events).
    sa.Column("attested", sa.Boolean),
    # When the person decided, when the caller said so (decided_at; migration 0040); NULL: when
    # recorded.
    sa.Column("decided_at", TZ),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.ForeignKeyConstraint(
        ["tenant_id", "notice_id", "notice_version"],
        ["notices.tenant_id", "notices.notice_id", "notices.version"],
    ),
    *target_checks(),
    sa.CheckConstraint(f"source IN {SOURCES}", name="source"),
    sa.CheckConstraint(f"processing_role IN {ROLES}", name="processing_role"),
    sa.CheckConstraint("valid_until IS NULL OR valid_until > recorded_at", name="valid_after"),
    sa.Index("ix_consent_events_subject_sequence", "tenant_id", "subject_id", "sequence"),
)


current_consents = sa.Table(
    "current_consents",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("purpose_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("notice_version", sa.Integer),
    sa.Column("valid_until", TZ),
    sa.Column("updated_at", TZ, nullable=False),
    sa.ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["consent_events.tenant_id", "consent_events.event_id"]
    ),
    *target_checks(),
)


# The change feed's transactional outbox. The head row hands out positions: a writer locks it
# (INSERT ... ON CONFLICT DO UPDATE) before it inserts its events and keeps the lock until it
# commits, so positions are 1, 2, 3... per tenant in commit order, and a rolled-back write gives
# its numbers back. An identity column could not promise that: its values are taken at insert
# time and become visible in commit order, so a reader would see gaps that fill in later.
consent_change_heads = sa.Table(
    "consent_change_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("last_position", sa.BigInteger, nullable=False),
    sa.CheckConstraint("last_position >= 0", name="last_position"),
)


consent_changes = sa.Table(
    "consent_changes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
    # A consent event, or a block put in force (block_lifted false) or lifted (0028).
    sa.Column("event_id", UUID(as_uuid=True)),
    sa.Column("block_id", UUID(as_uuid=True)),
    sa.Column("block_lifted", sa.Boolean),
    sa.ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["consent_events.tenant_id", "consent_events.event_id"]
    ),
    sa.ForeignKeyConstraint(
        ["tenant_id", "block_id"], ["subject_blocks.tenant_id", "subject_blocks.block_id"]
    ),
    sa.CheckConstraint("position > 0", name="position_positive"),
    sa.CheckConstraint("(event_id IS NULL) <> (block_id IS NULL)", name="event_or_block"),
    sa.CheckConstraint("(block_id IS NULL) = (block_lifted IS NULL)", name="block_lifted"),
    sa.UniqueConstraint("tenant_id", "event_id", name="uq_consent_changes_event"),
    sa.UniqueConstraint("tenant_id", "block_id", "block_lifted", name="uq_consent_changes_block"),
)


# `consentd import consents`: one row per imported file (its SHA-256) and tenant, advanced in the
# transaction that writes each batch, so a killed import resumes after its last committed line.
# No personal data: the file's digest, its name, line numbers and counts.
consent_imports = sa.Table(
    "consent_imports",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("file_sha256", sa.Text, primary_key=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("rows_total", sa.Integer, nullable=False),
    sa.Column("last_line", sa.Integer, nullable=False),
    sa.Column("imported", sa.Integer, nullable=False),
    sa.Column("superseded", sa.Integer, nullable=False),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("completed_at", TZ),
    sa.CheckConstraint("file_sha256 ~ '^[0-9a-f]{64}$'", name="file_sha256"),
    sa.CheckConstraint("last_line >= 1 AND imported >= 0 AND superseded >= 0", name="counts"),
)

# Double opt-in confirmations (migration 0013): one row per confirmation message sent.
#
# Only the SHA-256 of the token is stored (the token itself is a 256-bit random secret that only the
# message carries), never the address it went to. A row is confirmed at most once; the pending
# events it confirms are named by id.

consent_confirmations = sa.Table(
    "consent_confirmations",
    metadata,
    sa.Column(
        "tenant_id",
        UUID(as_uuid=True),
        sa.ForeignKey("tenants.tenant_id", ondelete="RESTRICT"),
        primary_key=True,
    ),
    sa.Column("confirmation_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("token_sha256", BYTEA, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("event_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.Column("confirmed_at", TZ),
    # The end of validity asked for each grant, in the order of event_ids (0026).
    sa.Column("grant_until", ARRAY(TZ)),
    # The keyed digest of the address it went to (0044; NULL before).
    sa.Column("address_digest", BYTEA),
    # Whether that address was the person's before the ask (0046; NULL before).
    sa.Column("address_proven", sa.Boolean),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.UniqueConstraint("tenant_id", "token_sha256", name="uq_consent_confirmations_token"),
    sa.CheckConstraint("octet_length(token_sha256) = 32", name="token_length"),
    sa.CheckConstraint("channel IN ('email','sms')", name="channel"),
    sa.CheckConstraint("language IN ('en','fr')", name="language"),
    sa.CheckConstraint("cardinality(event_ids) > 0", name="some_event"),
    sa.CheckConstraint("expires_at > created_at", name="expires_after"),
    sa.CheckConstraint(
        "confirmed_at IS NULL OR (confirmed_at >= created_at AND confirmed_at < expires_at)",
        name="confirmed_in_time",
    ),
)
