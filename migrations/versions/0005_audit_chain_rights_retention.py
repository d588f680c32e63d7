"""Proof and rights: the audit hash chain, crypto-shredding keys, suppressions, rights requests,
processing blocks, contact history and per-tenant retention facts.

Why: the privacy policy promises the rights of the person (access, rectification, erasure,
objection, restriction, portability) with deadlines, retention limits and proof of consent for a
regulator. Audit entries are append-only (a trigger refuses UPDATE, DELETE and TRUNCATE, and the
runtime role is granted INSERT and SELECT only). What the runtime role may not delete goes
through two SECURITY DEFINER functions, the only way it has: `consentd_prune_audit` removes old
entries up to a signed checkpoint (which anchors what stays), and `consentd_purge_tenant_rows`
removes a tenant's rows, table by table in batches, once its contract ended a month ago and no
legal hold applies. Both act only on the transaction's own tenant. Every new table is
tenant-first with ENABLE + FORCE row-level security and the `tenant_isolation` policy of 0002,
and the runtime role (`consentd_app`) gets only what the service does with it (issue #4).
The consent_events trigger of 0001 is replaced by the flag-aware guard (still refusing UPDATE,
TRUNCATE and any DELETE outside the tenant purge); 0002 and 0004 left it as it was.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
# New table -> privileges of the runtime role; every one of them is a tenant table under RLS.
GRANTS = {
    # Erasure destroys the key (crypto-shredding); an unused new subject's key goes with it.
    "subject_keys": "SELECT, INSERT, DELETE",
    "suppressions": "SELECT, INSERT",
    # A block is lifted, never deleted.
    "subject_blocks": "SELECT, INSERT, UPDATE (lifted_at)",
    "contact_changes": "SELECT, INSERT",
    # A request moves through its states (the whole row is written back).
    "rights_requests": "SELECT, INSERT, UPDATE",
    # The chain: the head moves, entries and checkpoints are only appended.
    "audit_heads": "SELECT, INSERT, UPDATE (last_seq, last_hash)",
    "audit_entries": "SELECT, INSERT",
    "audit_checkpoints": "SELECT, INSERT",
    "tenant_retention": "SELECT, INSERT, "
    "UPDATE (contract_ended_at, legal_hold, legal_hold_reason, storage_extension, purged_at, "
    "updated_at)",
}
TENANT_TABLES = tuple(GRANTS)
# Existing tables: what erasure and rectification add (unlink identifiers, stamp the subject).
MORE_GRANTS = {
    "subject_identifiers": "DELETE",
    "subjects": "UPDATE (erased_at)",
}
CURRENT_TENANT = "consentd_current_tenant()"
# What the tenant purge may empty, children first (store/retention.py PURGE_ORDER follows it).
PURGEABLE = (
    "current_consents",
    "consent_events",
    "contact_changes",
    "rights_requests",
    "subject_blocks",
    "subject_keys",
    "cookie_choices",
    "cookie_visitors",
    "cookie_choice_counts",
    "purge_runs",
    "cookie_consent_modes",
    "cookie_categories",
    "cookie_policies",
    "subject_identifiers",
    "suppressions",
    "subjects",
    "purposes",
    "notices",
    "notice_heads",
    "idempotency_keys",
    "api_keys",
    "token_issuers",
)

# Append-only tables refuse UPDATE and TRUNCATE always, and DELETE unless the transaction set the
# flag named by the trigger's argument (only the SECURITY DEFINER functions below set it).
GUARD_FUNCTION = """
CREATE FUNCTION consentd_guard_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('consentd.' || TG_ARGV[0], true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

PURGE_DUE = """
    EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now())
"""

PRUNE_FUNCTION = f"""
CREATE FUNCTION consentd_prune_audit(p_tenant uuid, p_through bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
    v_time timestamptz;
BEGIN
    IF p_tenant IS DISTINCT FROM {CURRENT_TENANT} THEN
        RAISE EXCEPTION 'consentd_prune_audit: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM 1 FROM audit_heads WHERE tenant_id = p_tenant FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq = p_through)
    THEN
        RAISE EXCEPTION 'consentd_prune_audit: no checkpoint at seq %', p_through
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT recorded_at INTO v_time FROM audit_entries WHERE tenant_id = p_tenant AND seq = p_through;
    IF v_time > now() - interval '12 months' AND NOT {PURGE_DUE} THEN
        RAISE EXCEPTION 'consentd_prune_audit: entry % is younger than 12 months', p_through
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('consentd.audit_prune', 'on', true);
    DELETE FROM audit_entries WHERE tenant_id = p_tenant AND seq <= p_through;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    DELETE FROM audit_checkpoints WHERE tenant_id = p_tenant AND seq < p_through;
    PERFORM set_config('consentd.audit_prune', 'off', true);
    UPDATE audit_heads SET pruned_through = greatest(pruned_through, p_through)
        WHERE tenant_id = p_tenant;
    RETURN v_deleted;
END
$$
"""  # noqa: S608 - only this module's constants are interpolated, no input

PURGE_ROWS_FUNCTION = f"""
CREATE FUNCTION consentd_purge_tenant_rows(p_tenant uuid, p_table text, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF p_tenant IS DISTINCT FROM {CURRENT_TENANT} THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT {PURGE_DUE} THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY[{", ".join(repr(t) for t in PURGEABLE)}])) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: % is not purged this way', p_table
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('consentd.tenant_purge', 'on', true);
    EXECUTE format('DELETE FROM %I WHERE tenant_id = $1 AND ctid = ANY (ARRAY('
                   'SELECT ctid FROM %I WHERE tenant_id = $1 LIMIT $2))', p_table, p_table)
        USING p_tenant, p_limit;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    PERFORM set_config('consentd.tenant_purge', 'off', true);
    RETURN v_deleted;
END
$$
"""  # noqa: S608 - only this module's constants are interpolated, no input
FUNCTIONS = (
    "consentd_prune_audit(uuid, bigint)",
    "consentd_purge_tenant_rows(uuid, text, integer)",
)

ORIGINAL_EVENTS_TRIGGER = """
CREATE TRIGGER consent_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON consent_events
    FOR EACH STATEMENT EXECUTE FUNCTION consentd_refuse_change()
"""


def _guard(table: str, flag: str) -> str:
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION consentd_guard_append_only('{flag}')"
    )


