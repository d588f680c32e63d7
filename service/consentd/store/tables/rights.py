"""Rights requests and their states."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, UUID

from consentd.domain.rights import RequestKind, RequestState
from consentd.store.tables._base import TZ, metadata, sql_values, subject_fk

REQUEST_KINDS = sql_values(RequestKind)


REQUEST_STATES = sql_values(RequestState)


rights_requests = sa.Table(
    "rights_requests",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("request_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("received_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("verified_at", TZ),
    sa.Column("due_at", TZ),
    sa.Column("extended_due_at", TZ),
    sa.Column("extension_reason", sa.Text, nullable=False),
    sa.Column("closed_at", TZ),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("verification_method", sa.Text, nullable=False),
    sa.Column("code_digest", BYTEA),
    sa.Column("code_expires_at", TZ),
    sa.Column("code_attempts", sa.Integer, nullable=False),
    # When consentd's notifier handed the latest decision (extension, refusal) to the relay.
    sa.Column("person_told_at", TZ),
    subject_fk(),
    sa.CheckConstraint(f"kind IN {REQUEST_KINDS}", name="kind"),
    sa.CheckConstraint(f"state IN {REQUEST_STATES}", name="state"),
    sa.CheckConstraint("code_attempts >= 0", name="code_attempts"),
    sa.CheckConstraint(
        "(state = 'received') = (verified_at IS NULL) OR state = 'refused'", name="verified_once"
    ),
    # Due one month after the acknowledged receipt, verified or not (0012).
    sa.CheckConstraint("due_at IS NOT NULL", name="due_from_receipt"),
    sa.CheckConstraint("extended_due_at IS NULL OR extended_due_at > due_at", name="extension"),
    sa.CheckConstraint("(closed_at IS NULL) = (state NOT IN ('done','refused'))", name="closed"),
    sa.Index("ix_rights_requests_subject", "tenant_id", "subject_id"),
    sa.Index("ix_rights_requests_open", "tenant_id", "state", "due_at"),
)
