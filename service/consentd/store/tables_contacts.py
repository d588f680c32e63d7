"""Who held a contact point when: the table behind `as_of` by contact point and the rule that a
contact point keeps its earlier holder's refusals, withdrawals and objections (issue #14).

Defined on tables.py's metadata (tables.py imports this module at its end), in a module of its
own so that the schema of other features does not grow one file.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, UUID

from consentd.store.tables import TZ, metadata

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
    sa.CheckConstraint("kind IN ('external_id','email','phone')", name="kind"),
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
