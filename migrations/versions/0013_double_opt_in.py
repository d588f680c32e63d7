"""Double opt-in: purposes that require confirmation, pending grants, confirmations.

Why: a purpose may require the person to confirm a grant with a single-use token sent to their
email address (issue 14). Until then the grant is an ordinary consent event in a new state,
`pending`, so every check path (consentd_check() of 0006/0008 included, unchanged) returns it as
the latest fact and the domain rule answers DENY `pending_confirmation`; past its valid_until it
answers DENY `expired`. The state CHECK constraints of consent_events and current_consents admit
`pending`; purposes get `requires_confirmation` (consent basis only); consent_confirmations keeps
one row per message sent: the SHA-256 of its token (never the token, never the address), the
pending events it confirms, when it expires and when it was confirmed.

Isolation as in 0002/0007: ENABLE + FORCE ROW LEVEL SECURITY and the `tenant_isolation` policy;
the runtime role reads, inserts and sets confirmed_at, never deletes. The tenant purge
(consentd_purge_tenant_rows, stated in full below) may empty it, before `subjects`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
CURRENT_TENANT = "consentd_current_tenant()"
TABLE = "consent_confirmations"
GRANTS = "SELECT, INSERT, UPDATE (confirmed_at)"
STATES_BEFORE = "('granted','refused','withdrawn','expired','erased')"
STATES_AFTER = "('granted','refused','withdrawn','expired','erased','pending')"
STATE_CHECKS = ("consent_events", "current_consents")

# consentd_purge_tenant_rows as this revision leaves it: 0012's list with consent_confirmations
# first (it references subjects); store/retention.py PURGE_ORDER follows the same order.
PURGE_FUNCTION = """
CREATE OR REPLACE FUNCTION consentd_purge_tenant_rows(p_tenant uuid, p_table text, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF p_tenant IS DISTINCT FROM consentd_current_tenant() THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now()) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY[
        'consent_confirmations', 'consent_imports', 'consent_changes', 'consent_change_heads',
        'current_consents', 'consent_events', 'contact_changes', 'rights_requests',
        'subject_blocks', 'subject_keys', 'cookie_choices', 'cookie_visitors',
        'cookie_choice_counts', 'purge_runs', 'cookie_consent_modes', 'cookie_categories',
        'cookie_policies', 'contact_point_holdings', 'subject_identifiers', 'suppressions',
        'subjects', 'purposes', 'notices', 'notice_heads',
        'idempotency_keys', 'api_keys', 'token_issuers'
    ])) THEN
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
"""

# As 0012 left it (the downgrade puts it back).
PURGE_FUNCTION_0012 = """
CREATE OR REPLACE FUNCTION consentd_purge_tenant_rows(p_tenant uuid, p_table text, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_deleted bigint;
BEGIN
    IF p_tenant IS DISTINCT FROM consentd_current_tenant() THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: not this transaction''s tenant'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM tenant_retention r WHERE r.tenant_id = p_tenant
            AND NOT r.legal_hold AND r.contract_ended_at + interval '1 month' <= now()) THEN
        RAISE EXCEPTION 'consentd_purge_tenant_rows: the tenant''s data is not due for purge'
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (p_table = ANY (ARRAY[
        'consent_imports', 'consent_changes', 'consent_change_heads', 'current_consents',
        'consent_events', 'contact_changes', 'rights_requests', 'subject_blocks',
        'subject_keys', 'cookie_choices', 'cookie_visitors', 'cookie_choice_counts',
        'purge_runs', 'cookie_consent_modes', 'cookie_categories', 'cookie_policies',
        'contact_point_holdings', 'subject_identifiers', 'suppressions', 'subjects',
        'purposes', 'notices', 'notice_heads', 'idempotency_keys',
        'api_keys', 'token_issuers'
    ])) THEN
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
"""


def _replace_state_checks(states: str) -> None:
    for table in STATE_CHECKS:
        name = f"ck_{table}_state"
        op.drop_constraint(op.f(name), table, type_="check")
        op.create_check_constraint(op.f(name), table, f"state IN {states}")


def upgrade() -> None:
    _replace_state_checks(STATES_AFTER)
    op.add_column(
        "purposes",
        sa.Column("requires_confirmation", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_purposes_confirmation_needs_consent"),
        "purposes",
        "NOT requires_confirmation OR lawful_basis = 'consent'",
    )
    op.create_table(
        TABLE,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("confirmation_id", sa.UUID(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("token_sha256", postgresql.BYTEA(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("event_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "octet_length(token_sha256) = 32", name=op.f("ck_consent_confirmations_token_length")
        ),
        sa.CheckConstraint(
            "channel IN ('email','sms')", name=op.f("ck_consent_confirmations_channel")
        ),
        sa.CheckConstraint(
            "language IN ('en','fr')", name=op.f("ck_consent_confirmations_language")
        ),
        sa.CheckConstraint(
            "cardinality(event_ids) > 0", name=op.f("ck_consent_confirmations_some_event")
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_consent_confirmations_expires_after")
        ),
        sa.CheckConstraint(
            "confirmed_at IS NULL OR (confirmed_at >= created_at AND confirmed_at < expires_at)",
            name=op.f("ck_consent_confirmations_confirmed_in_time"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_consent_confirmations_tenant_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_consent_confirmations_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "confirmation_id", name=op.f("pk_consent_confirmations")
        ),
        sa.UniqueConstraint("tenant_id", "token_sha256", name="uq_consent_confirmations_token"),
    )
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    op.execute(f"GRANT {GRANTS} ON {TABLE} TO {RUNTIME_ROLE}")
    op.execute(PURGE_FUNCTION)


def downgrade() -> None:
    op.execute(PURGE_FUNCTION_0012)
    op.execute(f"REVOKE ALL ON {TABLE} FROM {RUNTIME_ROLE}")
    op.drop_table(TABLE)  # with its policy
    op.drop_constraint(op.f("ck_purposes_confirmation_needs_consent"), "purposes", type_="check")
    op.drop_column("purposes", "requires_confirmation")
    # Fails while a pending event exists (consent_events is append-only): the old schema has
    # no such state, and turning them into anything else would rewrite the history.
    _replace_state_checks(STATES_BEFORE)
