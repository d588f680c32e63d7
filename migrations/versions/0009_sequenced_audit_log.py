"""A sequenced audit log that covers the facts: writers queue, one sequencer integrates.

Why: every write of a tenant locked the tenant's audit head and change-feed head from its first
append until COMMIT, so one tenant's writes committed one at a time. Now a writer inserts its
facts and one `audit_queue` row per fact (or per administrative change) in its own transaction
and takes no tenant-wide lock; a sequencer (service/consentd/jobs/sequencer.py) integrates the
queued rows in batches, in one short transaction per pass: audit entries and the change feed's
positions in the same order, both heads moved, the queued rows deleted.

Per subject, a consent event's `sequence`, its queue row and its commit are ordered by a
transaction-level advisory lock on (tenant, subject) (`consentd_subject_lock`), so the feed and
the log list one subject's events in the order they were committed.

The log now covers the facts: a consent event's entry holds the event's whole content
(`consentd_event_payload`, also what `consentd audit verify` recomputes), a cookie choice's
likewise (`consentd_cookie_choice_payload`). Entries get `format` and `fact_id` columns. Format
2 entries hash every column of their row, as an RFC 9162 leaf (SHA-256(0x00 || entry)); the
entries already written keep format 1 and verify under the old rule (the log is append-only:
re-hashing them is impossible), their leaf in the Merkle tree being SHA-256(0x00 || entry_hash).
`audit_heads` keeps the tree's compact range (`tree_frontier`) and root, and the compact range
of what retention pruned (`pruned_frontier`, so proofs of the rest still work); `audit_tree_heads`
holds signed tree heads (append-only like the checkpoints).

Isolation as in 0005: ENABLE + FORCE ROW LEVEL SECURITY and the `tenant_isolation` policy on the
new tables. The runtime role may insert, read and delete queued rows (deleting is integrating),
insert and read tree heads. `consentd_queued_tenants()` (SECURITY DEFINER) lists the tenants
that have queued rows, nothing else, so a sweep can integrate what a killed process left.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
GRANTS = {
    "audit_queue": "SELECT, INSERT, DELETE",
    "audit_tree_heads": "SELECT, INSERT",
}
HEAD_COLUMNS_BEFORE = "UPDATE (last_seq, last_hash)"
HEAD_COLUMNS = "UPDATE (last_seq, last_hash, tree_frontier, root_hash, pruned_frontier)"

# The canonical time of domain/audit.py stamp(): UTC, microseconds, a Z.
_STAMP = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
_HEX = "encode({0}, 'hex')"
_SHA = "encode(sha256(convert_to({0}, 'UTF8')), 'hex')"

SUBJECT_LOCK_FUNCTION = """
CREATE FUNCTION consentd_subject_lock(p_tenant uuid, p_subject uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ('x' || substr(md5(p_tenant::text || p_subject::text), 1, 16))::bit(64)::bigint $$
"""

# A cookie choice's subject_id is left out: linking the visitor later sets it (an entry of its
# own, cookies.visitor_linked).
# No personal data in the log: free text (actor, evidence reference) as SHA-256 digests, the
# sealed evidence as the digest of its ciphertext; ids, target, state, times as they are.
EVENT_PAYLOAD_FUNCTION = f"""
CREATE FUNCTION consentd_event_payload(e consent_events) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT jsonb_build_object(
    'event_id', e.event_id::text,
    'sequence', e.sequence,
    'subject_id', e.subject_id::text,
    'purpose', e.purpose_id,
    'channel', e.channel,
    'scope', e.scope,
    'state', e.state,
    'notice_id', e.notice_id,
    'notice_version', e.notice_version,
    'source', e.source,
    'actor_sha256', {_SHA.format("e.actor")},
    'processing_role', e.processing_role,
    'recorded_at', {_STAMP.format("e.recorded_at")},
    'valid_until', {_STAMP.format("e.valid_until")},
    'evidence_reference_sha256', {_SHA.format("e.evidence_reference")},
    'evidence_ip_digest', {_HEX.format("e.evidence_ip_digest")},
    'evidence_ua_digest', {_HEX.format("e.evidence_ua_digest")},
    'evidence_sealed_sha256', {_HEX.format("sha256(e.evidence_sealed)")}
)
$$
"""

EVENT_ACTION_FUNCTION = """
CREATE FUNCTION consentd_event_action(p_state text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN p_state = 'withdrawn' THEN 'consent.withdrawn' ELSE 'consent.recorded' END $$
"""

COOKIE_PAYLOAD_FUNCTION = f"""
CREATE FUNCTION consentd_cookie_choice_payload(c cookie_choices) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT jsonb_build_object(
    'choice_id', c.choice_id::text,
    'sequence', c.sequence,
    'visitor_sha256', {_SHA.format("c.visitor_id")},
    'method', c.method,
    'granted', to_jsonb(c.granted),
    'refused', to_jsonb(c.refused),
    'policy_revision', c.policy_revision,
    'gpc', c.gpc,
    'recorded_at', {_STAMP.format("c.recorded_at")},
    'expires_at', {_STAMP.format("c.expires_at")},
    'page_url_sha256', {_SHA.format("c.page_url")},
    'ip_digest', {_HEX.format("c.ip_digest")},
    'ua_digest', {_HEX.format("c.ua_digest")},
    'tcf', CASE WHEN c.tcf_string IS NULL THEN NULL ELSE jsonb_build_object(
        'string_sha256', {_SHA.format("c.tcf_string")},
        'cmp_id', c.tcf_cmp_id,
        'cmp_version', c.tcf_cmp_version,
        'created', {_STAMP.format("c.tcf_created")},
        'last_updated', {_STAMP.format("c.tcf_last_updated")},
        'consent_screen', c.tcf_consent_screen,
        'consent_language', c.tcf_consent_language,
        'vendor_list_version', c.tcf_vendor_list_version,
        'policy_version', c.tcf_policy_version,
        'purposes_consent', to_jsonb(c.tcf_purposes_consent),
        'purposes_legitimate_interest', to_jsonb(c.tcf_purposes_legitimate_interest)
    ) END
)
$$
"""

# A loose index scan over the primary key: one probe per tenant, however many rows are queued
# (an import can queue a million before the sequencer catches up).
QUEUED_TENANTS_FUNCTION = """
CREATE FUNCTION consentd_queued_tenants() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
WITH RECURSIVE t AS (
    (SELECT tenant_id FROM audit_queue ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT q.tenant_id FROM audit_queue q WHERE q.tenant_id > t.tenant_id
            ORDER BY q.tenant_id LIMIT 1)
    FROM t WHERE t.tenant_id IS NOT NULL
)
SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL
$$
"""

FUNCTIONS = {
    "consentd_subject_lock(uuid, uuid)": SUBJECT_LOCK_FUNCTION,
    "consentd_event_payload(consent_events)": EVENT_PAYLOAD_FUNCTION,
    "consentd_event_action(text)": EVENT_ACTION_FUNCTION,
    "consentd_cookie_choice_payload(cookie_choices)": COOKIE_PAYLOAD_FUNCTION,
    "consentd_queued_tenants()": QUEUED_TENANTS_FUNCTION,
}


def _isolate(table: str, grants: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT {grants} ON {table} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    op.create_table(
        "audit_queue",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("queue_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("fact_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_audit_queue_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "queue_id", name=op.f("pk_audit_queue")),
    )
    op.create_table(
        "audit_tree_heads",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("signature", postgresql.BYTEA(), nullable=False),
        sa.CheckConstraint("tree_size > 0", name=op.f("ck_audit_tree_heads_tree_size_positive")),
        sa.CheckConstraint(
            "octet_length(root_hash) = 32", name=op.f("ck_audit_tree_heads_root_hash_length")
        ),
        sa.CheckConstraint(
            "octet_length(signature) = 64", name=op.f("ck_audit_tree_heads_signature_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_audit_tree_heads_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "tree_size", name=op.f("pk_audit_tree_heads")),
    )
    op.add_column(
        "audit_entries",
        sa.Column("format", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column("audit_entries", sa.Column("fact_id", sa.UUID(), nullable=True))
    op.create_check_constraint("format", "audit_entries", "format IN (1, 2)")
    op.create_index(
        "ix_audit_entries_fact", "audit_entries", ["tenant_id", "fact_id"], unique=False
    )
    op.add_column("audit_heads", sa.Column("tree_frontier", postgresql.BYTEA(), nullable=True))
    op.add_column("audit_heads", sa.Column("root_hash", postgresql.BYTEA(), nullable=True))
    op.add_column("audit_heads", sa.Column("pruned_frontier", postgresql.BYTEA(), nullable=True))
    op.create_check_constraint(
        "frontier_length", "audit_heads", "octet_length(tree_frontier) % 32 = 0"
    )
    op.create_check_constraint("root_length", "audit_heads", "octet_length(root_hash) = 32")
    for table, grants in GRANTS.items():
        _isolate(table, grants)
    op.execute(f"REVOKE {HEAD_COLUMNS_BEFORE} ON audit_heads FROM {RUNTIME_ROLE}")
    op.execute(f"GRANT {HEAD_COLUMNS} ON audit_heads TO {RUNTIME_ROLE}")
    op.execute(
        "CREATE TRIGGER audit_tree_heads_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "
        "audit_tree_heads FOR EACH STATEMENT EXECUTE FUNCTION "
        "consentd_guard_append_only('audit_prune')"
    )
    for signature, text in FUNCTIONS.items():
        op.execute(text)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute(f"REVOKE {HEAD_COLUMNS} ON audit_heads FROM {RUNTIME_ROLE}")
    op.execute(f"GRANT {HEAD_COLUMNS_BEFORE} ON audit_heads TO {RUNTIME_ROLE}")
    op.drop_constraint(op.f("ck_audit_heads_root_length"), "audit_heads", type_="check")
    op.drop_constraint(op.f("ck_audit_heads_frontier_length"), "audit_heads", type_="check")
    op.drop_column("audit_heads", "pruned_frontier")
    op.drop_column("audit_heads", "root_hash")
    op.drop_column("audit_heads", "tree_frontier")
    op.drop_index("ix_audit_entries_fact", table_name="audit_entries")
    op.drop_constraint(op.f("ck_audit_entries_format"), "audit_entries", type_="check")
    op.drop_column("audit_entries", "fact_id")
    op.drop_column("audit_entries", "format")
    op.drop_table("audit_tree_heads")  # with its trigger, policy and grants
    op.drop_table("audit_queue")
