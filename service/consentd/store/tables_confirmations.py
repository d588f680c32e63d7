"""Double opt-in confirmations (migration 0013): one row per confirmation message sent.

Only the SHA-256 of the token is stored (the token itself is a 256-bit random secret that only the
message carries), never the address it went to. A row is confirmed at most once; the pending
events it confirms are named by id.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BYTEA, UUID

from consentd.store.tables import TZ, metadata

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
