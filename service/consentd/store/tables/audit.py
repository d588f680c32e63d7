"""The audit log: its entries, heads and signed checkpoints; the queue writers fill and the
sequencer empties; signed Merkle tree heads."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

from consentd.store.tables._base import TZ, metadata, tenant_fk

audit_heads = sa.Table(
    "audit_heads",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_hash", BYTEA, nullable=False),
    # Entries up to here were removed by retention; a checkpoint at this seq anchors the rest.
    sa.Column("pruned_through", sa.BigInteger, nullable=False),
    sa.CheckConstraint("last_seq >= 0", name="last_seq"),
    sa.CheckConstraint("octet_length(last_hash) = 32", name="hash_length"),
    sa.CheckConstraint("pruned_through >= 0 AND pruned_through <= last_seq", name="pruned"),
    # The Merkle tree over the entries (0009): its compact range (the roots of the perfect
    # subtrees covering 1..last_seq, left to right, 32 bytes each) and its root.
    sa.Column("tree_frontier", BYTEA),
    sa.Column("root_hash", BYTEA),
    # The compact range of the entries retention pruned (1..pruned_through): proofs need it.
    sa.Column("pruned_frontier", BYTEA),
    sa.CheckConstraint("octet_length(tree_frontier) % 32 = 0", name="frontier_length"),
    sa.CheckConstraint("octet_length(root_hash) = 32", name="root_length"),
)


audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("prev_hash", BYTEA, nullable=False),
    sa.Column("entry_hash", BYTEA, nullable=False),
    sa.Column("recorded_at", TZ, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject_id", UUID(as_uuid=True)),
    sa.Column("payload", JSONB, nullable=False),
    # 1: entries before 0009 (subject_id and format outside the hash); 2: every column hashed.
    sa.Column("format", sa.SmallInteger, nullable=False, server_default=sa.text("1")),
    # The fact row the entry records (consent event, cookie choice), when it records one.
    sa.Column("fact_id", UUID(as_uuid=True)),
    sa.CheckConstraint("seq > 0", name="seq_positive"),
    sa.CheckConstraint("format IN (1, 2)", name="format"),
    sa.CheckConstraint("octet_length(prev_hash) = 32", name="prev_hash_length"),
    sa.CheckConstraint("octet_length(entry_hash) = 32", name="entry_hash_length"),
    sa.Index("ix_audit_entries_time", "tenant_id", "recorded_at"),
    sa.Index("ix_audit_entries_subject", "tenant_id", "subject_id"),
    sa.Index("ix_audit_entries_fact", "tenant_id", "fact_id"),
)


audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("entry_hash", BYTEA, nullable=False),
    sa.Column("signed_at", TZ, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("signature", BYTEA, nullable=False),
    sa.CheckConstraint("seq > 0", name="seq_positive"),
    sa.CheckConstraint("octet_length(signature) = 64", name="signature_length"),
)

# The audit log's write queue and signed tree heads (migration 0009), on tables.py's metadata.
#
# Writers insert one `audit_queue` row per fact in their own transaction; the sequencer
# (jobs/sequencer.py) turns queued rows into audit entries and change-feed positions, in queue_id
# order, and deletes them. `audit_tree_heads` are signed statements of the Merkle tree's root.


audit_queue = sa.Table(
    "audit_queue",
    metadata,
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
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
    sa.Column("tenant_id", UUID(as_uuid=True), tenant_fk(), primary_key=True),
    sa.Column("tree_size", sa.BigInteger, primary_key=True),
    sa.Column("root_hash", BYTEA, nullable=False),
    sa.Column("signed_at", TZ, nullable=False),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("signature", BYTEA, nullable=False),
    sa.CheckConstraint("tree_size > 0", name="tree_size_positive"),
    sa.CheckConstraint("octet_length(root_hash) = 32", name="root_hash_length"),
    sa.CheckConstraint("octet_length(signature) = 64", name="signature_length"),
)
