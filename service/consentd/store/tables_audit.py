"""The audit log's write queue and signed tree heads (migration 0009), on tables.py's metadata.

Writers insert one `audit_queue` row per fact in their own transaction; the sequencer
(jobs/sequencer.py) turns queued rows into audit entries and change-feed positions, in queue_id
order, and deletes them. `audit_tree_heads` are signed statements of the Merkle tree's root.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

from consentd.store.tables import TZ, metadata


def _tenant_fk() -> sa.ForeignKey:
    return sa.ForeignKey("tenants.tenant_id", ondelete="RESTRICT")


audit_queue = sa.Table(
    "audit_queue",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("queue_id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("recorded_at", TZ, nullable=False, server_default=sa.text("now()")),
    sa.Column("subject_id", UUID(as_uuid=True)),
    sa.Column("fact_id", UUID(as_uuid=True)),
    sa.Column("payload", JSONB, nullable=False),
)

audit_tree_heads = sa.Table(
    "audit_tree_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), _tenant_fk(), primary_key=True),
    sa.Column("tree_size", sa.BigInteger, primary_key=True),
    sa.Column("root_hash", BYTEA, nullable=False),
    sa.Column("signed_at", TZ, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("signature", BYTEA, nullable=False),
    sa.CheckConstraint("tree_size > 0", name="tree_size_positive"),
    sa.CheckConstraint("octet_length(root_hash) = 32", name="root_hash_length"),
    sa.CheckConstraint("octet_length(signature) = 64", name="signature_length"),
)