def isolate(table: str, grants: str) -> None:
    """RLS with the tenant policy (as in 0002), and the runtime role's privileges."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT {grants} ON {table} TO {RUNTIME_ROLE}")


def upgrade() -> None:
    op.add_column("subjects", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "subject_identifiers", sa.Column("sealed_value", postgresql.BYTEA(), nullable=True)
    )
    op.add_column("consent_events", sa.Column("evidence_sealed", postgresql.BYTEA(), nullable=True))
    op.create_table(
        "subject_keys",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("wrapped_key", postgresql.BYTEA(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_subject_keys_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "subject_id", name=op.f("pk_subject_keys")),
    )
    op.create_table(
        "suppressions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("digest", postgresql.BYTEA(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('external_id','email','phone')", name=op.f("ck_suppressions_kind")
        ),
        sa.CheckConstraint("octet_length(digest) = 32", name=op.f("ck_suppressions_digest_length")),
        sa.CheckConstraint(
            "reason IN ('erased','suppressed')", name=op.f("ck_suppressions_reason")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_suppressions_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "digest", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "subject_blocks",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("block_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('restricted','objected')", name=op.f("ck_subject_blocks_kind")
        ),
        sa.CheckConstraint(
            "lifted_at IS NULL OR lifted_at >= since", name=op.f("ck_subject_blocks_lifted_after")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_subject_blocks_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "block_id", name=op.f("pk_subject_blocks")),
    )
    op.create_index(
        "ix_subject_blocks_subject", "subject_blocks", ["tenant_id", "subject_id"], unique=False
    )
    op.create_index(
        "uq_subject_blocks_active",
        "subject_blocks",
        ["tenant_id", "subject_id", "kind"],
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL"),
    )
    op.create_table(
        "contact_changes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("change_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("sealed_value", postgresql.BYTEA(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.CheckConstraint("action IN ('added','removed')", name=op.f("ck_contact_changes_action")),
        sa.CheckConstraint(
            "kind IN ('external_id','email','phone')", name=op.f("ck_contact_changes_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_contact_changes_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "change_id", name=op.f("pk_contact_changes")),
    )
    op.create_index(
        "ix_contact_changes_subject",
        "contact_changes",
        ["tenant_id", "subject_id", "changed_at"],
        unique=False,
    )
    op.create_table(
        "rights_requests",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extended_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("verification_method", sa.Text(), nullable=False),
        sa.Column("code_digest", postgresql.BYTEA(), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(closed_at IS NULL) = (state NOT IN ('done','refused'))",
            name=op.f("ck_rights_requests_closed"),
        ),
        sa.CheckConstraint("code_attempts >= 0", name=op.f("ck_rights_requests_code_attempts")),
        sa.CheckConstraint(
            "(state = 'received') = (verified_at IS NULL AND due_at IS NULL) OR state = 'refused'",
            name=op.f("ck_rights_requests_due_once_verified"),
        ),
        sa.CheckConstraint(
            "extended_due_at IS NULL OR extended_due_at > due_at",
            name=op.f("ck_rights_requests_extension"),
        ),
        sa.CheckConstraint(
            "kind IN ('access','rectify','erase','restrict','object','port')",
            name=op.f("ck_rights_requests_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('received','identity_verified','in_progress','done','refused')",
            name=op.f("ck_rights_requests_state"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_rights_requests_tenant_id_subjects"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "request_id", name=op.f("pk_rights_requests")),
    )
    op.create_index(
        "ix_rights_requests_open",
        "rights_requests",
        ["tenant_id", "state", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_rights_requests_subject", "rights_requests", ["tenant_id", "subject_id"], unique=False
    )
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("pruned_through", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("octet_length(last_hash) = 32", name=op.f("ck_audit_heads_hash_length")),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_audit_heads_last_seq")),
        sa.CheckConstraint(
            "pruned_through >= 0 AND pruned_through <= last_seq",
            name=op.f("ck_audit_heads_pruned"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_audit_heads_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_audit_heads")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("entry_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.CheckConstraint(
            "octet_length(entry_hash) = 32", name=op.f("ck_audit_entries_entry_hash_length")
        ),
        sa.CheckConstraint(
            "octet_length(prev_hash) = 32", name=op.f("ck_audit_entries_prev_hash_length")
        ),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_entries_seq_positive")),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_entries")),
    )
    op.create_index(
        "ix_audit_entries_subject", "audit_entries", ["tenant_id", "subject_id"], unique=False
    )
    op.create_index(
        "ix_audit_entries_time", "audit_entries", ["tenant_id", "recorded_at"], unique=False
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("signature", postgresql.BYTEA(), nullable=False),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_checkpoints_seq_positive")),
        sa.CheckConstraint(
            "octet_length(signature) = 64", name=op.f("ck_audit_checkpoints_signature_length")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "tenant_retention",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("contract_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("legal_hold_reason", sa.Text(), nullable=False),
        sa.Column("storage_extension", sa.Boolean(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT legal_hold OR legal_hold_reason <> ''",
            name=op.f("ck_tenant_retention_hold_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_tenant_retention_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_retention")),
    )
    for table, grants in GRANTS.items():
        isolate(table, grants)
    for table, grants in MORE_GRANTS.items():
        op.execute(f"GRANT {grants} ON {table} TO {RUNTIME_ROLE}")
    op.execute(GUARD_FUNCTION)
    op.execute(_guard("audit_entries", "audit_prune"))
    op.execute(_guard("audit_checkpoints", "audit_prune"))
    op.execute("DROP TRIGGER consent_events_append_only ON consent_events")
    op.execute(_guard("consent_events", "tenant_purge"))
    op.execute(PRUNE_FUNCTION)
    op.execute(PURGE_ROWS_FUNCTION)
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {RUNTIME_ROLE}")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")  # with its EXECUTE grants
    op.execute(f"REVOKE DELETE ON subject_identifiers FROM {RUNTIME_ROLE}")
    op.execute(f"REVOKE UPDATE (erased_at) ON subjects FROM {RUNTIME_ROLE}")
    op.execute("DROP TRIGGER consent_events_append_only ON consent_events")
    op.execute(ORIGINAL_EVENTS_TRIGGER)
    op.execute("DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints")
    op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
    op.execute("DROP FUNCTION consentd_guard_append_only()")
    for table in reversed(TENANT_TABLES):
        op.execute(f"REVOKE ALL ON {table} FROM {RUNTIME_ROLE}")
        op.drop_table(table)  # drops its policy, indexes and constraints with it
    op.drop_column("consent_events", "evidence_sealed")
    op.drop_column("subject_identifiers", "sealed_value")
    op.drop_column("subjects", "erased_at")
