"""Subjects, their identifiers (keyed digests), data keys, blocks, suppressions, contact
changes, and which subject held which contact point when."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, UUID

from consentd.store.tables._base import TZ, metadata, subject_fk, tenant_fk

subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("created_at", TZ, nullable=False),
    # Set when the subject was erased: its key is destroyed, its history stays (pseudonymous).
    sa.Column("erased_at", TZ),
    # When the person was last heard from by a path that keeps no row dated then (a sign-in's
    # LinkVisitor): the retention of inactive subjects reads it (0055).
    sa.Column("last_heard_at", TZ),
)


subject_identifiers = sa.Table(
    "subject_identifiers",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("digest", BYTEA, primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    # The normalised value sealed under the subject's data key (for exports); NULL before 0005.
    sa.Column("sealed_value", BYTEA),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.CheckConstraint("kind IN ('external_id','email','phone','cal_id')", name="kind"),
    sa.CheckConstraint("octet_length(digest) = 32", name="digest_length"),
    sa.Index("ix_subject_identifiers_subject", "tenant_id", "subject_id"),
)


subject_keys = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), primary_key=True),
    # The subject's data key, wrapped under the service secret. Erasure deletes the row.
    sa.Column("wrapped_key", BYTEA, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    subject_fk(),
)


suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    # The same keyed hash as subject_identifiers.digest; no link to any subject is kept.
    sa.Column("digest", BYTEA, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
    sa.CheckConstraint("kind IN ('external_id','email','phone','cal_id')", name="kind"),
    sa.CheckConstraint("octet_length(digest) = 32", name="digest_length"),
    sa.CheckConstraint("reason IN ('erased','suppressed')", name="reason"),
)


subject_blocks = sa.Table(
    "subject_blocks",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("block_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("since", TZ, nullable=False),
    sa.Column("lifted_at", TZ),
    sa.Column("request_id", UUID(as_uuid=True)),
    subject_fk(),
    sa.CheckConstraint("kind IN ('restricted','objected')", name="kind"),
    sa.CheckConstraint("lifted_at IS NULL OR lifted_at >= since", name="lifted_after"),
    sa.Index("ix_subject_blocks_subject", "tenant_id", "subject_id"),
    # At most one restriction in force per subject: concurrent callers converge on it. An
    # objection is never lifted; the person may object again after a grant of theirs (0030).
    sa.Index(
        "uq_subject_blocks_active",
        "tenant_id",
        "subject_id",
        "kind",
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL AND kind = 'restricted'"),
    ),
)


contact_changes = sa.Table(
    "contact_changes",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("change_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    # The value sealed under the subject's data key; unreadable once the subject is erased.
    sa.Column("sealed_value", BYTEA),
    sa.Column("changed_at", TZ, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    subject_fk(),
    sa.CheckConstraint("kind IN ('external_id','email','phone','cal_id')", name="kind"),
    sa.CheckConstraint("action IN ('added','removed')", name="action"),
    sa.Index("ix_contact_changes_subject", "tenant_id", "subject_id", "changed_at"),
)

# Who held a contact point when: the table behind `as_of` by contact point and the rule that a
# contact point keeps its earlier holder's refusals, withdrawals and objections (issue #14).
#
# Defined on tables.py's metadata (tables.py imports this module at its end), in a module of its
# own so that the schema of other features does not grow one file.

# One row per (contact point, holder, interval): opened when an identifier is linked to a subject
# (held_from = its subject_identifiers.created_at), closed when it is unlinked by a rectification
# or an erasure (held_until). Only the keyed digest is kept, as in subject_identifiers; the rows
# outlive the link and the erasure (they name no one without the tenant's key).
contact_point_holdings = sa.Table(
    "contact_point_holdings",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("holding_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("digest", BYTEA, nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True), nullable=False),
    sa.Column("held_from", TZ, nullable=False),
    sa.Column("held_until", TZ),
    sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    ),
    sa.CheckConstraint("kind IN ('external_id','email','phone','cal_id')", name="kind"),
    sa.CheckConstraint("octet_length(digest) = 32", name="digest_length"),
    sa.CheckConstraint("held_until IS NULL OR held_until >= held_from", name="held_after"),
    sa.Index("ix_contact_point_holdings_point", "tenant_id", "kind", "digest", "held_from"),
    sa.Index("ix_contact_point_holdings_subject", "tenant_id", "subject_id"),
    # The earlier holders a check looks for: few contact points have any.
    sa.Index(
        "ix_contact_point_holdings_ended",
        "tenant_id",
        "kind",
        "digest",
        postgresql_where=sa.text("held_until IS NOT NULL"),
    ),
    # A contact point has one holder at a time: the open holding mirrors subject_identifiers.
    sa.Index(
        "uq_contact_point_holdings_open",
        "tenant_id",
        "kind",
        "digest",
        unique=True,
        postgresql_where=sa.text("held_until IS NULL"),
    ),
)
