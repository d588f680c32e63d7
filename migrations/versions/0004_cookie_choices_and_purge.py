"""Cookie choices, the tenant cookie policy, and the purge's aggregate counts and run log.

Why: issue #3. Web frontends record visitors' cookie choices and must know when to ask again; the
privacy policy keeps a choice 12 months at most. cookie_choices holds one row per choice with the
expiry the server set (a CHECK keeps it within 12 calendar months in UTC), the TCF core fields
decoded as provenance and only keyed hashes of IP network and user agent. The tenant's policy is
three tables (policy, categories, Consent Mode mapping) so each rule is a constraint, not JSON.
The purge deletes expired choices and keeps only cookie_choice_counts (per month and method) and
one purge_runs row per run and tenant (counts, no personal data; issue #5 chains the audit log).
Every new table is tenant-first, with ENABLE + FORCE row-level security and the same
`tenant_isolation` policy as 0002, and the runtime role gets only what the service does with it:
a stored choice is never rewritten (UPDATE of subject_id alone, for linking a visitor at login),
deletes only where the purge or a policy replacement needs them, and no TRUNCATE anywhere.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLE = "consentd_app"
# table -> privileges of the runtime role (UPDATE only on the columns the service changes);
# every one of them is a tenant table under RLS.
GRANTS = {
    # PutCookiePolicy upserts the row (and locks it FOR UPDATE first).
    "cookie_policies": "SELECT, INSERT, "
    "UPDATE (revision, refusal_validity_months, acceptance_validity_months, allowed_origins, "
    "updated_at)",
    # Replaced wholesale with the policy.
    "cookie_categories": "SELECT, INSERT, DELETE",
    "cookie_consent_modes": "SELECT, INSERT, DELETE",
    # Touched on every choice, linked at login, deleted by the purge once idle with no choice.
    "cookie_visitors": "SELECT, INSERT, UPDATE (subject_id, last_seen_at), DELETE",
    # A choice is never rewritten: LinkVisitor attributes it to a subject, the purge deletes it
    # once expired (its SELECT ... FOR UPDATE SKIP LOCKED needs that one UPDATE column too).
    "cookie_choices": "SELECT, INSERT, UPDATE (subject_id), DELETE",
    # The purge adds to a month's count.
    "cookie_choice_counts": "SELECT, INSERT, UPDATE (choices)",
    # The purge's log: a run moves from running to finished or interrupted, never disappears.
    "purge_runs": "SELECT, INSERT, "
    "UPDATE (status, finished_at, choices_deleted, visitors_deleted, batches)",
}


def isolate(table: str, grants: str) -> None:
    """RLS with the tenant policy (as in 0002), and the runtime role's privileges."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {table} "
        "USING (tenant_id = consentd_current_tenant()) "
        "WITH CHECK (tenant_id = consentd_current_tenant())"
    )
    op.execute(f"GRANT {grants} ON {table} TO {RUNTIME_ROLE}")


def release(table: str) -> None:
    """Undo isolate(): REVOKE ALL also takes back the column privileges."""
    op.execute(f"REVOKE ALL ON {table} FROM {RUNTIME_ROLE}")
    op.execute(f"DROP POLICY tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def upgrade() -> None:
    op.create_table(
        "cookie_choice_counts",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("choices", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "method IN ('accept_all','refuse_all','custom','gpc')",
            name=op.f("ck_cookie_choice_counts_method"),
        ),
        sa.CheckConstraint(
            "choices >= 0", name=op.f("ck_cookie_choice_counts_choices_not_negative")
        ),
        sa.CheckConstraint(
            "extract(day FROM month) = 1", name=op.f("ck_cookie_choice_counts_month_start")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_cookie_choice_counts_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "month", "method", name=op.f("pk_cookie_choice_counts")
        ),
    )
    op.create_table(
        "cookie_policies",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("refusal_validity_months", sa.Integer(), nullable=False),
        sa.Column("acceptance_validity_months", sa.Integer(), nullable=False),
        sa.Column("allowed_origins", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "acceptance_validity_months BETWEEN 1 AND 12",
            name=op.f("ck_cookie_policies_acceptance_months"),
        ),
        sa.CheckConstraint(
            "cardinality(allowed_origins) <= 50", name=op.f("ck_cookie_policies_origins_count")
        ),
        sa.CheckConstraint(
            "refusal_validity_months BETWEEN 1 AND 12",
            name=op.f("ck_cookie_policies_refusal_months"),
        ),
        sa.CheckConstraint("revision > 0", name=op.f("ck_cookie_policies_revision_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_cookie_policies_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_cookie_policies")),
    )
    op.create_table(
        "purge_runs",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("choices_deleted", sa.BigInteger(), nullable=False),
        sa.Column("visitors_deleted", sa.BigInteger(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'running') = (finished_at IS NULL)",
            name=op.f("ck_purge_runs_finished_when_done"),
        ),
        sa.CheckConstraint(
            "status IN ('running','finished','interrupted')", name=op.f("ck_purge_runs_status")
        ),
        sa.CheckConstraint(
            "choices_deleted >= 0 AND visitors_deleted >= 0 AND batches >= 0",
            name=op.f("ck_purge_runs_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_purge_runs_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "run_id", name=op.f("pk_purge_runs")),
    )
    op.create_index(
        "ix_purge_runs_started", "purge_runs", ["tenant_id", "started_at"], unique=False
    )
    op.create_table(
        "cookie_categories",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("category_id", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "category_id <> 'necessary'", name=op.f("ck_cookie_categories_not_necessary")
        ),
        sa.CheckConstraint(
            "category_id ~ '^[a-z][a-z0-9_-]{0,63}$'",
            name=op.f("ck_cookie_categories_category_id_format"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["cookie_policies.tenant_id"],
            name=op.f("fk_cookie_categories_tenant_id_cookie_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "category_id", name=op.f("pk_cookie_categories")),
    )
    op.create_table(
        "cookie_consent_modes",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("signal", sa.Text(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.CheckConstraint(
            "signal IN ('ad_storage','ad_user_data','ad_personalization','analytics_storage','functionality_storage','personalization_storage','security_storage')",
            name=op.f("ck_cookie_consent_modes_signal"),
        ),
        sa.CheckConstraint(
            "cardinality(categories) >= 1", name=op.f("ck_cookie_consent_modes_categories_present")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["cookie_policies.tenant_id"],
            name=op.f("fk_cookie_consent_modes_tenant_id_cookie_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "signal", name=op.f("pk_cookie_consent_modes")),
    )
    op.create_table(
        "cookie_visitors",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("visitor_id", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "visitor_id ~ '^[A-Za-z0-9_-]{16,64}$'",
            name=op.f("ck_cookie_visitors_visitor_id_format"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_cookie_visitors_tenant_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.tenant_id"],
            name=op.f("fk_cookie_visitors_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "visitor_id", name=op.f("pk_cookie_visitors")),
    )
    op.create_index(
        "ix_cookie_visitors_last_seen",
        "cookie_visitors",
        ["tenant_id", "last_seen_at"],
        unique=False,
    )
    op.create_table(
        "cookie_choices",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("choice_id", sa.UUID(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("visitor_id", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("granted", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("refused", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("policy_revision", sa.Integer(), nullable=False),
        sa.Column("gpc", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("page_url", sa.Text(), nullable=False),
        sa.Column("ip_digest", postgresql.BYTEA(), nullable=True),
        sa.Column("ua_digest", postgresql.BYTEA(), nullable=True),
        sa.Column("tcf_string", sa.Text(), nullable=True),
        sa.Column("tcf_cmp_id", sa.Integer(), nullable=True),
        sa.Column("tcf_cmp_version", sa.Integer(), nullable=True),
        sa.Column("tcf_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tcf_last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tcf_consent_screen", sa.Integer(), nullable=True),
        sa.Column("tcf_consent_language", sa.Text(), nullable=True),
        sa.Column("tcf_vendor_list_version", sa.Integer(), nullable=True),
        sa.Column("tcf_policy_version", sa.Integer(), nullable=True),
        sa.Column("tcf_purposes_consent", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column(
            "tcf_purposes_legitimate_interest", postgresql.ARRAY(sa.Integer()), nullable=True
        ),
        sa.CheckConstraint(
            "'necessary' = ANY(granted)", name=op.f("ck_cookie_choices_necessary_granted")
        ),
        sa.CheckConstraint(
            "(expires_at AT TIME ZONE 'UTC') <= (recorded_at AT TIME ZONE 'UTC') + interval '12 months'",
            name=op.f("ck_cookie_choices_at_most_12_months"),
        ),
        sa.CheckConstraint(
            "method <> 'gpc' OR gpc", name=op.f("ck_cookie_choices_gpc_method_has_signal")
        ),
        sa.CheckConstraint(
            "method IN ('accept_all','refuse_all','custom','gpc')",
            name=op.f("ck_cookie_choices_method"),
        ),
        sa.CheckConstraint(
            "(tcf_string IS NULL) = (tcf_cmp_id IS NULL)",
            name=op.f("ck_cookie_choices_tcf_decoded"),
        ),
        sa.CheckConstraint(
            "NOT (granted && refused)", name=op.f("ck_cookie_choices_granted_or_refused")
        ),
        sa.CheckConstraint(
            "char_length(page_url) <= 2048", name=op.f("ck_cookie_choices_page_url_length")
        ),
        sa.CheckConstraint(
            "char_length(tcf_string) <= 4096", name=op.f("ck_cookie_choices_tcf_string_length")
        ),
        sa.CheckConstraint(
            "expires_at > recorded_at", name=op.f("ck_cookie_choices_expires_after")
        ),
        sa.CheckConstraint(
            "octet_length(ip_digest) = 32", name=op.f("ck_cookie_choices_ip_digest_length")
        ),
        sa.CheckConstraint(
            "octet_length(ua_digest) = 32", name=op.f("ck_cookie_choices_ua_digest_length")
        ),
        sa.CheckConstraint("policy_revision > 0", name=op.f("ck_cookie_choices_revision_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            name=op.f("fk_cookie_choices_tenant_id_subjects"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "visitor_id"],
            ["cookie_visitors.tenant_id", "cookie_visitors.visitor_id"],
            name=op.f("fk_cookie_choices_tenant_id_cookie_visitors"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "choice_id", name=op.f("pk_cookie_choices")),
    )
    op.create_index(
        "ix_cookie_choices_expires", "cookie_choices", ["tenant_id", "expires_at"], unique=False
    )
    op.create_index(
        "ix_cookie_choices_subject",
        "cookie_choices",
        ["tenant_id", "subject_id", "sequence"],
        unique=False,
    )
    op.create_index(
        "ix_cookie_choices_visitor",
        "cookie_choices",
        ["tenant_id", "visitor_id", "sequence"],
        unique=False,
    )

    for table, grants in GRANTS.items():
        isolate(table, grants)


def downgrade() -> None:
    for table in GRANTS:
        release(table)
    op.drop_index("ix_cookie_choices_visitor", table_name="cookie_choices")
    op.drop_index("ix_cookie_choices_subject", table_name="cookie_choices")
    op.drop_index("ix_cookie_choices_expires", table_name="cookie_choices")
    op.drop_table("cookie_choices")
    op.drop_index("ix_cookie_visitors_last_seen", table_name="cookie_visitors")
    op.drop_table("cookie_visitors")
    op.drop_table("cookie_consent_modes")
    op.drop_table("cookie_categories")
    op.drop_index("ix_purge_runs_started", table_name="purge_runs")
    op.drop_table("purge_runs")
    op.drop_table("cookie_policies")
    op.drop_table("cookie_choice_counts")
